"""What today's Falco decides after loading: which rules run (config ``rules:``), which
match raises (``rule_matching``, file order with untyped rules), and the alert JSON's keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentry.capture.scapmeta import MachineInfo, ThreadEntry
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.inspect.inspector import Inspector
from sentry.outputs.format import OutputFormat
from sentry.pipeline import Pipeline, PipelineOptions
from sentry.rules.alert import Alert
from sentry.rules.definitions import Priority
from sentry.rules.loader import RulesLoader
from sentry.rules.ruleset import Ruleset, Selection, compile_rules, name_matches

T0 = 1_600_000_000_000_000_000


def compile_text(text: str) -> Ruleset:
    loader = RulesLoader()
    loader.load_text(text, "t.yaml")
    ruleset = compile_rules(loader.defs, output_compiler=lambda out, _src: OutputFormat(out))
    assert loader.defs.errors == []
    return ruleset


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cat (100) opens /etc/passwd once."""
    path = tmp_path_factory.mktemp("cap") / "open.scap"
    threads = [
        ThreadEntry(
            tid=100,
            pid=100,
            ptid=1,
            comm="cat",
            exe="cat",
            exepath="/bin/cat",
            args=["/etc/passwd"],
            cwd="/",
        )
    ]
    with ScapWriter(path, machine=MachineInfo(num_cpus=1, hostname="t"), threads=threads) as w:
        w.write_event("open>", "/etc/passwd", 1, 0, ts=T0, tid=100)
        w.write_event("open<", 3, "/etc/passwd", 1, 0, 0, ts=T0 + 10, tid=100)
    return path


def run(ruleset: Ruleset, capture: Path, matching: str = "first") -> list[str]:
    alerts: list[Alert] = []
    reader = ScapReader(capture)
    pipeline = Pipeline(
        ruleset, alerts.append, PipelineOptions(hostname="h", rule_matching=matching)
    )
    pipeline.run(reader, Inspector.from_capture(reader))
    return [a.rule for a in alerts]


# Three rules that all match the open exit; the middle one names no event type.
RULES = """\
- rule: typed first
  desc: d
  condition: evt.type=open and evt.dir=< and fd.name=/etc/passwd
  output: o
  priority: warning
  tags: [files, first]
- rule: untyped middle
  desc: d
  condition: fd.name=/etc/passwd and evt.dir=<
  output: o
  priority: notice
  warn_evttypes: false
  tags: [middle]
- rule: typed last
  desc: d
  condition: evt.type in (open, openat) and evt.dir=< and proc.name=cat
  output: o
  priority: error
  tags: [files]
"""


def test_first_match_keeps_file_order_with_untyped_rules(capture: Path) -> None:
    ruleset = compile_text(RULES)
    assert run(ruleset, capture) == ["typed first"]
    # without the first, the rule that runs on every event type comes next, before a
    # typed rule defined after it (Falco >= 0.29 keeps one order across both kinds)
    assert run(ruleset.select(Selection(disabled_substrings=("typed first",))), capture) == [
        "untyped middle"
    ]


def test_rule_matching_all_raises_every_match_in_file_order(capture: Path) -> None:
    ruleset = compile_text(RULES)
    assert run(ruleset, capture, "all") == ["typed first", "untyped middle", "typed last"]


@pytest.mark.parametrize(
    ("toggles", "running"),
    [
        ((("disable", "rule", "*"),), []),
        ((("disable", "rule", "*"), ("enable", "tag", "files")), ["typed first", "typed last"]),
        ((("disable", "rule", "typed*"),), ["untyped middle"]),
        (
            (("disable", "tag", "files"), ("enable", "rule", "*last")),
            ["untyped middle", "typed last"],
        ),
        (
            (("enable", "rule", "off by default"),),
            ["typed first", "untyped middle", "typed last", "off by default"],
        ),
    ],
)
def test_config_rules_selection_in_order(
    toggles: tuple[tuple[str, str, str], ...], running: list[str]
) -> None:
    ruleset = compile_text(
        RULES
        + """\
- rule: off by default
  desc: d
  condition: evt.type=close
  output: o
  priority: info
  enabled: false
"""
    )
    assert [r.name for r in ruleset.select(Selection(toggles=toggles)).rules] == running


def test_name_wildcards_are_stars_only() -> None:
    assert name_matches("Read*file*", "Read sensitive file untrusted")
    assert name_matches("*", "")
    assert not name_matches("Read?", "Reads")  # ? and [..] are themselves
    assert name_matches("a[1]", "a[1]") and not name_matches("a[1]", "a1")


def test_alert_json_keys_in_falcos_order() -> None:
    alert = Alert(
        T0,
        "r",
        Priority.WARNING,
        "msg",
        "syscall",
        {"proc.name": "cat", "evt.time": T0},
        "host",
        [],
        False,
    )
    text = alert.to_json()
    assert list(json.loads(text)) == [
        "hostname",
        "output",
        "output_fields",
        "priority",
        "rule",
        "source",
        "tags",
        "time",
    ]
    assert '"tags":[],"time":"2020-09-13T12:26:40.000000000Z"' in text
    assert list(json.loads(text)["output_fields"]) == ["evt.time", "proc.name"]
    tagged = Alert(T0, "r", Priority.WARNING, "msg", tags=["z", "a", "z"])
    assert json.loads(tagged.to_json())["tags"] == ["a", "z"]  # a set, sorted
    some = json.loads(
        alert.to_json(False, include_tags=False, include_message=True, include_output_fields=False)
    )
    assert list(some) == ["hostname", "message", "priority", "rule", "source", "time"]
    assert some["message"] == "msg"
