"""The eBPF probe's BPF ring buffers, mapped and walked in place (one per CPU).

:class:`Ring` is one CPU's ring: consumer page (rw), producer page and data mapped twice
(ro), records taken with a budget; :class:`CWalker` walks them in C (``ring_scan`` in
``_cffi/scapscan.c``). Used by :class:`sentry.capture.ebpf.EbpfSource`.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import struct
from typing import Any

from sentry.capture._cffi.scapscan import scanned_events
from sentry.events.event import HEADER, Event, first_param_kinds
from sentry.events.table import EVENTS

RING_BUSY = 1 << 31
RING_DISCARD = 1 << 30
RING_HDR = 8
PAGE = mmap.PAGESIZE
_U32 = struct.Struct("<I")
_RECORD = struct.Struct("<8x" + HEADER.format.lstrip("<"))  # ring record header, scap header
_U64 = struct.Struct("<Q")


class Ring:
    """One CPU's BPF ring buffer, mapped: consumer page (rw), producer page + data twice (ro)."""

    def __init__(self, fd: int, size: int, cpu: int):
        self.fd = fd
        self.cpu = cpu
        self.mask = size - 1
        self.cons_map = mmap.mmap(fd, PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.prod_map = mmap.mmap(fd, PAGE + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=PAGE)
        self.cons = memoryview(self.cons_map).cast("Q")
        self.prod = memoryview(self.prod_map).cast("Q")
        self.data = memoryview(self.prod_map)[PAGE:]
        self.pending = self.cons[0]  # consumer position once the current batch is released
        self.walker: CWalker | None = None  # ring_scan over this ring, when compiled

    def release(self) -> None:
        """Give the records of the last batch back to the producer."""
        if self.pending != self.cons[0]:
            self.cons[0] = self.pending

    def take(self, budget: int, out: list[Event], wanted: frozenset[int] | None) -> int:
        """Append up to budget records' events without consuming them (those of wanted
        types only, when given); returns how many records were read."""
        pos = self.pending
        prod = self.prod[0]
        taken = 0
        # Thousands of new Events at once would run the cyclic GC over and over (they
        # hold no cycles); let it run once, after the batch.
        collecting = gc.isenabled()
        gc.disable()
        try:
            if self.walker is not None:
                pos, taken = self.walker.walk(self, pos, prod, budget, out)
            else:
                pos, taken = self._walk(pos, prod, budget, out, wanted)
        finally:
            if collecting:
                gc.enable()
        self.pending = pos
        return taken

    def _walk(
        self, pos: int, prod: int, budget: int, out: list[Event], wanted: frozenset[int] | None
    ) -> tuple[int, int]:
        """The Python walk (the reference :class:`CWalker` is tested against)."""
        data, mask, cpu = self.data, self.mask, self.cpu
        unpack_len = _U32.unpack_from
        unpack_rec = _RECORD.unpack_from
        taken = 0
        while pos < prod and taken < budget:
            off = pos & mask
            (hdr,) = unpack_len(data, off)
            if hdr & RING_BUSY:
                break
            pos += ((hdr & ~(RING_BUSY | RING_DISCARD)) + RING_HDR + 7) & ~7
            taken += 1
            if hdr & RING_DISCARD:
                continue
            ts, tid, elen, etype, nparams = unpack_rec(data, off)
            if wanted is None or etype in wanted:
                out.append(Event(data, off + RING_HDR, 0, cpu, ts, tid, elen, etype, nparams))
        return pos, taken

    def close(self) -> None:
        if self.walker is not None:
            self.walker.release(self)
            self.walker = None
        for view in (self.cons, self.prod, self.data):
            view.release()
        for mapping in (self.cons_map, self.prod_map):
            with contextlib.suppress(BufferError):  # events still point into it: GC unmaps
                mapping.close()
        os.close(self.fd)


class CWalker:
    """The rings walked in C (``ring_scan`` in ``_cffi/scapscan.c``): headers, lengths and
    parameter 0 read there, so that Python only makes the Event of each wanted record
    (with its parameter 0 already decoded, as the capture reader's C walker gives it)."""

    def __init__(self, scanner: Any, budget: int):
        self.ffi, self.lib = scanner.ffi, scanner.lib
        self.ntypes = max(EVENTS) + 1
        self._kinds = self.ffi.from_buffer("uint8_t[]", first_param_kinds(self.ntypes))
        self._recs = self.ffi.new("struct scan_rec[]", max(1, budget))
        self._recbuf = self.ffi.buffer(self._recs)
        self._pos = self.ffi.new("uint64_t *")
        self._taken = self.ffi.new("int *")
        self._want: Any = self.ffi.NULL
        self._mask: bytearray | None = None
        self._views: dict[int, Any] = {}  # ring fd -> its data area as a C pointer

    def want(self, types: frozenset[int] | None) -> None:
        """Report only records of these event types (None: all)."""
        if types is None:
            self._want, self._mask = self.ffi.NULL, None
            return
        mask = bytearray(self.ntypes)
        for code in types:
            if 0 <= code < self.ntypes:
                mask[code] = 1
        self._mask = mask  # kept alive: the C pointer below reads it
        self._want = self.ffi.from_buffer("uint8_t[]", mask)

    def walk(
        self, ring: Ring, pos: int, prod: int, budget: int, out: list[Event]
    ) -> tuple[int, int]:
        view = self._views.get(ring.fd)
        if view is None:
            view = self._views[ring.fd] = self.ffi.from_buffer("uint8_t[]", ring.data)
        cpos = self._pos
        cpos[0] = pos
        budget = min(budget, len(self._recs))
        count = self.lib.ring_scan(
            view,
            ring.mask,
            cpos,
            prod,
            budget,
            self._want,
            self._kinds,
            self.ntypes,
            ring.cpu,
            self._recs,
            budget,
            self._taken,
        )
        if count:
            out += scanned_events(ring.data, self._recbuf, count)
        return cpos[0], self._taken[0]

    def release(self, ring: Ring) -> None:
        """Drop the C view of ``ring``'s data (before the ring's own views are released)."""
        view = self._views.pop(ring.fd, None)
        if view is not None:
            self.ffi.release(view)
