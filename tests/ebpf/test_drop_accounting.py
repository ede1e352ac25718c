"""Drop accounting of live runs: filtered or truncated events are not drops, lost ones are.

A syscall whose user memory the probe cannot read is still written (with that parameter
empty) and counted in ``drops_page_fault``; it must not be counted in ``drops`` too, or a
quiet host reports drops and ``generated == received + drops`` breaks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentry.capture.source import CaptureStats
from sentry.service.drops import DropMonitor, DropReport

pytestmark = pytest.mark.root

OPENAT = 257
SECOND = 1_000_000_000
# openat(AT_FDCWD, <unmapped address>, O_RDONLY): EFAULT, and a path the probe cannot read.
FAULTING_OPENS = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
bad = ctypes.c_void_p(1)
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[1])):
    libc.syscall(257, -100, bad, 0)
"""


def drain(src: object, batches: object, pids: set[int] | None = None) -> int:
    """Events read until the rings are empty (from these pids, when given)."""
    received = 0
    for batch in batches:  # type: ignore[attr-defined]
        if not batch:
            return received
        received += len(batch) if pids is None else sum(1 for ev in batch if ev.tid in pids)
    return received


def faulting_opens(calls: int, ring_bytes: int) -> tuple[int, CaptureStats, CaptureStats]:
    """calls unreadable openat()s in a child, read without draining; (received, before, after)."""
    from sentry.capture.ebpf import EbpfSource

    src = EbpfSource(target_tgid=os.getpid(), ring_bytes=ring_bytes, interest=set())
    try:
        batches = src.batches()
        next(batches)
        proc = subprocess.Popen(
            [sys.executable, "-c", FAULTING_OPENS, str(calls)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        src.set_interest({OPENAT})  # only the storm's opens, none of the interpreter's start
        before = src.stats()
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        assert proc.wait(timeout=120) == 0
        received = drain(src, batches, {proc.pid})
        after = src.stats()
    finally:
        src.close()
    return received, before, after


def test_quiet_run_with_the_default_rules_reports_no_drops() -> None:
    """Ordinary commands (and a truncated path) under the default rules' interest set."""
    from sentry.capture.ebpf import EbpfSource
    from sentry.cli.run import default_rules, load_checked
    from sentry.inspect.inspector import Inspector
    from sentry.pipeline import live_interest
    from sentry.rules.ruleset import Selection

    interest = live_interest(load_checked(default_rules(), Selection()), Inspector())
    assert interest and OPENAT in interest
    reports: list[DropReport] = []
    src = EbpfSource(target_tgid=os.getpid(), interest=interest)
    try:
        monitor = DropMonitor(
            actions=["alert"],
            threshold=0.0,
            rate=1.0,
            max_burst=10,
            simulate=False,
            stats=src.stats,
            alert=reports.append,
        )
        batches = src.batches()
        next(batches)
        before = src.stats()
        monitor.check(SECOND)  # starts the monitor's clock
        for argv in (
            ["cat", "/etc/hostname"],
            ["ls", "/"],
            ["sh", "-c", "echo x > /dev/null"],
            [sys.executable, "-c", FAULTING_OPENS, "3"],
        ):
            done = subprocess.run(argv, input=b"go\n", capture_output=True, check=False)
            assert done.returncode == 0, done.stderr
        received = drain(src, batches)
        after = src.stats()
        monitor.check(3 * SECOND)  # a second of event time later: looks at the counters
    finally:
        src.close()
    assert after.drops_page_fault - before.drops_page_fault >= 6  # counted, not silent
    assert after.drops == 0
    assert received == after.events - before.events > 0
    assert (monitor.detected, reports) == (0, [])


def test_truncated_events_are_received_not_dropped() -> None:
    calls = 500
    received, before, after = faulting_opens(calls, 8 << 20)
    assert after.drops - before.drops == 0
    assert after.drops_page_fault - before.drops_page_fault == 2 * calls  # enter and exit
    assert received == after.events - before.events == 2 * calls + 1  # and procexit


def test_overload_of_truncated_events_counts_only_real_drops() -> None:
    calls = 100_000
    received, before, after = faulting_opens(calls, 1 << 16)
    drops = after.drops - before.drops
    assert drops > 0 and after.drops_buffer - before.drops_buffer == drops
    assert received == after.events - before.events
    assert received + drops == 2 * calls + 1  # generated == received + counted drops


def test_interest_set_filtered_events_are_suppressed_not_dropped(tmp_path: Path) -> None:
    """Syscalls outside the interest set are counted as suppressed only."""
    from sentry.capture.ebpf import EbpfSource

    src = EbpfSource(target_tgid=os.getpid(), interest=set())
    try:
        batches = src.batches()
        next(batches)
        before = src.stats()
        target = tmp_path / "f"
        subprocess.run(
            ["sh", "-c", f"for i in 1 2 3 4 5; do cat /etc/hostname > {target}; done"], check=True
        )
        received = drain(src, batches)
        after = src.stats()
    finally:
        src.close()
    assert after.suppressed - before.suppressed > 0
    assert after.drops == before.drops == 0
    # only process exits pass an empty interest set
    assert received == after.events - before.events
