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
import gzip
import mmap
import os
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sentry.capture._cffi.scapscan import SCAN_REC_FORMAT
from sentry.capture.source import CaptureStats
from sentry.errors import CaptureError
from sentry.events.event import (
    AF_INET,
    AF_INET6,
    AF_UNIX,
    HEADER,
    HEADER_LEN,
    Buffer,
    Event,
    FdList,
    SockAddr,
    SockTuple,
    first_param_kinds,
)
from sentry.events.table import EVENTS, SCALAR_SIZES, EventInfo, ParamType
from sentry.events.wire import HEADER_OFFSETS

# Block types (scap_savefile.h).
SHB = 0x0A0D0D0A
SHB_MAGIC = 0x1A2B3C4D
MI, MI_INT = 0x201, 0x8002ABCD
PL_V1, PL_V2, PL_V3, PL_V4, PL_V5 = 0x202, 0x207, 0x209, 0x210, 0x211
PL_V6, PL_V7, PL_V8, PL_V9 = 0x212, 0x213, 0x214, 0x215
PL_V1_INT, PL_V2_INT, PL_V3_INT = 0x8000ABCD, 0x8013ABCD, 0x8014ABCD
FDL, FDL_INT, FDL_V2 = 0x203, 0x8001ABCD, 0x218
EV, EV_INT, EV_V2, EV_V2_LARGE = 0x204, 0x8010ABCD, 0x216, 0x221
EVF, EVF_V2, EVF_V2_LARGE = 0x208, 0x217, 0x222
DF_STATE_ONLY = 1  # event flag: for state tracking only, not to be shown (fatfile mode)
IL, IL_INT, IL_V2 = 0x205, 0x8011ABCD, 0x219
UL, UL_INT, UL_V2 = 0x206, 0x8012ABCD, 0x220

# Process list block type -> format version (1..9).
PL_VERSIONS = {
    PL_V1: 1,
    PL_V1_INT: 1,
    PL_V2: 2,
    PL_V2_INT: 2,
    PL_V3: 3,
    PL_V3_INT: 3,
    PL_V4: 4,
    PL_V5: 5,
    PL_V6: 6,
    PL_V7: 7,
    PL_V8: 8,
    PL_V9: 9,
}
# Event block type -> (has nparams in the header, has a flags word).
EV_BLOCKS = {
    EV: (False, False),
    EV_INT: (False, False),
    EVF: (False, True),
    EV_V2: (True, False),
    EV_V2_LARGE: (True, False),
    EVF_V2: (True, True),
    EVF_V2_LARGE: (True, True),
}

# scap fd types (scap_fd_type).
FD_FILE, FD_DIRECTORY, FD_IPV4_SOCK, FD_IPV6_SOCK = 1, 2, 3, 4
FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK, FD_FIFO, FD_UNIX_SOCK = 5, 6, 7, 8
FD_EVENT, FD_UNSUPPORTED, FD_SIGNALFD, FD_EVENTPOLL, FD_INOTIFY = 9, 10, 11, 12, 13
FD_TIMERFD, FD_NETLINK, FD_FILE_V2, FD_BPF, FD_USERFAULTFD = 14, 15, 16, 17, 18
FD_IOURING, FD_MEMFD, FD_PIDFD = 19, 20, 21
_FD_NAME_ONLY = frozenset(
    {
        FD_FILE,
        FD_DIRECTORY,
        FD_FIFO,
        FD_EVENT,
        FD_UNSUPPORTED,
        FD_SIGNALFD,
        FD_EVENTPOLL,
        FD_INOTIFY,
        FD_TIMERFD,
        FD_NETLINK,
        FD_BPF,
        FD_USERFAULTFD,
        FD_IOURING,
        FD_MEMFD,
        FD_PIDFD,
    }
)

# Interface entry types (SCAP_II_*).
II_IPV4, II_IPV6, II_IPV4_NOLINKSPEED, II_IPV6_NOLINKSPEED = 1, 2, 3, 4

_BLOCK_HEAD = struct.Struct("<II")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_MI = struct.Struct("<IQQ128sQQQQ")
# block type, block length, cpu, then the V2 event header: one unpack per event block.
_EV_V2_HEAD = struct.Struct("<IIH" + HEADER.format.lstrip("<"))
BATCH_SIZE = 1024
EV_V2_BLOCKS = frozenset({EV_V2, EV_V2_LARGE})
_OFF = HEADER_OFFSETS
_SCAN_REC = struct.Struct(SCAN_REC_FORMAT)  # struct scan_rec of scapscan.c
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


