"""The live-story harness's own checks, without a capture (tests/live_stories.py): a table
that does not say what the harness needs is refused with its file and line, an alert belongs
to a script only by its token, and every table in tests/stories loads."""

from __future__ import annotations

from pathlib import Path

import pytest

import live_stories as ls


def _table(tmp_path: Path, stories: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text("rules: [falco-current/falco_rules.yaml]\nstories:\n" + stories)
    return path


def test_a_story_without_its_near_miss_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _table(
        tmp_path,
        "  - rule: A\n    fire: 'true'\n    near_miss: 'true'\n  - rule: B\n    fire: 'true'\n",
    )
    with pytest.raises(ls.TableError, match=r"t\.yaml:6: story 'B': needs fire: and near_miss"):
        ls.load_table(path)


@pytest.mark.parametrize(
    ("story", "message"),
    [
        ("    fires: 'true'\n", r"unknown keys \['fires'\]"),
        ("    cannot_fire: why\n    fire: 'true'\n", "cannot_fire and scripts at once"),
        ("    where: vm\n    fire: 'x'\n    near_miss: 'y'\n", "where: host or container"),
        ("    podman: --privileged\n    fire: 'x'\n    near_miss: 'y'\n", "podman: a list"),
        ("    fire: [x]\n    near_miss: 'y'\n", "fire: a string"),
    ],
)
def test_bad_stories_are_refused(tmp_path: Path, story: str, message: str) -> None:
    with pytest.raises(ls.TableError, match=message):
        ls.load_table(_table(tmp_path, "  - rule: A\n" + story))


def test_a_table_keeps_what_it_says(tmp_path: Path) -> None:
    table = ls.load_table(
        _table(
            tmp_path,
            "  - rule: A\n    where: container\n    image: host\n    podman: [-t]\n"
            "    near_miss_podman: []\n    fire: 'true'\n    near_miss: 'false || true'\n"
            "    fields: {fd.name: /x/$STORY}\n  - rule: B\n    cannot_fire: no such device\n",
        )
    )
    a, b = table.stories
    assert (a.where, a.image, a.podman, a.near_miss_podman) == ("container", "host", ["-t"], [])
    assert a.fields == {"fd.name": "/x/$STORY"} and a.runnable and a.line == 3
    assert not b.runnable and b.cannot_fire == "no such device"
    assert table.rules == table.cover  # cover defaults to the rules files
    assert table.rules[0].name == "falco_rules.yaml" and "falco-current" in str(table.rules[0])


def test_an_alert_belongs_to_the_token_in_its_env_or_output() -> None:
    by_env = {"output": "x", "output_fields": {"proc.env": "A=1 SENTRY_STORY=ab12f B=2"}}
    by_output = {"output": "file=/tmp/story-ab12f/x", "output_fields": {}}
    other = {"output": "file=/tmp/story-ab12n/x", "output_fields": {"proc.env": "STORY=zz"}}
    assert ls.belongs(by_env, "ab12f") and ls.belongs(by_output, "ab12f")
    assert not ls.belongs(other, "ab12f")
    assert not ls.belongs({"output": "x", "output_fields": {"proc.env": None}}, "ab12f")


def test_every_table_in_the_tree_loads() -> None:
    tables, broken = ls.tables()
    assert not broken, broken
    assert "falco_rules" in {t.name for t in tables}
