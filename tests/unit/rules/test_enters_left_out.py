"""Enter events a replay's reader leaves out (rules/enters.py): no rule can match them and
no rule reads them through their exit. Sound on real events, kept whenever a rule reads
the enter, and the alerts stay the same."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conformance_data import FALCO_DIR
from sentry.capture.scapreader import ScapReader
from sentry.cli.run import output_compiler
from sentry.events.table import EVENTS
from sentry.inspect.cstate_inspector import CStateInspector
from sentry.inspect.inspector import Inspector
from sentry.pipeline import Pipeline, PipelineOptions, load_ruleset, needed_event_types
from sentry.rules.enters import unneeded_enters
from sentry.rules.ruleset import Ruleset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inspect"))  # the story
from inspect_story import write_story

RULES = Path(__file__).resolve().parents[3] / "rules"
FALCO_RULES = FALCO_DIR / "rules" / "falco_rules.yaml"
TRACES = sorted((FALCO_DIR / "test" / "trace_files").glob("*.scap"))
CODE = {info.name + info.direction: code for code, info in sorted(EVENTS.items())}  # newest


def ruleset_of(paths: list[Path]) -> Ruleset:
    ruleset, defs = load_ruleset(paths, output_compiler=output_compiler(None))
    assert not defs.errors, defs.errors
    return ruleset


def ruleset_text(tmp_path: Path, body: str) -> Ruleset:
    path = tmp_path / "rules.yaml"
    path.write_text("- required_engine_version: 7\n" + body)
    return ruleset_of([path])


@pytest.fixture(scope="module")
def ours() -> Ruleset:
    return ruleset_of([RULES])


@pytest.fixture(scope="module")
def falcos() -> Ruleset:
    if not FALCO_RULES.is_file():
        pytest.skip(f"{FALCO_RULES} absent (SENTRY_CONFORMANCE_DIR)")
    return ruleset_of([FALCO_RULES])


def test_our_rules_leave_out_the_open_enters(ours: Ruleset) -> None:
    left_out = unneeded_enters(ours)
    assert ours.evaluates_enter  # engine version 7: enters are indexed and evaluated
    assert {CODE["open>"], CODE["openat>"]} <= left_out
    assert all(EVENTS[c].direction == ">" for c in left_out)
    # "Packet Socket Opened" is written for the socket enter (evt.dir = >): kept.
    assert CODE["socket>"] not in left_out and ours.for_type[CODE["socket>"]]
    # The C tracker reads the capture itself: the replay's reader takes no open enter.
    assert CODE["open>"] not in (needed_event_types(ours, CStateInspector()) or ())
    # The Python reference sees only what is read: its threads' last enter would go stale,
    # so it reads every enter, also those it keeps no state from (unlinkat, mkdirat).
    python_types = needed_event_types(ours, Inspector()) or ()
    quiet = {CODE["unlinkat>"], CODE["mkdirat>"]}
    assert quiet <= left_out and not quiet & set(Inspector().handled_types())
    assert {CODE["open>"], *quiet} <= set(python_types)


def test_a_rule_that_matches_or_reads_an_enter_keeps_it(tmp_path: Path) -> None:
    exit_only = (
        "- rule: r\n  desc: d\n  priority: WARNING\n"
        "  condition: evt.type = connect and evt.dir = < and fd.sport = 1\n  output: {out}\n"
    )
    connect_e = CODE["connect>"]
    assert connect_e in unneeded_enters(ruleset_text(tmp_path, exit_only.format(out="x %fd.name")))
    # The exit's evt.arg.addr is the enter's (the exit has no addr): condition or output.
    for out in ("x %evt.arg.addr", "x %evt.latency", "x %evt.rawarg.addr"):
        kept = ruleset_text(tmp_path, exit_only.format(out=out))
        assert connect_e not in unneeded_enters(kept), out
    reads = exit_only.replace("fd.sport = 1", "evt.arg.addr contains 10.").format(out="x")
    assert connect_e not in unneeded_enters(ruleset_text(tmp_path, reads))
    # A parameter neither half has reads nothing from the enter.
    neither = exit_only.format(out="x %evt.arg.oldpath")
    assert connect_e in unneeded_enters(ruleset_text(tmp_path, neither))
    # A rule the enter may match (not decided when its program is built) keeps it.
    both = exit_only.replace("evt.dir = < and ", "").format(out="x")
    assert connect_e not in unneeded_enters(ruleset_text(tmp_path, both))
    enter = exit_only.replace("evt.dir = <", "evt.dir = >").format(out="x")
    assert connect_e not in unneeded_enters(ruleset_text(tmp_path, enter))


def _sound(ruleset: Ruleset, path: Path) -> int:
    """Every rule held under a left-out enter, run (its plain matcher, not the generated
    program) on every such enter of the capture with the reference's full state: none
    matches. Returns how many were checked."""
    left_out = unneeded_enters(ruleset)
    reader = ScapReader(path)
    inspector = Inspector.from_capture(reader)
    checked = 0
    for batch in reader.batches():
        for ev in batch:
            inspector.process(ev)
            if ev.type in left_out:
                for rule in ruleset.for_type[ev.type]:
                    assert not rule.filter.match(ev), (rule.name, ev.num, path.name)
                checked += 1
    return checked


@pytest.mark.parametrize("trace", TRACES, ids=[t.stem for t in TRACES])
def test_left_out_enters_never_match_on_falco_traces(
    trace: Path, ours: Ruleset, falcos: Ruleset
) -> None:
    _sound(ours, trace)
    _sound(falcos, trace)


def test_left_out_enters_never_match_on_the_story(tmp_path: Path, ours: Ruleset) -> None:
    assert _sound(ours, write_story(tmp_path / "story.scap")) > 0


def test_same_alerts_with_the_enters_left_out(tmp_path: Path, ours: Ruleset) -> None:
    """The C tracker's replay (enters left out) against the reference (it reads them)."""
    story = write_story(tmp_path / "story.scap")
    runs = []
    for cls in (Inspector, CStateInspector):
        alerts: list[tuple[str, str]] = []
        reader = ScapReader(story)
        pipeline = Pipeline(
            ours,
            lambda a, into=alerts: into.append((a.rule, a.output)),  # type: ignore[attr-defined]
            PipelineOptions(hostname="h", rule_matching="all"),
        )
        stats = pipeline.run(reader, cls.from_capture(reader))
        runs.append((alerts, stats.events))
    (ref, ref_events), (c, c_events) = runs
    assert ref and c == ref
    assert c_events < ref_events
