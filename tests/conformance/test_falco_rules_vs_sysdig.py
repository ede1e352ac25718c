"""Falco 0.28.1's default rules over captures: Sentry's alerts are sysdig's matches.

The captures are Falco's traces and, since Falco's default rules fire on none of those,
some of our default-rule stories (a shell in a container, a sensitive file read, writes
below /etc and /, a package manager in a container ...) written as .scap files.

For every trace, each enabled syscall rule's condition (macros and lists expanded) is given
to the real sysdig as a filter; the events it selects are what that rule can match. As in
Falco, an event raises at most one alert, from the first rule in file order that matches
it, so the expected alerts are that first rule for each selected event. ``sentry run -A``
(every event type evaluated, as sysdig evaluates every event) must raise exactly those.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from default_rules.scenarios import CASES_BY_RULE
from default_rules.story_runner import write_story

from sentry.rules.ast import to_text
from sentry.rules.expand import expand
from sentry.rules.loader import RuleDefinitions, load_rules
from sentry.rules.parser import parse_condition
from sysdig_ref import need_sysdig

TRACES = [
    "cat_write.scap",
    "connect_localhost.scap",
    "open-multiple-files.scap",
    "ping_sendto.scap",
    "syscall.scap",
]
STORIES = [
    "File Written Below Root Or Root Home",
    "File Written Below Etc",
    "Password File Read By Unexpected Program",
    "Shell Started In Container",
    "Package Manager Run In Container",
    "Netcat Command Execution",
    "Process Attached With Ptrace",
    "Non-Root Process Set User To Root",
    "File System Mounted In Container",
    "Shell Spawned By Web Server",
]
MARK = "SENTRY-EVT-NUM="


@pytest.fixture(scope="module")
def falco_rules(falco_dir: Path) -> tuple[Path, RuleDefinitions]:
    path = falco_dir / "rules" / "falco_rules.yaml"
    defs = load_rules([path])
    assert not defs.errors, defs.errors
    return path, defs


def _sysdig_selects(trace: Path, condition: str) -> set[int] | None:
    """Event numbers sysdig selects, or None when sysdig's parser refuses the condition."""
    done = subprocess.run(
        [need_sysdig(), "-r", str(trace), "-p", "%evt.num", condition],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"TZ": "UTC"},
        check=False,
    )
    if done.returncode != 0 and done.stderr.startswith("filter error"):
        return None
    assert done.returncode == 0, done.stderr
    return {int(n) for n in done.stdout.split()}


def _expected_alerts(trace: Path, defs: RuleDefinitions) -> tuple[dict[int, str], list[str]]:
    """(first matching rule per event, rules sysdig 0.29's parser cannot read)."""
    macros = {name: m.condition for name, m in defs.macros.items()}
    lists = {name: item.items for name, item in defs.lists.items()}
    first: dict[int, str] = {}
    unreadable: list[str] = []
    for rule in defs.rules.values():
        if not rule.enabled or rule.source != "syscall":
            continue
        # Exceptions with values would need their own rendering; 0.28.1's rules have none
        # that carry values, which this asserts rather than assumes.
        assert all(not e.values for e in rule.exceptions), rule.name
        condition = to_text(expand(parse_condition(rule.condition), macros, lists))
        selected = _sysdig_selects(trace, condition)
        if selected is None:
            unreadable.append(rule.name)
            continue
        for num in sorted(selected):
            first.setdefault(num, rule.name)
    return first, unreadable


def _sentry_alerts(trace: Path, rules: Path, disabled: list[str]) -> dict[int, str]:
    cmd = [
        sys.executable,
        "-c",
        "from sentry.cli.main import main; main()",
        "run",
        "-r",
        str(rules),
        "-e",
        str(trace),
        "-A",
        "--json",
        "-p",
        f"{MARK}%evt.num",
    ]
    for name in disabled:
        cmd += ["-D", name]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"TZ": "UTC"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    alerts: dict[int, str] = {}
    for line in done.stdout.splitlines():
        if not line.startswith("{"):
            continue
        alert = json.loads(line)
        found = re.search(rf"{MARK}(\d+)", alert["output"])
        assert found, alert["output"]
        num = int(found.group(1))
        assert num not in alerts, f"two alerts for event {num}"
        alerts[num] = alert["rule"]
    return alerts


@pytest.mark.conformance
@pytest.mark.sysdig
def test_falco_rules_alert_where_sysdig_matches(
    trace_dir: Path, tmp_path: Path, falco_rules: tuple[Path, RuleDefinitions]
) -> None:
    path, defs = falco_rules
    captures = [trace_dir / name for name in TRACES]
    for i, rule in enumerate(STORIES):
        captures.append(write_story(CASES_BY_RULE[rule].fire(), tmp_path / f"story{i}.scap"))
    expected_total = 0
    for capture in captures:
        expected, unreadable = _expected_alerts(capture, defs)
        # A rule whose expanded condition sysdig 0.29's parser refuses is left out on both
        # sides; with 0.28.1's rules these are four, for reasons of sysdig's own: an empty
        # IP list, "\\ " escapes, `intersects` and escaped quotes inside a list.
        assert len(unreadable) <= 4, unreadable
        assert _sentry_alerts(capture, path, unreadable) == expected, capture.name
        expected_total += len(expected)
    # Not vacuous: Falco's rules fire on these captures.
    assert expected_total >= 5, expected_total
