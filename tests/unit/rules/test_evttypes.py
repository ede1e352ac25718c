"""Falco 0.28's event types and evt.type warnings for a rule, next to the exact set logic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sentry.rules.evttypes import EvttypeWarning, falco_evttypes
from sentry.rules.parser import parse_condition


class _AnyTagLoader(yaml.SafeLoader):
    """Reads avocado's ``!mux`` and stray tags (``desc: != ...``) as plain values."""


def _untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return f"{node.tag} {loader.construct_scalar(node)}"  # type: ignore[arg-type]


_AnyTagLoader.add_multi_constructor("", _untagged)


@pytest.mark.parametrize(
    ("condition", "names", "warning"),
    [
        ("evt.type = open", {"open"}, None),
        ("evt.type in (open, openat) and proc.name = cat", {"open", "openat"}, None),
        ("evt.type = open and evt.type = close", {"open", "close"}, None),  # collected, not solved
        ("proc.name = cat", None, EvttypeWarning.NO_EVTTYPE),
        ("evt.type exists", None, EvttypeWarning.NO_EVTTYPE),
        ("not proc.name = x and evt.type = open", None, EvttypeWarning.TRAILING_EVTTYPE),
        ("evt.type = open and not proc.name = x", {"open"}, None),
        ('evt.type = "open"', None, None),
        ("evt.type=execve and proc.name=x or evt.type=open", {"execve", "open"}, None),
        ("not evt.type=execve", None, EvttypeWarning.TRAILING_EVTTYPE),
        ("proc.name!=foo and evt.type=execve", None, EvttypeWarning.TRAILING_EVTTYPE),
        (
            "evt.type=execve and not proc.name=foo or evt.type=open",
            None,
            EvttypeWarning.TRAILING_EVTTYPE,
        ),
        ("evt.type exists and proc.name = cat", None, EvttypeWarning.NO_EVTTYPE),
    ],
)
def test_falco_reading(
    condition: str, names: set[str] | None, warning: EvttypeWarning | None
) -> None:
    got = falco_evttypes(parse_condition(condition))
    assert got.names == (None if names is None else frozenset(names))
    assert got.warning is warning


@pytest.mark.conformance
def test_falco_test_warnings_case(falco_dir: Path) -> None:
    """falco_tests.yaml ``test_warnings``: which rules warn and their event types."""
    tests = yaml.load((falco_dir / "test" / "falco_tests.yaml").read_text(), _AnyTagLoader)
    case = tests["trace_files"]["test_warnings"]
    rules_file = falco_dir / "test" / case["rules_file"]
    rules = {
        item["rule"]: item["condition"]
        for item in yaml.load(rules_file.read_text(), _AnyTagLoader)
        if "rule" in item
    }
    expected_events = {k: v for entry in case["rules_events"] for k, v in entry.items()}
    warned = set(case["rules_warning"])
    assert set(expected_events) <= set(rules)
    for name, condition in rules.items():
        got = falco_evttypes(parse_condition(condition))
        assert (got.warning is not None) == (name in warned), name
        if name in expected_events:
            want = expected_events[name]
            assert (["all"] if got.names is None else sorted(got.names)) == sorted(want), name
