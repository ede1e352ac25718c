"""Per-rule cost (``--rule-stats``): on a replay the rules' CPU adds up to the engine's
evaluation time, alerts are the same as without measuring, and the CLI prints the table."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sentry.capture.scapreader import ScapReader
from sentry.cli.run import default_rules, output_compiler
from sentry.inspect.inspector import Inspector
from sentry.pipeline import Pipeline, PipelineOptions, load_ruleset, needed_event_types
from sentry.rules.rulestats import attach

REPO = Path(__file__).resolve().parents[3]
SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]


# Beside the default rules (which find nothing wrong in the benchmark traces), two that
# match often, so matches and alerts are measured too.
BUSY = """\
- rule: Reads below etc
  desc: d
  condition: evt.type in (open, openat) and evt.dir=< and fd.name startswith /etc
  output: "%proc.name %fd.name"
  priority: notice
- rule: Any close by a shell
  desc: d
  condition: evt.type=close and proc.name in (bash, sh, cat)
  output: "%proc.name"
  priority: debug
"""


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    path = tmp_path_factory.mktemp("busy") / "busy.yaml"
    path.write_text(BUSY)
    return [*default_rules(), path]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(REPO / "bench"))
    from replay import build  # the benchmarks' capture: real traces, repeated

    path = tmp_path_factory.mktemp("cost") / "replay.scap"
    build(path, 60_000)
    return path


def _replay(capture: Path, rules: list[Path], measure: bool) -> tuple[list[Any], Any, float, float]:
    ruleset, defs = load_ruleset(rules, output_compiler=output_compiler())
    assert not defs.errors
    alerts: list[tuple[str, int]] = []
    engine = Pipeline(
        ruleset, lambda a: alerts.append((a.rule, a.time_ns)), PipelineOptions(hostname="t")
    )
    stats = attach(engine, on_signal=False) if measure else None
    reader = ScapReader(capture)
    inspector = Inspector.from_capture(reader)
    reader.event_types = needed_event_types(ruleset, inspector)
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    engine.run(reader, inspector)
    cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
    reader.close()
    return alerts, stats, cpu, wall


def test_rule_cpu_adds_up_to_the_engines_time_on_a_replay(capture: Path, busy) -> None:
    plain, _, _, _ = _replay(capture, busy, measure=False)
    alerts, stats, cpu, wall = _replay(capture, busy, measure=True)
    assert alerts == plain and alerts  # measuring changes nothing the rules decide
    rows = stats.rows()
    per_rule = sum(ns for _, _, _, ns in rows) / 1e9
    engine = stats.total[1] / 1e9  # first to last clock read of each evaluated event
    assert engine > 0 and abs(per_rule - engine) <= 0.10 * engine, (per_rule, engine)
    # The rules' time is part of the run: below its wall time. (It is the evaluating
    # thread's elapsed time, so on a loaded machine it can exceed the thread's CPU time.)
    assert 0 < per_rule < wall, (per_rule, cpu, wall)
    assert sum(m for _, _, m, _ in rows) == len(alerts)
    fired = {r for r, _ in alerts}
    assert all(rows_m > 0 for name, _, rows_m, _ in rows if name in fired)


def test_sentry_run_rule_stats_prints_the_ten_most_expensive(capture: Path, busy) -> None:
    rules = [a for p in busy for a in ("-r", str(p))]
    done = subprocess.run(
        [*SENTRY, "run", "--rule-stats", *rules, "-e", str(capture)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("Rule cost: "))
    m = re.match(r"Rule cost: (\d+) rules, (\d+) events evaluated in ([\d.]+) s", lines[head])
    assert m and int(m[1]) >= 10 and int(m[2]) > 1000
    rows = [re.split(r"\s+", line.strip(), maxsplit=5) for line in lines[head + 2 : head + 12]]
    assert len(rows) == 10
    seconds = [float(r[0]) for r in rows]
    assert seconds == sorted(seconds, reverse=True) and seconds[0] > 0
    assert all(int(r[2]) > 0 for r in rows)  # each listed rule was evaluated
    matched = {r[5]: int(r[3]) for r in rows}
    assert matched.get("Reads below etc", 1) > 0
    # Without the flag, no table (and nothing measured).
    plain = subprocess.run(
        [*SENTRY, "run", *rules, "-e", str(capture)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "Rule cost" not in plain.stderr and plain.stdout == done.stdout
