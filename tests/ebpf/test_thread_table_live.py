"""The thread table's bounds live through the eBPF probe (Falco's ``falco_libs`` keys).

Real threads and processes, real clone/exit events, the real /proc: a process of 200
threads against a table of 40 entries (the table stays at 40, every refusal is counted, the
events of untracked threads still reach the rules with a thread); a process whose exit the
capture never saw (it died between the /proc scan and the probe's start) purged after the
configured interval and timeout while a live idle one stays; and ``sentry run`` with a tiny
``thread_table_size`` reporting the refusals on ``/metrics``.

The probe captures only this test's process tree (``target_tgid``), so other tests running
on the host change nothing here; the daemon test reads counters that do not depend on them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sentry_daemon import SentryDaemon

# Sentry's userspace over the live probe: the kernel matrix in qemu does not repeat it.
pytestmark = [pytest.mark.root, pytest.mark.userspace]

THREADS = """
import sys, threading
gate = threading.Event()
for _ in range(int(sys.argv[1]) - 1):  # the main thread is one of them
    threading.Thread(target=gate.wait, daemon=True).start()
print("ready", flush=True)
sys.stdin.readline()
"""


@pytest.fixture(autouse=True)
def _need_ebpf() -> None:
    from needs import need_ebpf

    need_ebpf()


def probe() -> Any:
    from sentry.capture.ebpf import EbpfSource
    from sentry.cli.run import default_rules, load_checked
    from sentry.inspect.inspector import Inspector
    from sentry.pipeline import live_interest
    from sentry.rules.ruleset import Selection

    # The interest set sentry run pushes with the default rules (clone, exit, open ...).
    interest = live_interest(load_checked(default_rules(), Selection()), Inspector())
    return EbpfSource(target_tgid=os.getpid(), interest=interest)


def drain(batches: Iterator[list[Any]], inspector: Any, seen: list[tuple]) -> None:
    """Feed the inspector until the rings are empty; what each event said and got, as
    (tid, event name, exit?, clone result or None, its thread's tid or None): an event's
    memory is the ring's, released with the next batch."""
    for batch in batches:
        if not batch:
            return
        for ev in batch:
            inspector.process(ev)
            name, is_exit = ev.info.name, bool(ev.type & 1)
            res = ev.param_by_name("res") if is_exit and name in ("clone", "clone3") else None
            th = ev.thread
            seen.append((ev.tid, name, is_exit, res, None if th is None else th.tid))


def test_a_full_table_stays_full_and_counts_every_thread_it_refuses() -> None:
    from sentry.inspect.inspector import Inspector
    from sentry.inspect.threads import ThreadLimits

    cap, threads = 40, 200
    inspector = Inspector(limits=ThreadLimits(table_size=cap))
    src = probe()
    seen: list[tuple] = []
    try:
        batches = src.batches()
        next(batches)
        proc = subprocess.Popen(
            [sys.executable, "-c", THREADS, str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline() == "ready\n"
        drain(batches, inspector, seen)
        stats = src.stats()
        proc.stdin.close()
        proc.wait(30)
    finally:
        src.close()
    assert stats.drops == 0, f"the probe dropped {stats.drops} events: the test cannot judge"
    table = inspector.threads
    born = {res for tid, _name, _x, res, _th in seen if tid == proc.pid} - {0, None}
    assert len(born) >= threads - 1, f"{len(born)} of the child's thread clones seen"
    assert len(table) == cap  # full, and never above
    refused = born - {th.tid for th in table}
    assert len(refused) >= threads - cap
    assert table.drops_full >= len(refused)  # each one counted (one per refused insertion)
    # Their events still carry a thread (detached, their own tid) for the rules.
    theirs = [(tid, th) for tid, _name, _x, _res, th in seen if tid in refused]
    assert theirs and all(th == tid for tid, th in theirs)


def test_a_process_whose_exit_was_never_seen_is_purged_and_a_live_one_kept() -> None:
    from sentry.inspect.inspector import Inspector
    from sentry.inspect.procfs import load_threads
    from sentry.inspect.threads import ThreadLimits

    inspector = Inspector(limits=ThreadLimits(purge_interval_s=1, thread_timeout_s=1))
    lost = subprocess.Popen(["sleep", "300"])
    idle = subprocess.Popen(["sleep", "300"])
    try:
        load_threads(inspector.threads, Path("/proc"))  # as from_host does
        inspector.proc_root = "/proc"
        assert inspector.threads.get(lost.pid) and inspector.threads.get(idle.pid)
        lost.kill()
        lost.wait()  # gone before the probe starts: its exit is never captured
        src = probe()
        seen: list[tuple] = []
        try:
            batches = src.batches()
            next(batches)
            deadline = time.monotonic() + 30
            while inspector.purged == 0 and time.monotonic() < deadline:
                subprocess.run(["cat", "/etc/hostname"], check=True, capture_output=True)
                drain(batches, inspector, seen)
                time.sleep(0.2)
        finally:
            src.close()
        assert seen, "the probe delivered none of this test's events"
        assert inspector.purged >= 1, "no purge ran in 30 s of events (interval 1 s)"
        assert inspector.threads.get(lost.pid) is None
        assert inspector.threads.get(idle.pid) is not None  # alive: kept however idle
        assert inspector.threads.get(os.getpid()) is not None
    finally:
        for p in (lost, idle):
            p.kill()
            p.wait()


def test_sentry_run_reports_the_refusals_of_a_tiny_table(tmp_path: Path) -> None:
    config = tmp_path / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
        "falco_libs:\n  thread_table_size: 16\n"
    )
    # The host's /proc alone holds more than 16 threads: the table fills at start-up.
    assert len(os.listdir("/proc")) > 16
    daemon = SentryDaemon(["-c", str(config), "--driver", "ebpf"], start_timeout=120)
    try:
        subprocess.run(["sh", "-c", "true & true & wait"], check=True)
        deadline = time.monotonic() + 60
        got: dict[str, float] = {}
        while time.monotonic() < deadline:
            status, body = daemon.request("/metrics")
            assert status == 200
            got = {
                s.name: s.value
                for fam in text_string_to_metric_families(body.decode())
                for s in fam.samples
                if s.name.startswith(("sentry_n_threads", "sentry_n_drops_full_threadtable"))
            }
            if got.get("sentry_n_drops_full_threadtable_total", 0) > 0:
                break
            time.sleep(0.5)
    finally:
        code, _ = daemon.stop()
    assert got.get("sentry_n_threads") == 16, got
    assert got.get("sentry_n_drops_full_threadtable_total", 0) > 0, got
    assert code == 0
    assert any("threads not tracked: the thread table was full" in line for line in daemon.stderr)