@dataclass(slots=True)
class MachineInfo:
    num_cpus: int = 1
    memory_size_bytes: int = 0
    max_pid: int = 0
    hostname: str = ""


@dataclass(slots=True)
class ThreadEntry:
    """One process-list entry: the state of a thread when the capture started."""

    tid: int
    pid: int
    ptid: int
    comm: str = ""
    exe: str = ""
    exepath: str = ""
    args: list[str] = field(default_factory=list)
    cwd: str = ""
    fdlimit: int = 0
    flags: int = 0
    uid: int = 0
    gid: int = 0
    vmsize_kb: int = 0
    vmrss_kb: int = 0
    vmswap_kb: int = 0
    pfmajor: int = 0
    pfminor: int = 0
    env: list[str] = field(default_factory=list)
    vtid: int = -1
    vpid: int = -1
    cgroups: list[str] = field(default_factory=list)
    root: str = ""
    sid: int = -1
    vpgid: int = -1
    loginuid: int = 0xFFFFFFFF
    tty: int = 0
    pidns_init_start_ts: int = 0
    exe_writable: bool = False
    cap_inheritable: int = 0
    cap_permitted: int = 0
    cap_effective: int = 0


@dataclass(slots=True)
class FdEntry:
    """One fd-list entry: an fd open in a thread when the capture started."""

    tid: int
    fd: int
    ino: int
    type: int
    name: str = ""
    open_flags: int = 0
    dev: int = 0
    sip: str = ""
    dip: str = ""
    sport: int = 0
    dport: int = 0
    l4proto: int = 0
    source: int = 0
    dest: int = 0


@dataclass(slots=True)
class Interface:
    name: str
    family: int  # 4 or 6
    addr: str
    netmask: str
    bcast: str
    linkspeed: int = 0


@dataclass(slots=True)
class UserEntry:
    uid: int
    gid: int
    name: str
    homedir: str = ""
    shell: str = ""


@dataclass(slots=True)
class GroupEntry:
    gid: int
    name: str


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _strings(raw: bytes) -> list[str]:
    return [s.decode("utf-8", "surrogateescape") for s in raw.split(b"\0") if s]


