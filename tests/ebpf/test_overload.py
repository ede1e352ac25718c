"""A storm larger than the ring: every event the probe generated is received or counted."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.root

GETPPID = 110
STORM = """
import os, sys
sys.stdin.readline()
for _ in range(int(sys.argv[1])):
    os.getppid()
"""


def storm(calls: int, ring_bytes: int) -> tuple[int, int, int]:
    """Run calls getppid() in a child without draining; (received, stats events, drops)."""
    from sentry.capture.ebpf import EbpfSource

    src = EbpfSource(target_tgid=os.getpid(), ring_bytes=ring_bytes, interest={GETPPID})
    try:
        before = src.stats()
        batches = src.batches()
        next(batches)
        proc = subprocess.Popen([sys.executable, "-c", STORM, str(calls)], stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        assert proc.wait(timeout=120) == 0
        received = 0
        for batch in batches:
            if not batch:
                break  # the child is gone and the rings are empty
            received += sum(1 for ev in batch if ev.tid == proc.pid)
        after = src.stats()
    finally:
        src.close()
    return received, after.events - before.events, after.drops - before.drops


def test_no_drops_when_the_ring_holds_everything() -> None:
    calls = 2000
    received, written, drops = storm(calls, 8 << 20)
    assert drops == 0
    assert received == written == 2 * calls + 1  # enter + exit per call, then procexit


def test_storm_larger_than_the_ring_counts_every_drop() -> None:
    calls = 100_000
    received, written, drops = storm(calls, 1 << 16)
    assert drops > 0
    assert received == written
    assert received + drops == 2 * calls + 1
