"""Ruleset: compile, exceptions, the evt.type index, selection, and the engine over a capture."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentry.capture.scapmeta import MachineInfo, ThreadEntry
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.errors import SentryError
from sentry.inspect.inspector import Inspector
from sentry.outputs.format import OutputFormat
from sentry.pipeline import Pipeline, PipelineOptions, needed_event_types
from sentry.rules.alert import Alert
from sentry.rules.definitions import Priority, Severity
from sentry.rules.loader import RulesLoader
from sentry.rules.ruleset import Ruleset, Selection, compile_rules
from sentry.rules.typeindex import event_numbers

T0 = 1_600_000_000_000_000_000
O_RDONLY = 1


def compile_text(text: str) -> tuple[Ruleset, RulesLoader]:
    loader = RulesLoader()
    loader.load_text(text, "t.yaml")
    ruleset = compile_rules(loader.defs, output_compiler=lambda out, _src: OutputFormat(out))
    return ruleset, loader


def errors(loader: RulesLoader) -> list[str]:
    return [str(p) for p in loader.defs.errors]


def warnings(loader: RulesLoader) -> list[str]:
    return [str(p) for p in loader.defs.warnings]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bash (50) runs cat (100): cat opens /dev/null and /etc/passwd, reads, madvises."""
    path = tmp_path_factory.mktemp("cap") / "cat.scap"
    threads = [
        ThreadEntry(
            tid=50,
            pid=50,
            ptid=1,
            comm="bash",
            exe="bash",
            exepath="/bin/bash",
            args=[],
            cwd="/root/",
        ),
        ThreadEntry(
            tid=100,
            pid=100,
            ptid=50,
            comm="cat",
            exe="cat",
            exepath="/bin/cat",
            args=["/dev/null"],
            cwd="/root/",
        ),
    ]
    with ScapWriter(path, machine=MachineInfo(num_cpus=1, hostname="t"), threads=threads) as w:
        ts = T0
        for fd, name in ((3, "/dev/null"), (4, "/etc/passwd")):
            w.write_event("open>", name, O_RDONLY, 0, ts=ts, tid=100)
            w.write_event("open<", fd, name, O_RDONLY, 0, 0, ts=ts + 10, tid=100)
            ts += 1000
        w.write_event("read>", 3, 10, ts=ts, tid=100)
        w.write_event("read<", 0, b"", ts=ts + 10, tid=100)
        from sentry.events.syscalls import PPM_SC_BY_NAME

        w.write_event("syscall>", PPM_SC_BY_NAME["madvise"], 28, ts=ts + 20, tid=100)
        w.write_event("syscall<", PPM_SC_BY_NAME["madvise"], ts=ts + 30, tid=100)
    return path


def run(ruleset: Ruleset, capture: Path, all_events: bool = False) -> list[Alert]:
    alerts: list[Alert] = []
    reader = ScapReader(capture)
    inspector = Inspector.from_capture(reader)
    pipeline = Pipeline(
        ruleset, alerts.append, PipelineOptions(all_events=all_events, hostname="h")
    )
    pipeline.run(reader, inspector)
    return alerts


RULES = """\
- list: cat_binaries
  items: [cat]
- list: readers
  items: [cat_binaries, less]
- macro: opened
  condition: evt.type=open and evt.dir=<
- rule: open by reader
  desc: d
  condition: opened and proc.name in (readers)
  output: "%proc.name opened %fd.name (parent=%proc.pname)"
  priority: warning
  tags: [files, a]
  exceptions:
    - name: allowed
      fields: [proc.name, fd.name]
      values:
        - [cat, /etc/passwd]
"""


def test_lists_macros_and_exceptions_come_together(capture: Path) -> None:
    ruleset, loader = compile_text(RULES)
    assert loader.defs.problems == []
    alerts = run(ruleset, capture)
    assert [a.message for a in alerts] == ["cat opened /dev/null (parent=bash)"]
    alert = alerts[0]
    assert alert.rule == "open by reader" and alert.priority is Priority.WARNING
    assert alert.output_fields["fd.name"] == "/dev/null"
    assert alert.output_fields["evt.time"] == alert.time_ns
    assert alert.tags == ["files", "a"]