def _ip4(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def _ip6(raw: bytes) -> str:
    import ipaddress

    return str(ipaddress.IPv6Address(raw))


class _Malformed(Exception):
    """A metadata block does not parse; turned into CaptureError with path and offset."""


class _Cursor:
    """Bounds-checked little-endian reads within one block's payload."""

    __slots__ = ("block", "data", "end", "pos")

    def __init__(self, data: Buffer, pos: int, end: int, block: int):
        self.data = data
        self.pos = pos
        self.end = end
        self.block = block

    def need(self, n: int) -> int:
        pos = self.pos
        if n < 0 or pos + n > self.end:
            raise _Malformed(f"block truncated (needs {n} bytes at {pos})")
        self.pos = pos + n
        return pos

    def u8(self) -> int:
        return self.data[self.need(1)]

    def u16(self) -> int:
        return int.from_bytes(self.data[(p := self.need(2)) : p + 2], "little")

    def u32(self) -> int:
        return int.from_bytes(self.data[(p := self.need(4)) : p + 4], "little")

    def i32(self) -> int:
        return int.from_bytes(self.data[(p := self.need(4)) : p + 4], "little", signed=True)

    def u64(self) -> int:
        return int.from_bytes(self.data[(p := self.need(8)) : p + 8], "little")

    def i64(self) -> int:
        return int.from_bytes(self.data[(p := self.need(8)) : p + 8], "little", signed=True)

    def raw(self, n: int) -> bytes:
        p = self.need(n)
        return bytes(self.data[p : p + n])

    def lstr(self) -> bytes:
        """u16 length, then that many bytes."""
        return self.raw(self.u16())

    @property
    def left(self) -> int:
        return self.end - self.pos


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


class ScapReader:
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

    def _block(self, off: int) -> tuple[int, int]:
        """(type, total length) of the block at ``off``, checked against the file."""
        data = self.data
        if off + 12 > len(data):
            raise CaptureError(
                f"truncated block header: the capture is cut short after "
                f"{len(data)} bytes{self._cut_note()}",
                path=self.path,
                offset=off,
            )
        btype, blen = _BLOCK_HEAD.unpack_from(data, off)
        if blen >= 12 and off + blen > len(data):
            raise CaptureError(
                f"block length {blen} out of bounds (type {btype:#x}): the "
                f"capture is truncated, cut short after {len(data)} bytes"
                f"{self._cut_note()}",
                path=self.path,
                offset=off,
            )
        if blen < 12 or off + blen > len(data):
            raise CaptureError(
                f"block length {blen} out of bounds (type {btype:#x})", path=self.path, offset=off
            )
        if _U32.unpack_from(data, off + blen - 4)[0] != blen:
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
        btype, blen = self._block(0)
        if btype != SHB:
            raise CaptureError(
                "not a scap capture (no section header block)", path=self.path, offset=0
            )
        off = self._section(0, blen)
        end = len(self.data)
        while off < end:
            btype, blen = self._block(off)
            if btype in EV_BLOCKS:
                return off
            self._metadata(off, btype, blen)
            off += blen
        return off

    def _section(self, off: int, blen: int) -> int:
        if blen < 28:
            raise CaptureError("section header block too short", path=self.path, offset=off)
        magic, major, minor = struct.unpack_from("<IHH", self.data, off + 8)
        if magic != SHB_MAGIC:
            raise CaptureError(f"bad byte-order magic {magic:#x}", path=self.path, offset=off)
        if major != 1:
            raise CaptureError(
                f"unsupported capture format {major}.{minor}", path=self.path, offset=off
            )
        self.version = (major, minor)
        return off + blen  # pcapng options, if any, are skipped with the block

    def _metadata(self, off: int, btype: int, blen: int) -> None:
        cur = _Cursor(self.data, off + 8, off + blen - 4, off)
        try:
            if btype == SHB:
                self._section(off, blen)
            elif btype in (MI, MI_INT):
                self._machine_info(cur)
            elif btype in PL_VERSIONS:
                self._proclist(cur, PL_VERSIONS[btype])
            elif btype in (FDL, FDL_INT, FDL_V2):
                self._fdlist(cur, btype == FDL_V2)
            elif btype in (IL, IL_INT, IL_V2):
                self._iflist(cur, btype == IL_V2)
            elif btype in (UL, UL_INT, UL_V2):
                self._userlist(cur, btype == UL_V2)
            # any other block type is skipped whole, as libscap does
        except _Malformed as err:
            raise CaptureError(
                f"{err} (block type {btype:#x})", path=self.path, offset=off
            ) from None

    def _machine_info(self, cur: _Cursor) -> None:
        ncpus, mem, maxpid, host, *_ = _MI.unpack(cur.raw(_MI.size))
        self.machine = MachineInfo(ncpus, mem, maxpid, _text(host))

    def _proclist(self, cur: _Cursor, version: int) -> None:
        while cur.left >= 4:
            start = cur.pos
            sub_len = cur.u32() if version >= 9 else 0
            entry_end = start + sub_len
            if version >= 9 and (sub_len < 4 or entry_end > cur.end):
                raise _Malformed(f"process entry length {sub_len} out of bounds")
            t = ThreadEntry(cur.u64(), cur.u64(), cur.u64())
            if version >= 6:
                t.sid = cur.i64()
            if version >= 8:
                t.vpgid = cur.i64()
            t.comm = _text(cur.lstr())
            t.exe = _text(cur.lstr())
            if version >= 7:
                t.exepath = _text(cur.lstr())
            t.args = _strings(cur.lstr())
            t.cwd = _text(cur.lstr())
            t.fdlimit = cur.u64()
            t.flags = cur.u32()
            t.uid = cur.u32()
            t.gid = cur.u32()
            if version >= 2:
                t.vmsize_kb, t.vmrss_kb, t.vmswap_kb = cur.u32(), cur.u32(), cur.u32()
                t.pfmajor, t.pfminor = cur.u64(), cur.u64()
            if version >= 3:
                t.env = _strings(cur.lstr())
            if version >= 4:
                t.vtid, t.vpid = cur.i64(), cur.i64()
                t.cgroups = _strings(cur.lstr())
            if version >= 5:
                t.root = _text(cur.lstr())
            if version >= 9:
                self._proc_extras(cur, t, entry_end)
                if cur.pos > entry_end:
                    raise _Malformed("process entry overruns its length")
                cur.pos = entry_end
            self.threads[t.tid] = t

    @staticmethod
    def _proc_extras(cur: _Cursor, t: ThreadEntry, end: int) -> None:
        """V9 fields appended over time; present when the entry length has room for them."""
        if end - cur.pos > 29:  # libs >= 0.10 put these two before loginuid
            if end - cur.pos >= 8:
                t.pidns_init_start_ts = cur.u64()
            if end - cur.pos >= 4:
                t.tty = cur.i32()
        if end - cur.pos >= 4:
            t.loginuid = cur.u32()
        if end - cur.pos >= 1:
            t.exe_writable = bool(cur.u8())
        if end - cur.pos >= 24:
            t.cap_inheritable, t.cap_permitted, t.cap_effective = cur.u64(), cur.u64(), cur.u64()

    def _fdlist(self, cur: _Cursor, v2: bool) -> None:
        tid = cur.u64()
        while cur.left >= 4:
            start = cur.pos
            sub_len = cur.u32() if v2 else 0
            if v2 and (sub_len < 4 or start + sub_len > cur.end):
                raise _Malformed(f"fd entry length {sub_len} out of bounds")
            fd = FdEntry(tid, cur.i64(), cur.u64(), cur.u8())
            ftype = fd.type
            if ftype == FD_IPV4_SOCK:
                fd.sip, fd.dip = _ip4(cur.raw(4)), _ip4(cur.raw(4))
                fd.sport, fd.dport, fd.l4proto = cur.u16(), cur.u16(), cur.u8()
            elif ftype == FD_IPV4_SERVSOCK:
                fd.sip, fd.sport, fd.l4proto = _ip4(cur.raw(4)), cur.u16(), cur.u8()
            elif ftype == FD_IPV6_SOCK:
                fd.sip, fd.dip = _ip6(cur.raw(16)), _ip6(cur.raw(16))
                fd.sport, fd.dport, fd.l4proto = cur.u16(), cur.u16(), cur.u8()
            elif ftype == FD_IPV6_SERVSOCK:
                fd.sip, fd.sport, fd.l4proto = _ip6(cur.raw(16)), cur.u16(), cur.u8()
            elif ftype == FD_UNIX_SOCK:
                fd.source, fd.dest = cur.u64(), cur.u64()
                fd.name = _text(cur.lstr())
            elif ftype == FD_FILE_V2:
                fd.open_flags = cur.u32()
                fd.name = _text(cur.lstr())
                if v2 and start + sub_len - cur.pos >= 4:
                    fd.dev = cur.u32()
            elif ftype in _FD_NAME_ONLY:
                fd.name = _text(cur.lstr())
            elif not v2:
                raise _Malformed(f"unknown fd type {ftype}")
            if v2:
                if cur.pos > start + sub_len:
                    raise _Malformed("fd entry overruns its length")
                cur.pos = start + sub_len
            self.fds.append(fd)

    def _iflist(self, cur: _Cursor, v2: bool) -> None:
        while cur.left >= 4:
            entry_len = cur.u32() if v2 else 0
            start = cur.pos
            iftype, namelen = cur.u16(), cur.u16()
            if iftype in (II_IPV4, II_IPV4_NOLINKSPEED):
                addr, mask, bcast = (_ip4(cur.raw(4)) for _ in range(3))
                family = 4
            elif iftype in (II_IPV6, II_IPV6_NOLINKSPEED):
                addr, mask, bcast = (_ip6(cur.raw(16)) for _ in range(3))
                family = 6
            else:
                raise _Malformed(f"unknown interface type {iftype}")
            speed = cur.u64() if iftype in (II_IPV4, II_IPV6) else 0
            name = _text(cur.raw(namelen))
            self.interfaces.append(Interface(name, family, addr, mask, bcast, speed))
            if v2:
                if cur.pos > start + entry_len:
                    raise _Malformed("interface entry overruns its length")
                cur.pos = start + entry_len

    def _userlist(self, cur: _Cursor, v2: bool) -> None:
        while cur.left >= 4:
            start = cur.pos
            sub_len = cur.u32() if v2 else 0
            if v2 and (sub_len < 5 or start + sub_len > cur.end):
                raise _Malformed(f"user entry length {sub_len} out of bounds")
            kind = cur.u8()
            if kind == 0:
                uid, gid = cur.u32(), cur.u32()
                name, home, shell = (_text(cur.lstr()) for _ in range(3))
                self.users.append(UserEntry(uid, gid, name, home, shell))
            else:
                gid = cur.u32()
                self.groups.append(GroupEntry(gid, _text(cur.lstr())))
            if v2:
                if cur.pos > start + sub_len:
                    raise _Malformed("user entry overruns its length")
                cur.pos = start + sub_len

    # --- events ---------------------------------------------------------------------

    def _walk(self, off: int) -> Iterator[list[Event]]:
        yield from _whole_events_first(self._walk_blocks(off))

    def _walk_blocks(self, off: int) -> Iterator[list[Event]]:
        data = self.data
        end = len(data)
        events = EVENTS
        head = _EV_V2_HEAD.unpack_from
        trailer = _U32.unpack_from
        batch: list[Event] = []
        size = self.batch_size
        num = 0
        path = self.path
        wanted = self.event_types
        try:
            while off < end:
                if self._closed:
                    return
                if off + 12 > end:
                    self._block(off)  # raises: the capture is cut short
                if off + 36 <= end:
                    btype, blen, cpu, ts, tid, elen, etype, nparams = head(data, off)
                else:
                    btype, blen = _BLOCK_HEAD.unpack_from(data, off)
                    cpu = ts = tid = elen = etype = nparams = 0
                if blen < 12 or off + blen > end or trailer(data, off + blen - 4)[0] != blen:
                    self._block(off)  # raises the precise error
                if btype in (EV_V2, EV_V2_LARGE):
                    evoff = off + 10
                    if elen < HEADER_LEN or evoff + elen > off + blen - 4:
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
                    evt = self._other_event(off, btype, blen, num + 1)
                    if evt is not None:
                        num += 1
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
        iter_unpack = _SCAN_REC.iter_unpack
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
                records = iter_unpack(recbuf[: count * _SCAN_REC.size])
                if count and not filter_generic:
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
                    ]
                elif count:
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
                btype, blen = self._block(off)  # raises for malformed blocks
                if btype in EV_V2_BLOCKS:
                    raise CaptureError("event length out of bounds", path=self.path, offset=off)
                if btype in EV_BLOCKS:
                    evt = self._other_event(off, btype, blen, num[0] + 1)
                    if evt is not None:
                        num[0] += 1
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

    def _other_event(self, off: int, btype: int, blen: int, num: int) -> Event | None:
        """Event blocks other than plain V2: with a flags word and/or a V1 header."""
        has_nparams, has_flags = EV_BLOCKS[btype]
        data = self.data
        cpu = _U16.unpack_from(data, off + 8)[0]
        if has_flags and _U32.unpack_from(data, off + 10)[0] & DF_STATE_ONLY:
            self.state_only.add(num)
        evoff = off + 10 + (4 if has_flags else 0)
        limit = off + blen - 4
        hdr_len = HEADER_LEN if has_nparams else HEADER_LEN - 4
        if evoff + hdr_len > limit:
            raise CaptureError("event block too short", path=self.path, offset=off)
        state_only = has_flags and bool(_U32.unpack_from(data, off + 10)[0] & DF_STATE_ONLY)
        if has_nparams:
            ts, tid, elen, etype, nparams = HEADER.unpack_from(data, evoff)
            if elen < HEADER_LEN or evoff + elen > limit:
                raise CaptureError(f"event length {elen} out of bounds", path=self.path, offset=off)
            info = EVENTS.get(etype)
            if info is None:
                self.skipped_unknown += 1
                return None
            evt = Event(data, evoff, num, cpu, ts, tid, elen, etype, nparams, info)
            evt.state_only = state_only
            return evt
        ts, tid, elen, etype = struct.unpack_from("<QQIH", data, evoff)
        if elen < hdr_len or evoff + elen > limit:
            raise CaptureError(f"event length {elen} out of bounds", path=self.path, offset=off)
        info = EVENTS.get(etype)
        if info is None:
            self.skipped_unknown += 1
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
            _U32.unpack_from(record, _OFF["nparams"])[0],
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
            head = v1[: _OFF["len"]] + _U32.pack(len(v1) + 4) + v1[_OFF["type"] : _OFF["nparams"]]
            return head + n.to_bytes(4, "little") + body
        if total < len(body):
            break
    raise CaptureError("cannot infer the parameter count of a V1 event", path=path, offset=off)


