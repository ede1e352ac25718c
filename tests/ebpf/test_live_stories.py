"""Live stories (issues 15 and 16): for every rule of a table's rules files, a script that
must make it fire and a near miss that must not, run live through the eBPF probe by one
daemon per table (tests/live_stories.py; tables in tests/stories/*.yaml). A rule that
cannot be made to fire on this host is listed with ``cannot_fire`` and its reason; the
coverage test fails when a rule has neither.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

import live_stories as ls
from needs import missing

pytestmark = pytest.mark.root

TABLES, BROKEN = ls.tables()
_RESULTS: dict[str, ls.TableResult] = {}


def table_result(table: ls.Table) -> ls.TableResult:
    """The table's run, once per test session (its first test runs it)."""
    if table.name not in _RESULTS:
        if os.geteuid() != 0:
            missing("live capture needs root")
        if not os.path.exists("/sys/kernel/btf/vmlinux"):
            missing("kernel without BTF: the eBPF probe cannot run")
        with tempfile.TemporaryDirectory(prefix=f"stories-{table.name}-") as work:
            result = ls.run_table(table, Path(work))
        print(
            f"\nlive stories {table.name}: {len(result.results)} stories run in "
            f"{result.seconds:.0f} s; {result.drops_note()}"
        )
        _RESULTS[table.name] = result
    return _RESULTS[table.name]


def _result(table: ls.Table, story: ls.Story) -> ls.StoryResult:
    result = table_result(table)
    if story.where == "container" and result.unavailable:
        missing(f"container story: {result.unavailable}")
    for r in result.results:
        if r.story is story:
            return r
    raise AssertionError(f"{story.rule}: not run")


def _params() -> list[Any]:
    return [
        pytest.param(t, s, id=f"{t.name}:{s.rule}") for t in TABLES for s in t.stories if s.runnable
    ]


def _where(table: ls.Table, story: ls.Story) -> str:
    return f"{table.path.name}:{story.line} ({story.rule}, {story.where})"


@pytest.mark.parametrize(("table", "story"), _params())
def test_fires(table: ls.Table, story: ls.Story) -> None:
    r = _result(table, story)
    note = table_result(table).drops_note()
    assert r.fire.code == 0, f"{_where(table, story)}: fire script failed: {r.fire.describe()}"
    got = r.fire.of_rule(story.rule)
    assert got, f"{_where(table, story)}: did not fire; {note}\n{r.fire.describe()}"
    if story.alerts is not None:
        assert len(got) == story.alerts, (
            f"{_where(table, story)}: {len(got)} alerts, {story.alerts} expected:\n"
            + "\n".join(str(a.get("output"))[:300] for a in got)
        )
    if story.fields:
        want = {k: v.replace("$STORY", r.fire.token) for k, v in story.fields.items()}
        seen = [{k: a.get("output_fields", {}).get(k) for k in want} for a in got]
        assert any(all(str(s[k]) == v for k, v in want.items()) for s in seen), (
            f"{_where(table, story)}: no alert with fields {want}; got {seen}"
        )


@pytest.mark.parametrize(("table", "story"), _params())
def test_near_miss_is_quiet(table: ls.Table, story: ls.Story) -> None:
    r = _result(table, story)
    assert r.near_miss.code == 0, (
        f"{_where(table, story)}: near-miss script failed: {r.near_miss.describe()}"
    )
    got = r.near_miss.of_rule(story.rule)
    assert not got, f"{_where(table, story)}: the near miss fired:\n" + "\n".join(
        str(a.get("output"))[:600] for a in got
    )


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_every_rule_has_stories_or_a_reason(table: ls.Table) -> None:
    """Each rule the table covers has a story (fire and near miss) or cannot_fire; each
    story names a rule its rules files define."""
    rules = ls.default_enabled_rules(table)
    named = {s.rule for s in table.stories}
    missing_rules = sorted(set(rules) - named)
    assert not missing_rules, f"{table.path.name}: rules without stories: {missing_rules}"
    from sentry.rules.loader import load_rules

    defined = set(load_rules(table.rules).rules)
    unknown = sorted(named - defined)
    assert not unknown, f"{table.path.name}: stories of rules its files lack: {unknown}"
    reasons = [s for s in table.stories if not s.runnable and not (s.cannot_fire or "").strip()]
    assert not reasons, f"{table.path.name}: cannot_fire without a reason: {reasons}"


@pytest.mark.parametrize("name", sorted(BROKEN) or ["(none)"])
def test_tables_load(name: str) -> None:
    """Every table parses and says what the harness needs (file:line of what does not)."""
    assert name not in BROKEN, BROKEN.get(name)
