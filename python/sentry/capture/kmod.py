"""Live capture from the kernel module: every ``/dev/sentryN`` ring, mapped and walked in place.

Each device is one CPU's ring (see ``driver/include/sentry_abi.h``): page 0 is the control
page (head, tail, counters), mapped read-write to publish ``tail``; the data area follows,
mapped read-only and twice back to back, so every record is contiguous in the mapping and an
:class:`~sentry.events.event.Event` is built directly on it (zero copy). Records of one batch
stay valid until the next batch is asked for: only then are the tails advanced, so the
kernel cannot reuse their space earlier. CPUs are merged in timestamp order within a batch.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import heapq
import mmap
import os
import re
import struct
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sentry.capture._cffi.abi import (
    API_VERSION,
    EVT_HDR_LEN,
    INTEREST_PROCEXIT,
    IOCTLS,
    MAX_SNAPLEN,
    SYSCALL_NR_MAX,
    ffi,
)
from sentry.capture.source import CaptureStats
from sentry.errors import CaptureError, DriverError
from sentry.events.event import Event
from sentry.events.table import EVENTS, EventInfo
from sentry.events.wire import HEADER, SAMPLING_MAX

_U32 = struct.Struct("I")
_DEVICE = re.compile(r"sentry(\d+)$")
# Event info by type number; None (a TypeError on use) where the table has no entry.
_INFOS: list[EventInfo | None] = [EVENTS.get(code) for code in range(max(EVENTS) + 1)]


class _Ring:
    """One CPU's ring: the device fd, its two mappings and our private tail."""

    __slots__ = ("cpu", "ctrl", "ctrl_map", "data_map", "fd", "mask", "path", "tail", "view")

    def __init__(self, path: Path, cpu: int):
        self.path = path
        self.cpu = cpu
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as err:
            hint = " (another consumer has it open)" if err.errno == errno.EBUSY else ""
            raise DriverError(f"cannot open {path}: {err.strerror}{hint}") from err
        try:
            page = mmap.PAGESIZE
            self.ctrl_map = mmap.mmap(
                self.fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
            )
            self.ctrl: Any = ffi.from_buffer("struct sentry_ring_ctrl *", self.ctrl_map)
            size = int(self.ctrl.size)
            if size <= 0 or size & (size - 1):
                raise DriverError(f"{path}: bad ring size {size}")
            self.data_map = mmap.mmap(
                self.fd, 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page
            )
        except (OSError, ValueError) as err:
            os.close(self.fd)
            raise DriverError(f"cannot map {path}: {err}") from err
        self.view = memoryview(self.data_map)
        self.mask = size - 1
        self.tail = int(self.ctrl.tail)

    def publish_tail(self) -> None:
        # A plain store: x86 does not reorder it before our earlier loads of the records.
        self.ctrl.tail = self.tail

    def close(self) -> None:
        del self.ctrl
        for m in (self.view, self.data_map, self.ctrl_map):
            # An undetached Event may still point here: then it is unmapped at exit.
            with contextlib.suppress(BufferError):
                m.close() if isinstance(m, mmap.mmap) else m.release()
        os.close(self.fd)


def device_paths(dev_dir: str | Path = "/dev") -> list[tuple[int, Path]]:
    """(cpu, path) of every ``sentryN`` device, by CPU number."""
    found = []
    for entry in Path(dev_dir).iterdir():
        m = _DEVICE.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry))
    return sorted(found)