# --- writing ------------------------------------------------------------------------


def _pad(n: int) -> int:
    return (n + 3) & ~3


def _block(btype: int, payload: bytes) -> bytes:
    total = 8 + _pad(len(payload)) + 4
    return b"".join(
        (
            _BLOCK_HEAD.pack(btype, total),
            payload,
            b"\0" * (_pad(len(payload)) - len(payload)),
            _U32.pack(total),
        )
    )


def _lstr(value: str | bytes) -> bytes:
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return _U16.pack(len(raw)) + raw


# scap's limits on a process-list entry's strings (SCAP_MAX_ARGS_SIZE, _ENV_SIZE,
# _CGROUPS_SIZE): sysdig refuses a whole file whose list has a longer one.
SCAP_MAX_LIST_BYTES = 4096
LIST_MAX = SCAP_MAX_LIST_BYTES


def _nul_list(items: Sequence[str], limit: int | None = None) -> bytes:
    """NUL-terminated strings; with ``limit``, whole ones only up to that many bytes (as
    /proc gives scap at most that much of a process's arguments or environment)."""
    out = b""
    for s in items:
        item = s.encode("utf-8", "surrogateescape") + b"\0"
        if limit is not None and len(out) + len(item) > limit:
            break
        out += item
    return out


def _pack_ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split(".")) if text else b"\0\0\0\0"


