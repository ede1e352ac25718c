"""Read and write scap capture files (.scap), the format sysdig and Falco use.

A capture is a sequence of pcapng-like blocks: ``u32 type, u32 total_length, payload,
padding to 4 bytes, u32 total_length``. A section header block opens it, metadata blocks
(machine info, interfaces, users, processes, fds) follow, then one block per event.
Files may be gzip-compressed. :class:`ScapReader` reads every block version scap wrote
(section 1.0-1.2, process lists V1-V9, fd lists V1-V2, event blocks V1 and V2, with or
without flags, large-payload variants) and yields lazily decoded
:class:`~sentry.events.event.Event` batches. :class:`ScapWriter` writes V2 blocks that
sysdig reads, and builds synthetic events for tests (:meth:`ScapWriter.write_event`).

Any malformed input raises :class:`~sentry.errors.CaptureError` naming the block offset.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from sentry.capture._cffi.scapscan import SCAN_REC, scanned_events
from sentry.capture.scapmeta import (
    DF_STATE_ONLY,
    EV_BLOCKS,
    EV_V2,
    EV_V2_LARGE,
    SHB,
    U16,
    U32,
    FdEntry,
    GroupEntry,
    Interface,
    MachineInfo,
    MetadataBlocks,
    ThreadEntry,
    UserEntry,
)
from sentry.capture.source import CaptureStats
from sentry.errors import CaptureError
from sentry.events.event import (
    HEADER,
    HEADER_LEN,
    Buffer,
    Event,
    first_param_kinds,
)
from sentry.events.table import EVENTS, EventInfo
from sentry.events.wire import (
    BLOCK_HEAD,
    BLOCK_MIN_LEN,
    BLOCK_TRAILER_LEN,
    EVENT_BLOCK,
    EVENT_BLOCK_LEN,
    EVENT_BLOCK_OFFSETS,
    EVENT_FLAGS_LEN,
    HEADER_OFFSETS,
    HEADER_V1,
    HEADER_V1_LEN,
)

# block type, block length, cpu, then the V2 event header: one unpack per event block.
_EV_V2_HEAD = struct.Struct(EVENT_BLOCK.format + HEADER.format.lstrip("<"))
BATCH_SIZE = 1024
EV_V2_BLOCKS = frozenset({EV_V2, EV_V2_LARGE})
_OFF = HEADER_OFFSETS
_SCAN_FULL, _SCAN_END = 0, 1
# Generic syscall events (parameter 0: the syscall's PPM_SC id).
_GENERIC_TYPES = frozenset(code for code, info in EVENTS.items() if info.name == "syscall")
_SCANNER: list[Any] = []


def _scanner() -> Any | None:
    """The compiled block walker, or None (no compiler, or SENTRY_PURE_PYTHON=1)."""
    if not _SCANNER:
        if os.environ.get("SENTRY_PURE_PYTHON"):
            _SCANNER.append(None)
        else:
            from sentry.capture._cffi.scapscan import load

            _SCANNER.append(load())
    return _SCANNER[0]


_GZIP_CUT: dict[str, str] = {}  # path -> why its gzip stream ended early (said at the cut)


def _inflate(packed: bytes, out: list[bytes]) -> str:
    """Inflate every gzip member of ``packed`` into ``out``, as far as it goes; why it
    stopped early ('' when the stream is whole)."""
    step = 1 << 20
    while packed:
        z = zlib.decompressobj(wbits=31)
        for i in range(0, len(packed), step):
            out.append(z.decompress(packed[i : i + step]))
            if z.eof:
                break
        if not z.eof:
            out.append(z.flush())
            return "the stream ends before its end-of-stream marker"
        packed = z.unused_data
    return ""


def _load(path: str) -> Buffer:
    """The uncompressed capture: gzip files are inflated, plain files mapped (zero copy)."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(0)
            if head == b"\x1f\x8b":
                parts: list[bytes] = []
                try:
                    cut = _inflate(f.read(), parts)
                except zlib.error as err:
                    if not parts:
                        raise CaptureError(f"gzip stream is corrupt: {err}", path=path) from None
                    cut = str(err)
                if cut:
                    if not parts:
                        raise CaptureError(f"gzip stream is corrupt: {cut}", path=path)
                    # A cut gzip: keep what inflated; the walk stops at the cut, saying so.
                    _GZIP_CUT[path] = cut
                return b"".join(parts)
            try:
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (ValueError, OSError):  # empty file, or not mappable (a pipe)
                return f.read()
    except OSError as err:
        raise CaptureError(f"cannot read capture: {err.strerror or err}", path=path) from None


