"""An open exit whose path the driver could not read (an empty name): the fd's path is
unknown, not the thread's cwd that joining "" to it would give (the bug made "File Written
Below Root Or Root Home" fire with file=/ for a daemon whose cwd is /)."""

from __future__ import annotations

from pathlib import Path

from default_rules.story_runner import fired_rules

from sentry.capture.scapreader import ScapReader
from sentry.inspect.inspector import Inspector
from sentry.inspect.threads import NA_NAME
from sentry.rules.story import O_CREAT, O_TRUNC, O_WRONLY, Story
from sentry.rules.storywriter import write_story

RULES = Path(__file__).resolve().parents[3] / "rules" / "sentry_rules.yaml"
WRITE = O_WRONLY | O_CREAT | O_TRUNC


def _story(name: str, cwd: str = "/") -> Story:
    s = Story()
    top = s.proc("bash", cwd=cwd)
    p = s.proc("spawner", parent=top, cwd=cwd)
    s.open(p, name, WRITE, fd=5)
    return s


def _open_names(story: Story, tmp_path: Path) -> list[str | None]:
    reader = ScapReader(write_story(story, tmp_path / "s.scap"))
    names: list[str | None] = []
    try:
        inspector = Inspector.from_capture(reader)
        for ev in reader:
            inspector.process(ev)
            if ev.info.name == "openat" and ev.info.direction == "<":
                names.append(ev.fdinfo.name if ev.fdinfo else None)
    finally:
        reader.close()
    return names


def test_empty_open_name_is_unknown_not_the_cwd(tmp_path: Path) -> None:
    assert _open_names(_story(""), tmp_path) == [NA_NAME]
    assert _open_names(_story("", cwd="/root/"), tmp_path) == [NA_NAME]


def test_empty_open_name_raises_no_write_below_root(tmp_path: Path) -> None:
    assert fired_rules(_story(""), tmp_path, [RULES]) == []


def test_a_named_open_below_root_still_fires(tmp_path: Path) -> None:
    """The same open with a readable name below / alerts, relative or absolute."""
    assert _open_names(_story("hoge.sh"), tmp_path) == ["/hoge.sh"]
    assert fired_rules(_story("/hoge.sh"), tmp_path, [RULES]) == [
        "File Written Below Root Or Root Home"
    ]
