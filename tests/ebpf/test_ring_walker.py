"""The probe's rings walked in C (``ring_scan``) give exactly the events of the Python walk.

One small ring per CPU (64 KiB), a shell workload run again and again, and after each run
both walkers read the same committed records from the same position: same positions and
record counts, same events (header, parameter 0 as the C walker decoded it, every
parameter), with and without an event-type selection and with a small budget. The ring is
then given back, so that over the runs the records wrap around its end many times.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from sentry.capture.ebpf import EbpfSource
from sentry.events.table import event_by_name

# Sentry's userspace (the reader) over the live probe: the kernel matrix in qemu does not
# repeat it.
pytestmark = [pytest.mark.root, pytest.mark.userspace]

WORKLOAD = (
    "cat /etc/hostname > /dev/null; ls -la /nonexistent 2> /dev/null; echo x > /dev/null; exec true"
)
BUDGET = 1 << 16
RUNS = 40


def summary(ev: Any) -> tuple[Any, ...]:
    first = ev.param(0) if ev.nparams else None  # before any other: the C walker's arg0
    return (ev._off, ev.cpu, ev.ts, ev.tid, ev.len, ev.type, ev.nparams, first, ev.params())


def both(src: EbpfSource, ring: Any, budget: int, wanted: frozenset[int] | None) -> int:
    """Walk ``ring`` from its position with both walkers; return where they ended."""
    walker = src._walker
    assert walker is not None
    pos, prod = ring.pending, ring.prod[0]
    py: list[Any] = []
    c: list[Any] = []
    py_end = ring._walk(pos, prod, budget, py, wanted)
    walker.want(wanted)
    try:
        c_end = walker.walk(ring, pos, prod, budget, c)
    finally:
        walker.want(None)
    assert c_end == py_end
    assert [summary(e) for e in c] == [summary(e) for e in py]
    return int(py_end[0])


def test_c_ring_walk_is_the_python_walk() -> None:
    src = EbpfSource(target_tgid=os.getpid(), ring_bytes=1 << 16)
    try:
        assert src._walker is not None, "the C walker did not build"
        opens = frozenset({event_by_name("openat", ">").code, event_by_name("openat", "<").code})
        seen = wrapped = 0
        for _ in range(RUNS):
            subprocess.run(["sh", "-c", WORKLOAD], check=True)
            for ring in src._rings:
                both(src, ring, 5, None)
                both(src, ring, BUDGET, opens)
                start = ring.pending
                end = both(src, ring, BUDGET, None)
                seen += end > start
                wrapped += (start & ring.mask) > (end & ring.mask)
                ring.pending = end
                ring.release()
        assert seen >= RUNS  # every run put records into some ring
        assert wrapped > 0  # some walk crossed the end of a ring
    finally:
        src.close()
