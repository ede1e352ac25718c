"""rules/COVERAGE.md against the live-story table: every rule a Host or Container cell names
is a default rule with a live story at that place (tests/stories/sentry_rules.yaml), and the
summary line counts the rows as they are. The stories themselves run live in
tests/ebpf/test_live_stories.py; this keeps the document from claiming more than they show.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sentry.rules.loader import load_rules

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "rules" / "COVERAGE.md"
TABLE = REPO / "tests" / "stories" / "sentry_rules.yaml"
TACTICS = (
    "Execution",
    "Persistence",
    "Privilege Escalation",
    "Defense Evasion",
    "Credential Access",
    "Discovery",
    "Lateral Movement",
    "Collection",
    "Exfiltration",
    "Impact",
)


def _rows() -> list[tuple[str, str, list[str], list[str]]]:
    """(section, technique, host rules, container rules) of every technique row."""
    rows, section = [], ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:]
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) < 4 or cells[0] in ("Technique", "---"):
            continue
        host, container = (re.findall(r"`([^`]+)`", c) for c in cells[1:3])
        rows.append((section, cells[0], host, container))
    return rows


def _story_places() -> dict[str, set[str]]:
    places: dict[str, set[str]] = {}
    for story in yaml.safe_load(TABLE.read_text())["stories"]:
        if "cannot_fire" not in story:
            places.setdefault(story["rule"], set()).add(story.get("where", "host"))
    return places


def test_every_tactic_asked_for_has_a_section() -> None:
    sections = {s for s, *_ in _rows()}
    for tactic in TACTICS:
        assert any(s.startswith(tactic + " (") for s in sections), tactic


def test_every_rule_named_is_a_default_rule_with_a_live_story_there() -> None:
    rules = set(load_rules([REPO / "rules" / "sentry_rules.yaml"]).rules)
    places = _story_places()
    problems = []
    for _, technique, host, container in _rows():
        for where, names in (("host", host), ("container", container)):
            for name in names:
                if name not in rules:
                    problems.append(f"{technique}: {name!r} is no default rule")
                elif where not in places.get(name, set()):
                    problems.append(f"{technique}: {name!r} has no live {where} story")
    assert not problems, "\n".join(problems)


def test_a_technique_without_a_rule_says_why() -> None:
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) >= 4 and "—" in cells[1:3]:
            assert cells[3], f"{cells[0]}: no rule and no reason"


def test_the_summary_counts_the_rows() -> None:
    rows = [r for r in _rows() if not r[0].startswith("Command and Control")]
    host = sum(1 for r in rows if r[2])
    container = sum(1 for r in rows if r[3])
    one_place = sum(1 for r in rows if bool(r[2]) != bool(r[3]))
    summary = (
        f"{len(rows)} techniques listed; covered on the host: {host}, in a container: "
        f"{container} (covered in one place only: {one_place}"
    )
    assert summary in " ".join(DOC.read_text().split()), summary