class ScapReader(MetadataBlocks):
    """Read a .scap file: metadata up front, events as lazily decoded batches.

    ``machine``, ``threads``, ``fds``, ``users``, ``groups`` and ``interfaces`` hold the
    metadata blocks; iterate (or call :meth:`batches`) for events, numbered from 1 like
    sysdig's ``evt.num``. Events whose type this build does not know are skipped and counted
    in ``skipped_unknown``, as libscap does.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        batch_size: int = BATCH_SIZE,
        event_types: Iterable[int] | None = None,
    ):
        self.path = os.fspath(path)
        self.batch_size = batch_size
        # Only these event types become Event objects (all are still numbered).
        self.event_types = frozenset(event_types) if event_types is not None else None
        # Generic events (syscalls without an event type of their own) become Event objects
        # only for these syscalls (their parameter 0); None: all of them. The C walk only:
        # the Python one (no compiler) delivers them all.
        self.syscall_ids: frozenset[int] | None = None
        self.data = _load(self.path)
        self.machine: MachineInfo | None = None
        self.threads: dict[int, ThreadEntry] = {}
        self.fds: list[FdEntry] = []
        self.users: list[UserEntry] = []
        self.groups: list[GroupEntry] = []
        self.interfaces: list[Interface] = []
        self.version: tuple[int, int] = (0, 0)
        self.skipped_unknown = 0
        # evt.num of events flagged state-only (fatfile): for the state, not for display.
        self.state_only: set[int] = set()
        self._events_read = 0
        self._closed = False
        self._first_event = self._read_header()

    # --- EventSource protocol -------------------------------------------------------

    def batches(self) -> Iterator[list[Event]]:
        """Yield events in file order, ``batch_size`` at a time."""
        scanner = _scanner()
        if scanner is None:
            yield from self._walk(self._first_event)
        else:
            yield from self._walk_c(self._first_event, scanner)

    def __iter__(self) -> Iterator[Event]:
        for batch in self.batches():
            yield from batch

    def stats(self) -> CaptureStats:
        return CaptureStats(events=self._events_read)

    def close(self) -> None:
        self._closed = True
        data, self.data = self.data, b""
        if isinstance(data, mmap.mmap):
            with contextlib.suppress(BufferError):  # events still use it: it goes with them
                data.close()

    def __enter__(self) -> ScapReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- blocks ---------------------------------------------------------------------

    @property
    def first_event_offset(self) -> int:
        """Where the blocks after the section header and its metadata start."""
        return self._first_event

    def block_at(self, off: int) -> tuple[int, int]:
        """(type, total length) of the block at ``off``, checked against the file."""
        data = self.data
        if off + BLOCK_MIN_LEN > len(data):
            raise CaptureError(
                f"truncated block header: the capture is cut short after "
                f"{len(data)} bytes{self._cut_note()}",
                path=self.path,
                offset=off,
            )
        btype, blen = BLOCK_HEAD.unpack_from(data, off)
        if blen >= BLOCK_MIN_LEN and off + blen > len(data):
            raise CaptureError(
                f"block length {blen} out of bounds (type {btype:#x}): the "
                f"capture is truncated, cut short after {len(data)} bytes"
                f"{self._cut_note()}",
                path=self.path,
                offset=off,
            )
        if blen < BLOCK_MIN_LEN or off + blen > len(data):
            raise CaptureError(
                f"block length {blen} out of bounds (type {btype:#x})", path=self.path, offset=off
            )
        if U32.unpack_from(data, off + blen - BLOCK_TRAILER_LEN)[0] != blen:
            raise CaptureError(
                f"block trailer does not match its length (type {btype:#x})",
                path=self.path,
                offset=off,
            )
        return btype, blen

    def _cut_note(self) -> str:
        why = _GZIP_CUT.get(self.path)
        return f" (its gzip stream ends early: {why})" if why else ""

    def _read_header(self) -> int:
        """Parse the section header and metadata; return the offset of the first event."""
        if not self.data:
            raise CaptureError("empty capture file", path=self.path, offset=0)
        btype, blen = self.block_at(0)
        if btype != SHB:
            raise CaptureError(
                "not a scap capture (no section header block)", path=self.path, offset=0
            )
        off = self._section(0, blen)
        end = len(self.data)
        while off < end:
            btype, blen = self.block_at(off)
            if btype in EV_BLOCKS:
                return off
            self._metadata(off, btype, blen)
            off += blen
        return off

    def _walk(self, off: int) -> Iterator[list[Event]]:
        yield from _whole_events_first(self._walk_blocks(off))

    def _walk_blocks(self, off: int) -> Iterator[list[Event]]:
        data = self.data
        end = len(data)
        events = EVENTS
        head = _EV_V2_HEAD.unpack_from
        head_len = _EV_V2_HEAD.size
        trailer = U32.unpack_from
        batch: list[Event] = []
        size = self.batch_size
        num = 0
        path = self.path
        wanted = self.event_types
        try:
            while off < end:
                if self._closed:
                    return
                if off + BLOCK_MIN_LEN > end:
                    self.block_at(off)  # raises: the capture is cut short
                if off + head_len <= end:
                    btype, blen, cpu, ts, tid, elen, etype, nparams = head(data, off)
                else:
                    btype, blen = BLOCK_HEAD.unpack_from(data, off)
                    cpu = ts = tid = elen = etype = nparams = 0
                last = off + blen - BLOCK_TRAILER_LEN
                if blen < BLOCK_MIN_LEN or off + blen > end or trailer(data, last)[0] != blen:
                    self.block_at(off)  # raises the precise error
                if btype in (EV_V2, EV_V2_LARGE):
                    evoff = off + EVENT_BLOCK_LEN
                    if elen < HEADER_LEN or evoff + elen > last:
                        raise CaptureError(
                            f"event length {elen} out of bounds", path=path, offset=off
                        )
                    info = events.get(etype)
                    if info is None:
                        self.skipped_unknown += 1
                    else:
                        num += 1
                        if wanted is None or etype in wanted:
                            batch.append(
                                Event(data, evoff, num, cpu, ts, tid, elen, etype, nparams, info)
                            )
                elif btype in EV_BLOCKS:
                    evt = self.other_event(off, btype, blen, num + 1)
                    if evt is not None:
                        num += 1
                        if evt.state_only:
                            self.state_only.add(num)
                        if wanted is None or evt.type in wanted:
                            batch.append(evt)
                else:
                    self._metadata(off, btype, blen)
                off += blen
                if len(batch) >= size:
                    self._events_read = num
                    yield batch
                    batch = []
        except CaptureError as err:
            self._events_read = num
            raise _Partial(batch, err) from None
        self._events_read = num
        if batch:
            yield batch

    def _walk_c(self, off: int, scanner: Any) -> Iterator[list[Event]]:
        """The same walk with plain V2 event blocks scanned in C (scapscan.c)."""
        yield from _whole_events_first(self._walk_c_blocks(off, scanner))

    def _walk_c_blocks(self, off: int, scanner: Any) -> Iterator[list[Event]]:
        ffi, lib = scanner.ffi, scanner.lib
        data = self.data
        end = len(data)
        events = EVENTS
        size = self.batch_size
        buf = ffi.from_buffer("uint8_t[]", data)
        recs = ffi.new("struct scan_rec[]", size)
        recbuf = ffi.buffer(recs)
        pos = ffi.new("uint64_t *", off)
        num = ffi.new("uint64_t *", 0)
        unknown = ffi.new("uint64_t *", 0)
        status = ffi.new("int *")
        want = ffi.NULL
        if self.event_types is not None:
            mask = bytearray(len(events))
            for code in self.event_types:
                if 0 <= code < len(mask):
                    mask[code] = 1
            want = ffi.from_buffer("uint8_t[]", mask)
        arg0_kind = ffi.from_buffer("uint8_t[]", first_param_kinds(len(events)))
        iter_unpack = SCAN_REC.iter_unpack
        filter_generic = self.syscall_ids is not None
        syscall_ids = self.syscall_ids or frozenset()
        generic = _GENERIC_TYPES
        batch: list[Event] = []
        try:
            while True:
                if self._closed:
                    return
                count = lib.scap_scan(
                    buf,
                    end,
                    pos,
                    num,
                    unknown,
                    want,
                    arg0_kind,
                    len(events),
                    recs,
                    size - len(batch),
                    status,
                )
                if count and not filter_generic:
                    batch += scanned_events(data, recbuf, count)
                elif count:
                    records = iter_unpack(recbuf[: count * SCAN_REC.size])
                    batch += [
                        Event(
                            data,
                            evoff,
                            n,
                            cpu,
                            ts,
                            tid,
                            elen,
                            etype,
                            nparams,
                            events[etype],
                            arg0 if arg0_ok else None,
                        )
                        for evoff, n, ts, tid, elen, nparams, etype, cpu, arg0_ok, arg0 in records
                        if etype not in generic or not arg0_ok or arg0 in syscall_ids
                    ]
                self.skipped_unknown = unknown[0]
                self._events_read = num[0]
                if len(batch) >= size:
                    yield batch
                    batch = []
                state = status[0]
                if state == _SCAN_END:
                    break
                if state == _SCAN_FULL:
                    continue
                off = pos[0]
                btype, blen = self.block_at(off)  # raises for malformed blocks
                if btype in EV_V2_BLOCKS:
                    raise CaptureError("event length out of bounds", path=self.path, offset=off)
                if btype in EV_BLOCKS:
                    evt = self.other_event(off, btype, blen, num[0] + 1)
                    if evt is not None:
                        num[0] += 1
                        if evt.state_only:
                            self.state_only.add(num[0])
                        if self.event_types is None or evt.type in self.event_types:
                            batch.append(evt)
                else:
                    self._metadata(off, btype, blen)
                pos[0] = off + blen
        except CaptureError as err:
            self._events_read = num[0]
            raise _Partial(batch, err) from None
        self._events_read = num[0]
        if batch:
            yield batch

    def other_event(
        self, off: int, btype: int, blen: int, num: int = 0, *, counted: bool = True
    ) -> Event | None:
        """The event of a block other than plain V2 (with a flags word and/or a V1 header)
        at ``off``; None for an unknown event type (counted in ``skipped_unknown`` unless
        ``counted`` is False: a second pass over the same block)."""
        has_nparams, has_flags = EV_BLOCKS[btype]
        data = self.data
        cpu = U16.unpack_from(data, off + EVENT_BLOCK_OFFSETS["cpu"])[0]
        evoff = off + EVENT_BLOCK_LEN + (EVENT_FLAGS_LEN if has_flags else 0)
        limit = off + blen - BLOCK_TRAILER_LEN
        hdr_len = HEADER_LEN if has_nparams else HEADER_V1_LEN
        if evoff + hdr_len > limit:
            raise CaptureError("event block too short", path=self.path, offset=off)
        flags = U32.unpack_from(data, off + EVENT_BLOCK_LEN)[0] if has_flags else 0
        state_only = bool(flags & DF_STATE_ONLY)
        if has_nparams:
            ts, tid, elen, etype, nparams = HEADER.unpack_from(data, evoff)
            if elen < HEADER_LEN or evoff + elen > limit:
                raise CaptureError(f"event length {elen} out of bounds", path=self.path, offset=off)
            info = EVENTS.get(etype)
            if info is None:
                self.skipped_unknown += counted
                return None
            evt = Event(data, evoff, num, cpu, ts, tid, elen, etype, nparams, info)
            evt.state_only = state_only
            return evt
        ts, tid, elen, etype = HEADER_V1.unpack_from(data, evoff)
        if elen < hdr_len or evoff + elen > limit:
            raise CaptureError(f"event length {elen} out of bounds", path=self.path, offset=off)
        info = EVENTS.get(etype)
        if info is None:
            self.skipped_unknown += counted
            return None
        record = _upgrade_v1(bytes(data[evoff : evoff + elen]), info, off, self.path)
        evt = Event(
            record,
            0,
            num,
            cpu,
            ts,
            tid,
            len(record),
            etype,
            U32.unpack_from(record, _OFF["nparams"])[0],
            info,
        )
        evt.state_only = state_only
        return evt


class _Partial(Exception):
    """Carries the events read before a malformed block, and the error it raised."""

    def __init__(self, batch: list[Event], error: CaptureError):
        self.batch = batch
        self.error = error


def _whole_events_first(walk: Iterator[list[Event]]) -> Iterator[list[Event]]:
    """``walk``'s batches; when it fails (a cut or corrupt block), first every whole event
    read before the bad block, then the error naming the offset, as sysdig reads a
    truncated capture."""
    try:
        yield from walk
    except _Partial as cut:
        if cut.batch:
            yield cut.batch
        raise cut.error from None


def _upgrade_v1(v1: bytes, info: EventInfo, off: int, path: str) -> bytes:
    """Turn a V1 record (no nparams) into V2, inferring nparams from the lengths as scap does."""
    # V1's header is V2's without nparams (the last field): ts, tid, len, type
    body = v1[_OFF["nparams"] :]
    width = 4 if info.large_payload else 2
    for n in range(info.nparams, -1, -1):
        if n * width > len(body):
            continue
        lens = struct.unpack_from(f"<{n}{'I' if width == 4 else 'H'}", body, 0)
        total = n * width + sum(lens)
        if total == len(body):
            head = v1[: _OFF["len"]] + U32.pack(len(v1) + 4) + v1[_OFF["type"] : _OFF["nparams"]]
            return head + n.to_bytes(4, "little") + body
        if total < len(body):
            break
    raise CaptureError("cannot infer the parameter count of a V1 event", path=path, offset=off)