def test_index_holds_rules_only_under_their_event_types() -> None:
    ruleset, _ = compile_text(RULES)
    (rule,) = ruleset.rules
    assert rule.evttypes == frozenset({"open"})
    opens = set(event_numbers("open"))
    assert {n for n, rules in enumerate(ruleset.for_type) if rules} == opens
    inspector_types = {1, 2, 3}

    class FakeInspector:
        sees_every_enter = False  # as the Python inspector: every enter is read

        def handled_types(self) -> set[int]:
            return inspector_types

    assert needed_event_types(ruleset, FakeInspector()) == frozenset(opens | inspector_types)


def test_rule_without_evttype_warns_and_runs_everywhere(capture: Path) -> None:
    ruleset, loader = compile_text("""\
- rule: anything by cat
  desc: d
  condition: proc.name=cat and not evt.type in (read, madvise)
  output: "%evt.type"
  priority: info
- rule: quiet catch-all
  desc: d
  condition: proc.name=nobody
  output: x
  priority: info
  warn_evttypes: false
""")
    (warning,) = warnings(loader)
    assert "t.yaml:1: warning: rule 'anything by cat': matches too many evt.type" in warning
    assert all(ruleset.for_type[n] for n in event_numbers("open"))
    # both halves of both opens; read/madvise are excluded by the condition itself
    assert [a.message for a in run(ruleset, capture)] == ["open"] * 4


def test_evt_type_exists_runs_on_every_type(capture: Path) -> None:
    """``evt.type exists`` names no type: the rule runs everywhere (it was indexed under none)."""
    ruleset, loader = compile_text("""\
- rule: cat opens
  desc: d
  condition: evt.type exists and proc.name=cat and fd.name=/dev/null and evt.dir=<
  output: "%evt.type"
  priority: info
""")
    assert "matches too many evt.type" in warnings(loader)[0]
    assert [a.message for a in run(ruleset, capture)] == ["open"]


def test_simple_consumer_events_need_all_events(capture: Path) -> None:
    text = """\
- rule: reads
  desc: d
  condition: evt.type in (read, madvise) and evt.dir=<
  output: "%evt.type"
  priority: info
"""
    ruleset, _ = compile_text(text)
    assert run(ruleset, capture) == []
    assert [a.message for a in run(ruleset, capture, all_events=True)] == ["read", "madvise"]


def test_first_matching_rule_wins(capture: Path) -> None:
    ruleset, _ = compile_text("""\
- rule: specific
  desc: d
  condition: evt.type=open and evt.dir=< and fd.name=/dev/null
  output: s
  priority: info
- rule: general
  desc: d
  condition: evt.type=open and evt.dir=<
  output: g
  priority: info
""")
    assert [a.rule for a in run(ruleset, capture)] == ["specific", "general"]


SELECTABLE = """\
- rule: open_a
  desc: d
  condition: evt.type=open
  output: o
  priority: error
  tags: [a]
- rule: open_b
  desc: d
  condition: evt.type=open
  output: o
  priority: notice
  tags: [b]
- rule: open_off
  desc: d
  condition: evt.type=open
  output: o
  priority: error
  enabled: false
"""


def test_selection_by_substring_tags_and_priority() -> None:
    ruleset, _ = compile_text(SELECTABLE)

    def names(sel: Selection) -> list[str]:
        return [r.name for r in ruleset.select(sel).rules]

    assert names(Selection()) == ["open_a", "open_b"]
    assert names(Selection(disabled_substrings=("_a",))) == ["open_b"]
    assert names(Selection(disabled_tags=("b",))) == ["open_a"]
    assert names(Selection(enabled_tags=("b",))) == ["open_b"]
    assert names(Selection(min_priority=Priority.WARNING)) == ["open_a"]
    assert names(Selection(sources=frozenset({"k8s_audit"}))) == []
    with pytest.raises(SentryError, match="-D/-T"):
        ruleset.select(Selection(disabled_tags=("a",), enabled_tags=("b",)))