def _pack_ip6(text: str) -> bytes:
    import ipaddress

    return ipaddress.IPv6Address(text).packed if text else b"\0" * 16


_SIGNED_TYPES = frozenset(
    {
        ParamType.INT8,
        ParamType.INT16,
        ParamType.INT32,
        ParamType.INT64,
        ParamType.ERRNO,
        ParamType.FD,
        ParamType.PID,
    }
)


def encode_value(ptype: ParamType, value: Any) -> bytes:
    """Encode one parameter value the way the drivers write it (None: empty parameter)."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    size = SCALAR_SIZES.get(ptype)
    if size is not None and isinstance(value, int):
        if ptype in _SIGNED_TYPES:
            return value.to_bytes(size, "little", signed=True)
        return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    if ptype in (ParamType.CHARBUF, ParamType.FSPATH, ParamType.FSRELPATH):
        return str(value).encode("utf-8", "surrogateescape") + b"\0"
    if ptype in (ParamType.BYTEBUF, ParamType.CHARBUFARRAY):
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        return _nul_list(value)
    if ptype is ParamType.SOCKADDR and isinstance(value, SockAddr):
        return _encode_sockaddr(value)
    if ptype is ParamType.SOCKTUPLE and isinstance(value, SockTuple):
        return _encode_socktuple(value)
    if ptype is ParamType.FDLIST and isinstance(value, FdList):
        return _U16.pack(len(value.entries)) + b"".join(
            fd.to_bytes(8, "little", signed=True) + _U16.pack(flags) for fd, flags in value.entries
        )
    raise TypeError(f"cannot encode {value!r} as {ptype.name}")


def _encode_sockaddr(sa: SockAddr) -> bytes:
    fam = bytes([sa.family])
    if sa.family == AF_INET:
        return fam + _pack_ip4(sa.addr or "") + _U16.pack(sa.port or 0)
    if sa.family == AF_INET6:
        return fam + _pack_ip6(sa.addr or "") + _U16.pack(sa.port or 0)
    if sa.family == AF_UNIX:
        return fam + (sa.path or "").encode("utf-8", "surrogateescape") + b"\0"
    return fam


def _encode_socktuple(st: SockTuple) -> bytes:
    fam = bytes([st.family])
    if st.family == AF_INET:
        return (
            fam
            + _pack_ip4(st.sip or "")
            + _U16.pack(st.sport or 0)
            + _pack_ip4(st.dip or "")
            + _U16.pack(st.dport or 0)
        )
    if st.family == AF_INET6:
        return (
            fam
            + _pack_ip6(st.sip or "")
            + _U16.pack(st.sport or 0)
            + _pack_ip6(st.dip or "")
            + _U16.pack(st.dport or 0)
        )
    if st.family == AF_UNIX:
        return (
            fam
            + (st.source or 0).to_bytes(8, "little")
            + (st.dest or 0).to_bytes(8, "little")
            + (st.path or "").encode("utf-8", "surrogateescape")
            + b"\0"
        )
    return fam


def encode_event(etype: int, values: Sequence[Any], *, ts: int, tid: int) -> bytes:
    """A complete V2 scap record for event ``etype`` with these parameter values."""
    info = EVENTS[etype]
    if len(values) > info.nparams:
        raise ValueError(f"{info.name}{info.direction} takes {info.nparams} parameters")
    raws = []
    for pinfo, value in zip(info.params, values, strict=False):
        ptype = pinfo.type
        if ptype is ParamType.DYN and isinstance(value, tuple):
            index, inner = value
            raws.append(bytes([index]) + encode_value(pinfo.dynamic[index][0], inner))
        else:
            raws.append(encode_value(ptype, value))
    fmt = "I" if info.large_payload else "H"
    lens = struct.pack(f"<{len(raws)}{fmt}", *(len(r) for r in raws))
    total = HEADER_LEN + len(lens) + sum(len(r) for r in raws)
    return HEADER.pack(ts, tid, total, etype, len(raws)) + lens + b"".join(raws)


class ScapWriter:
    """Write a .scap file of V2 blocks that sysdig 0.29 reads.

    Metadata goes first: pass ``machine``, ``threads``, ``fds``, ``users``/``groups`` and
    ``interfaces`` to the constructor (all optional). Then add events with
    :meth:`write_event` (build one from values), :meth:`write_record` (raw scap bytes)
    or :meth:`write_events` (Events from any source). ``compress=True`` writes gzip.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        machine: MachineInfo | None = None,
        threads: Iterable[ThreadEntry] = (),
        fds: Iterable[FdEntry] = (),
        users: Iterable[UserEntry] = (),
        groups: Iterable[GroupEntry] = (),
        interfaces: Iterable[Interface] = (),
        compress: bool = False,
    ):
        self.path = os.fspath(path)
        try:
            raw: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        except OSError as err:
            raise CaptureError(
                f"cannot write capture: {err.strerror or err}", path=self.path
            ) from None
        self._raw = raw
        self._out: gzip.GzipFile | BinaryIO = (
            gzip.GzipFile(fileobj=raw, mode="wb") if compress else raw
        )
        self.count = 0
        self._ts = 0
        shb = struct.pack("<IHHq", SHB_MAGIC, 1, 2, -1)
        self._write(_block(SHB, shb))
        m = machine or MachineInfo()
        host = m.hostname.encode("utf-8")[:127]
        self._write(
            _block(MI, _MI.pack(m.num_cpus, m.memory_size_bytes, m.max_pid, host, 0, 0, 0, 0))
        )
        ifaces = list(interfaces)
        if ifaces:
            self._write(_block(IL_V2, b"".join(self._interface(i) for i in ifaces)))
        entries = [self._user(u) for u in users] + [self._group(g) for g in groups]
        if entries:
            self._write(_block(UL_V2, b"".join(entries)))
        thread_list = list(threads)
        if thread_list:
            self._write(_block(PL_V9, b"".join(self._thread(t) for t in thread_list)))
        by_tid: dict[int, list[FdEntry]] = {}
        for fd in fds:
            by_tid.setdefault(fd.tid, []).append(fd)
        for tid, fd_list in by_tid.items():
            body = struct.pack("<Q", tid) + b"".join(self._fd(f) for f in fd_list)
            self._write(_block(FDL_V2, body))

    def _write(self, data: bytes) -> None:
        try:
            self._out.write(data)
        except OSError as err:
            raise CaptureError(
                f"cannot write capture: {err.strerror or err}", path=self.path
            ) from None

    @staticmethod
    def _interface(i: Interface) -> bytes:
        name = i.name.encode()
        if i.family == 6:
            body = (
                _U16.pack(II_IPV6)
                + _U16.pack(len(name))
                + _pack_ip6(i.addr)
                + _pack_ip6(i.netmask)
                + _pack_ip6(i.bcast)
            )
        else:
            body = (
                _U16.pack(II_IPV4)
                + _U16.pack(len(name))
                + _pack_ip4(i.addr)
                + _pack_ip4(i.netmask)
                + _pack_ip4(i.bcast)
            )
        body += struct.pack("<Q", i.linkspeed) + name
        return _U32.pack(len(body)) + body

    @staticmethod
    def _user(u: UserEntry) -> bytes:
        body = (
            b"\0"
            + struct.pack("<II", u.uid, u.gid)
            + _lstr(u.name)
            + _lstr(u.homedir)
            + _lstr(u.shell)
        )
        return _U32.pack(len(body) + 4) + body

    @staticmethod
    def _group(g: GroupEntry) -> bytes:
        body = b"\1" + _U32.pack(g.gid) + _lstr(g.name)
        return _U32.pack(len(body) + 4) + body

    @staticmethod
    def _thread(t: ThreadEntry) -> bytes:
        body = b"".join(
            (
                struct.pack("<QQQqq", t.tid, t.pid, t.ptid, t.sid, t.vpgid),
                _lstr(t.comm),
                _lstr(t.exe),
                _lstr(t.exepath),
                _lstr(_nul_list(t.args, LIST_MAX)),
                _lstr(t.cwd),
                struct.pack(
                    "<QIIIIIIQQ",
                    t.fdlimit,
                    t.flags,
                    t.uid,
                    t.gid,
                    t.vmsize_kb,
                    t.vmrss_kb,
                    t.vmswap_kb,
                    t.pfmajor,
                    t.pfminor,
                ),
                _lstr(_nul_list(t.env, LIST_MAX)),
                struct.pack("<qq", t.vtid, t.vpid),
                _lstr(_nul_list(t.cgroups, LIST_MAX)),
                _lstr(t.root),
                _U32.pack(t.loginuid & 0xFFFFFFFF),
            )
        )
        return _U32.pack(len(body) + 4) + body

    @staticmethod
    def _fd(f: FdEntry) -> bytes:
        body = struct.pack("<qQB", f.fd, f.ino, f.type)
        if f.type == FD_IPV4_SOCK:
            body += (
                _pack_ip4(f.sip)
                + _pack_ip4(f.dip)
                + struct.pack("<HHB", f.sport, f.dport, f.l4proto)
            )
        elif f.type == FD_IPV4_SERVSOCK:
            body += _pack_ip4(f.sip) + struct.pack("<HB", f.sport, f.l4proto)
        elif f.type == FD_IPV6_SOCK:
            body += (
                _pack_ip6(f.sip)
                + _pack_ip6(f.dip)
                + struct.pack("<HHB", f.sport, f.dport, f.l4proto)
            )
        elif f.type == FD_IPV6_SERVSOCK:
            body += _pack_ip6(f.sip) + struct.pack("<HB", f.sport, f.l4proto)
        elif f.type == FD_UNIX_SOCK:
            body += struct.pack("<QQ", f.source, f.dest) + _lstr(f.name)
        elif f.type == FD_FILE_V2:
            body += _U32.pack(f.open_flags) + _lstr(f.name) + _U32.pack(f.dev)
        else:
            body += _lstr(f.name)
        return _U32.pack(len(body) + 4) + body

    def write_record(
        self, record: bytes | memoryview, cpu: int = 0, *, state_only: bool = False
    ) -> None:
        """Append one V2 scap record (header + lengths + parameters) as an event block.

        ``state_only`` writes it flagged SCAP_DF_STATE_ONLY (sysdig's fatfile mode): readers
        update their state with it but do not show it.
        """
        etype = HEADER.unpack_from(record)[3]
        info = EVENTS.get(etype)
        large = info is not None and info.large_payload
        if state_only:
            btype = EVF_V2_LARGE if large else EVF_V2
            self._write(_block(btype, _U16.pack(cpu) + _U32.pack(DF_STATE_ONLY) + bytes(record)))
        else:
            btype = EV_V2_LARGE if large else EV_V2
            self._write(_block(btype, _U16.pack(cpu) + bytes(record)))
        self.count += 1

    def write_event(
        self, etype: int | str, *values: Any, ts: int | None = None, tid: int = 1, cpu: int = 0
    ) -> bytes:
        """Build and append event ``etype`` (a number, or "name>" / "name<") from values.

        Timestamps default to one nanosecond after the previous event. Returns the record.
        """
        code = _event_code(etype)
        if ts is None:
            ts = self._ts + 1
        self._ts = ts
        record = encode_event(code, values, ts=ts, tid=tid)
        self.write_record(record, cpu)
        return record

    def write_events(self, events: Iterable[Event]) -> None:
        """Append events read from any source, unchanged."""
        for evt in events:
            self._ts = evt.ts
            self.write_record(evt.record(), evt.cpu)

    def close(self) -> None:
        try:
            if self._out is not self._raw:
                self._out.close()
            self._raw.close()
        except OSError as err:
            raise CaptureError(
                f"cannot write capture: {err.strerror or err}", path=self.path
            ) from None

    def __enter__(self) -> ScapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _event_code(etype: int | str) -> int:
    if isinstance(etype, int):
        return etype
    from sentry.events.table import event_by_name

    name, direction = etype[:-1], etype[-1]
    return event_by_name(name, direction).code