class KmodSource:
    """:class:`~sentry.capture.source.LiveSource` over the kernel module's rings.

    ``batch_max`` bounds the events taken from one ring per batch; when every ring is
    empty the source sleeps, doubling from ``poll_min`` to ``poll_max`` seconds, and yields
    an empty batch after each sleep so that callers can check their own deadlines.
    """

    def __init__(
        self,
        *,
        dev_dir: str | Path = "/dev",
        snaplen: int | None = None,
        interest: Iterable[int] | None = None,
        exclude_self: bool = True,
        batch_max: int = 4096,
        poll_min: float = 0.001,
        poll_max: float = 0.05,
        start: bool = True,
    ):
        paths = device_paths(dev_dir)
        if not paths:
            raise DriverError(f"no {dev_dir}/sentryN devices: is the sentry module loaded?")
        self._rings: list[_Ring] = []
        try:
            for cpu, path in paths:
                self._rings.append(_Ring(path, cpu))
            self.api_version = version = self._ioctl_out("SENTRY_IOCTL_GET_API_VERSION")
            if version != API_VERSION:
                raise DriverError(
                    f"module API version {version}, this reader speaks "
                    f"{API_VERSION}: rebuild or reload the module"
                )
            self.description = (
                f"kernel module ({len(self._rings)} per-CPU rings of "
                f"{(self._rings[0].mask + 1) >> 10} KiB, {dev_dir}/sentryN)"
            )
            if exclude_self:
                self._ioctl_in("SENTRY_IOCTL_EXCLUDE_TGID", os.getpid())
            if snaplen is not None:
                self.set_snaplen(snaplen)
            if interest is not None:
                self.set_interest(interest)
        except BaseException:
            self.close()
            raise
        self._batch_max = batch_max
        self._poll_min = poll_min
        self._poll_max = poll_max
        self._num = 0
        self._closed = False
        if start:
            self.start()

    # ---- control ----

    def _ioctl(self, name: str, arg: bytes | int = 0) -> bytes | int:
        try:
            return fcntl.ioctl(self._rings[0].fd, IOCTLS[name], arg)
        except OSError as err:
            raise DriverError(f"{name}: {err.strerror}") from err

    def _ioctl_in(self, name: str, value: int) -> None:
        self._ioctl(name, _U32.pack(value))

    def _ioctl_out(self, name: str) -> int:
        out = self._ioctl(name, bytes(4))
        assert isinstance(out, bytes)
        return int(_U32.unpack(out)[0])

    def start(self) -> None:
        """Start capturing (every CPU)."""
        self._ioctl("SENTRY_IOCTL_ENABLE_CAPTURE")

    def stop(self) -> None:
        """Stop capturing; events already in the rings can still be read."""
        self._ioctl("SENTRY_IOCTL_DISABLE_CAPTURE")

    def set_snaplen(self, snaplen: int) -> None:
        if not 1 <= snaplen <= MAX_SNAPLEN:
            raise DriverError(f"snaplen must be within 1..{MAX_SNAPLEN}, not {snaplen}")
        self._ioctl_in("SENTRY_IOCTL_SET_SNAPLEN", snaplen)

    def set_quiet(self, paths: Iterable[str]) -> list[str]:
        """None taken: the module has no quiet-open filter (the eBPF probe's is
        ``probe_quiet.h``); its opens and closes of quiet files all reach the rules."""
        del paths
        return []

    def set_sampling(self, ratio: int) -> None:
        """Sampling ("dropping mode", as scap's): with ratio > 1 keep only the events of the
        first 1/ratio of each second, but always those that build process and fd state
        (``driver/include/sentry_sampling.h``); the others are counted as suppressed.
        1 keeps everything."""
        if not 1 <= ratio <= SAMPLING_MAX:
            raise DriverError(f"sampling ratio must be within 1..{SAMPLING_MAX}, not {ratio}")
        self._ioctl_in("SENTRY_IOCTL_SET_SAMPLING", ratio)

    def set_interest(self, syscalls: Iterable[int] | None, *, procexit: bool = True) -> None:
        """Capture only these x86_64 syscall numbers (None: all, procexit included)."""
        interest = ffi.new("struct sentry_interest *")
        bits = [0] * (SYSCALL_NR_MAX // 64)
        if syscalls is None:
            bits = [(1 << 64) - 1] * len(bits)
        else:
            wanted = set(syscalls)
            if procexit:
                wanted.add(INTEREST_PROCEXIT)
            for nr in wanted:
                if not 0 <= nr < SYSCALL_NR_MAX:
                    raise DriverError(f"syscall number {nr} out of range 0..{SYSCALL_NR_MAX - 1}")
                bits[nr // 64] |= 1 << (nr % 64)
        interest.bits = bits
        self._ioctl("SENTRY_IOCTL_SET_INTEREST", bytes(ffi.buffer(interest)))

    def stats(self) -> CaptureStats:
        out = self._ioctl("SENTRY_IOCTL_GET_STATS", bytes(ffi.sizeof("struct sentry_stats")))
        assert isinstance(out, bytes)
        st = ffi.from_buffer("struct sentry_stats *", out)
        return CaptureStats(
            events=st.n_evts,
            drops_buffer=st.n_drops_buffer,
            drops_page_fault=st.n_drops_pf,
            drops_bug=st.n_drops_bug,
            preemptions=st.n_preemptions,
            suppressed=st.n_suppressed,
        )

    def close(self) -> None:
        """Stop and release every device (the module may then be unloaded)."""
        self._closed = True
        rings, self._rings = self._rings, []
        for ring in rings:
            ring.close()

    # ---- reading ----

    def _take(self, ring: _Ring, out: list[Event]) -> None:
        """Append the ring's published records (up to batch_max) to out; advance our tail."""
        head = int(ring.ctrl.head)  # x86: the records below head are visible once head is
        tail = ring.tail
        if head == tail:
            return
        if head - tail > ring.mask + 1:
            raise CaptureError(
                f"ring head {head} and tail {tail} are inconsistent", path=str(ring.path)
            )
        view, mask, cpu, num = ring.view, ring.mask, ring.cpu, self._num
        unpack, infos, append, limit = HEADER.unpack_from, _INFOS, out.append, self._batch_max
        start_len = len(out)
        try:
            # Hot loop: one unpack and one Event per record, nothing else.
            while tail < head and len(out) - start_len < limit:
                off = tail & mask
                ts, tid, length, etype, nparams = unpack(view, off)
                num += 1
                append(Event(view, off, num, cpu, ts, tid, length, etype, nparams, infos[etype]))
                tail += length
                if length < EVT_HDR_LEN:
                    raise IndexError
        except (IndexError, KeyError):
            raise CaptureError(
                "corrupt record in the ring", path=str(ring.path), offset=tail & mask
            ) from None
        if tail > head:
            raise CaptureError(
                "a record runs past the ring's head", path=str(ring.path), offset=tail & mask
            )
        self._num = num
        ring.tail = tail

    def read_batch(self) -> list[Event]:
        """Publish the previous batch's tails, then take what the rings hold now."""
        per_cpu: list[list[Event]] = []
        for ring in self._rings:
            ring.publish_tail()
        for ring in self._rings:
            got: list[Event] = []
            self._take(ring, got)
            if got:
                per_cpu.append(got)
        if not per_cpu:
            return []
        if len(per_cpu) == 1:
            return per_cpu[0]
        return list(heapq.merge(*per_cpu, key=_ts))

    def batches(self) -> Iterator[list[Event]]:
        delay = self._poll_min
        while not self._closed:
            batch = self.read_batch()
            if batch:
                delay = self._poll_min
                yield batch
                continue
            time.sleep(delay)
            delay = min(delay * 2, self._poll_max)
            yield batch

    def __enter__(self) -> KmodSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ts(event: Event) -> int:
    return event.ts