def test_compile_problems_are_located_and_collected() -> None:
    _, loader = compile_text("""\
- macro: unused_but_broken
  condition: evt.type=open and no_such_macro
- rule: bad syntax
  desc: d
  condition: evt.type=open and (
  output: o
  priority: info
- rule: bad field
  desc: d
  condition: evt.type=open and proc.nobody=1
  output: o
  priority: info
- rule: skipped field
  desc: d
  condition: evt.type=open and proc.nobody=1
  output: o
  priority: info
  skip-if-unknown-filter: true
- rule: bad output
  desc: d
  condition: evt.type=open
  output: "%not_a_field here"
  priority: info
- rule: bad evttype
  desc: d
  condition: evt.type=opn
  output: o
  priority: info
""")
    got = errors(loader)
    assert "t.yaml:1: macro 'unused_but_broken': undefined macro 'no_such_macro'" in got
    assert any(m.startswith("t.yaml:3: rule 'bad syntax': condition does not parse") for m in got)
    assert any(
        m.startswith("t.yaml:8: rule 'bad field': condition uses unknown field 'proc.nobody'")
        for m in got
    )
    assert any("t.yaml:19: rule 'bad output': output: invalid output format" in m for m in got)
    assert any("rule 'bad evttype': unknown event type 'opn'" in m for m in got)
    assert len(got) == 5
    (warning,) = loader.defs.warnings
    assert warning.severity is Severity.WARNING and "rule 'skipped field'" in str(warning)


def test_exception_problems() -> None:
    _, loader = compile_text("""\
- rule: r
  desc: d
  condition: evt.type=open
  output: o
  priority: info
  exceptions:
    - name: e1
      fields: [proc.name, not.exist]
- rule: s
  desc: d
  condition: evt.type=open
  output: o
  priority: info
  exceptions:
    - name: e2
      fields: [proc.name]
      comps: [no-comp]
""")
    got = errors(loader)
    assert any("rule 'r': exception 'e1': unknown field 'not.exist'" in m for m in got)
    assert any("rule 's': exception 'e2': unknown comparison operator 'no-comp'" in m for m in got)


def test_list_name_as_single_value_is_expanded(capture: Path) -> None:
    ruleset, loader = compile_text("""\
- list: cat_binaries
  items: [cat]
- rule: r
  desc: d
  condition: evt.type=open and evt.dir=< and proc.name=cat_binaries
  output: "%fd.name"
  priority: info
""")
    assert loader.defs.problems == []
    assert [a.message for a in run(ruleset, capture)] == ["/dev/null", "/etc/passwd"]


def test_guarded_rules_are_indexed_narrower_and_still_match(capture: Path) -> None:
    ruleset, _ = compile_text("""\
- rule: not first
  desc: d
  condition: proc.name!=nobody and evt.type=open and evt.dir=<
  output: "%fd.name"
  priority: info
""")
    (rule,) = ruleset.rules
    assert rule.evttypes is None  # Falco's view: a != comes before the evt.type test
    assert rule.index_types == frozenset({"open"})
    assert [a.message for a in run(ruleset, capture)] == ["/dev/null", "/etc/passwd"]


def test_state_only_events_update_state_but_match_no_rule(tmp_path: Path) -> None:
    """``sentry capture`` flags the events it keeps only for state (sysdig's fatfile mode):
    the inspector learns fd 3 from the flagged open, but no rule fires on the open itself."""
    path = tmp_path / "fat.scap"
    threads = [
        ThreadEntry(
            tid=100, pid=100, ptid=1, comm="cat", exe="cat", exepath="/bin/cat", args=[], cwd="/"
        )
    ]
    with ScapWriter(path, machine=MachineInfo(num_cpus=1, hostname="t"), threads=threads) as w:
        w.write_event("open>", "/etc/shadow", O_RDONLY, 0, ts=T0, tid=100)
        opened = w.write_event("open<", 3, "/etc/shadow", O_RDONLY, 0, 0, ts=T0 + 10, tid=100)
        w.write_record(opened, state_only=True)  # the same open again, state only
        w.write_event("close>", 3, ts=T0 + 20, tid=100)
    ruleset, _ = compile_text("""\
- rule: shadow touched
  desc: d
  condition: evt.type=close and evt.dir=> and fd.name=/etc/shadow
  output: "%evt.type %fd.name"
  priority: info
- rule: shadow opened
  desc: d
  condition: evt.type=open and evt.dir=< and fd.name=/etc/shadow
  output: "%evt.num"
  priority: info
""")
    alerts = run(ruleset, path, all_events=True)  # -A: close is dropped for simple consumers
    assert [a.message for a in alerts] == ["2", "close /etc/shadow"]
