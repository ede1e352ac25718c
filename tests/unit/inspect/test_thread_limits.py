"""The thread table's bounds (Falco's ``falco_libs.thread_table_*`` keys): the cap counts
what it refuses, the purge follows its interval and timeout, the keys reach the inspector."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_story import write_story

from sentry.capture.scapreader import ScapReader
from sentry.errors import ConfigError
from sentry.inspect.inspector import Inspector
from sentry.inspect.threads import DEFAULT_TABLE_SIZE, ThreadLimits, ThreadTable
from sentry.server.metrics import MetricsSnapshot, falco_named
from sentry.service.config import load_config, parse_override

NS = 10**9
SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_story(tmp_path_factory.mktemp("story") / "story.scap")


def replay(path: Path, limits: ThreadLimits | None) -> tuple[Inspector, list]:
    reader = ScapReader(path)
    inspector = Inspector.from_capture(reader, limits)
    seen = []
    for ev in reader:
        inspector.process(ev)
        assert len(inspector.threads) <= inspector.threads.max_size
        seen.append((ev.tid, ev.thread))
    return inspector, seen


def test_a_full_table_keeps_its_size_counts_each_refusal_and_events_keep_a_thread(
    story: Path,
) -> None:
    roomy, _ = replay(story, None)
    assert roomy.threads.drops_full == 0 and len(roomy.threads) == 4  # 2 listed, 2 born
    tight, seen = replay(story, ThreadLimits(table_size=2))
    assert len(tight.threads) == 2 and {t.tid for t in tight.threads} == {1, 100}
    untracked = [(tid, th) for tid, th in seen if tid not in (1, 100)]
    assert untracked, "the story has events of threads born during the capture"
    # Every event of an untracked thread still has one (its own tid), and each such
    # event's refused insertion is counted, as libs counts n_drops_full_threadtable.
    assert all(th is not None and th.tid == tid for tid, th in untracked)
    assert tight.threads.drops_full >= len({tid for tid, _ in untracked})


def test_the_table_refuses_only_new_tids_when_full() -> None:
    table = ThreadTable(max_size=2)
    a, b = table.new(1), table.new(2)
    assert table.new(3) is not None and table.get(3) is None and table.drops_full == 1
    again = table.new(2)  # a replacement of a tid it holds is not a new entry
    assert table.get(2) is again and again is not b and table.drops_full == 1
    table.remove(1)
    assert table.add(table.new(3)) and table.get(3) is not None and table.get(1) is None
    assert a.tid == 1
    with pytest.raises(ValueError):
        ThreadTable(max_size=0)


def test_purge_runs_once_per_interval_of_event_time_with_the_timeout() -> None:
    inspector = Inspector(limits=ThreadLimits(purge_interval_s=10, thread_timeout_s=5))
    inspector.proc_root = "/proc"
    ghost = inspector.threads.new(2**22 + 11)  # no such thread: its exit was "lost"
    ghost.last_ts = 1 * NS
    me = inspector.threads.new(os.getpid())
    me.last_ts = 1 * NS

    class Ev:
        def __init__(self, ts: int) -> None:
            self.ts, self.type, self.tid = ts, 1, os.getpid()  # generic syscall exit

    inspector.process(Ev(2 * NS))  # first event: sets the first deadline (12 s)
    inspector.process(Ev(11 * NS))
    assert inspector.threads.get(ghost.tid) is ghost and inspector.purged == 0
    inspector.process(Ev(13 * NS))  # the scan: ghost idle 12 s > 5 s and not in /proc
    assert inspector.threads.get(ghost.tid) is None and inspector.purged == 1
    assert inspector.threads.get(me.tid) is me  # alive: kept however idle
    late = inspector.threads.new(2**22 + 13)
    late.last_ts = 14 * NS
    inspector.process(Ev(20 * NS))  # before the next deadline (23 s): no scan
    assert inspector.threads.get(late.tid) is late
    inspector.process(Ev(24 * NS))  # scan: idle 10 s
    assert inspector.threads.get(late.tid) is None and inspector.purged == 2


def test_replays_never_purge() -> None:
    inspector = Inspector(limits=ThreadLimits(purge_interval_s=1, thread_timeout_s=0))
    ghost = inspector.threads.new(2**22 + 17)
    assert inspector.proc_root is None and inspector.purge_gone(10**12) == 0
    assert inspector.threads.get(ghost.tid) is ghost


def test_config_keys_have_falcos_names_defaults_and_checks(tmp_path: Path) -> None:
    cfg = load_config(None)
    assert ThreadLimits.from_config(cfg) == ThreadLimits() == ThreadLimits(262144, 300, 300)
    assert DEFAULT_TABLE_SIZE == 262144
    conf = tmp_path / "sentry.yaml"
    conf.write_text(
        "falco_libs:\n  thread_table_size: 5000\n"
        "  thread_table_auto_purging_interval_s: 60\n"
        "  thread_table_auto_purging_thread_timeout_s: 0\n  snaplen: 80\n"
    )
    cfg = load_config(conf)
    assert ThreadLimits.from_config(cfg) == ThreadLimits(5000, 60, 0)
    for bad in ("thread_table_size=0", "thread_table_auto_purging_interval_s=-1"):
        with pytest.raises(ConfigError, match=r"falco_libs\.thread_table"):
            load_config(None, [parse_override(f"falco_libs.{bad}")])


def test_metrics_carry_the_table_counters() -> None:
    names = {
        m.name: m.samples[0].value
        for m in falco_named(MetricsSnapshot(threads=7, threads_dropped_full=3, threads_purged=2))
        if m.samples
    }
    assert names["sentry_n_threads"] == 7
    assert names["sentry_n_drops_full_threadtable"] == 3
    assert names["sentry_threads_purged"] == 2
    assert "sentry_n_threads" not in {m.name for m in falco_named(MetricsSnapshot())}


def test_run_stats_report_threads_not_tracked(story: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- rule: any open\n  desc: d\n  condition: evt.type = openat\n"
        "  output: open %fd.name\n  priority: NOTICE\n"
    )
    cmd = [*SENTRY, "run", "-r", str(rules), "-e", str(story), "--stats"]
    tight = subprocess.run(
        [*cmd, "-o", "falco_libs.thread_table_size=2"], capture_output=True, text=True
    )
    assert tight.returncode == 0, tight.stderr
    assert "Threads not tracked (thread table full): " in tight.stderr
    roomy = subprocess.run(cmd, capture_output=True, text=True)
    assert roomy.returncode == 0 and "Threads not tracked" not in roomy.stderr
