"""The event-type index's view of a condition: its leading evt.type tests and the rest."""

from __future__ import annotations

import pytest

from sentry.rules.ast import BoolConst, to_text
from sentry.rules.parser import parse_condition
from sentry.rules.typeindex import split_type_guard


@pytest.mark.parametrize(
    ("condition", "guard", "rest"),
    [
        ("evt.type in (open, openat) and fd.name=/x", {"open", "openat"}, "fd.name = /x"),
        (
            "(evt.type=open or evt.type=openat) and evt.dir=< and evt.type=open",
            {"open"},
            "evt.dir = <",
        ),
        ("evt.type=execve", {"execve"}, "true"),
        ("evt.type=madvise and evt.dir=<", {"madvise"}, None),  # generic: the test stays
        ("proc.name=cat", None, None),
        ("evt.type=open or proc.name=cat", None, None),
    ],
)
def test_type_guard_split(condition: str, guard: set[str] | None, rest: str | None) -> None:
    got_guard, got_rest = split_type_guard(parse_condition(condition))
    assert got_guard == (frozenset(guard) if guard is not None else None)
    if rest is None:
        assert got_rest is None
    elif rest == "true":
        assert got_rest == BoolConst(True)
    else:
        assert got_rest is not None and to_text(got_rest) == rest
