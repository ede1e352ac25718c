"""A rule's exceptions as the condition text Falco folds in, and the problems that stop it."""

from __future__ import annotations

import pytest

from sentry.rules.definitions import ExceptionDef, Location, Priority, RuleDef
from sentry.rules.exceptions import ExceptionProblem, exception_condition, exceptions_condition


def ex(fields: object, comps: object, values: list[object], line: int = 1) -> ExceptionDef:
    return ExceptionDef("e", fields, comps, values, Location("t", line))  # type: ignore[arg-type]


def test_exception_conditions_read_like_falco() -> None:
    assert exception_condition(ex(["proc.name"], None, [])) is None
    assert exception_condition(
        ex(["proc.name", "proc.cmdline"], None, [["cat", "cat /dev/null"], ["ls", "ls"]])
    ) == (
        '(proc.name = cat and proc.cmdline = "cat /dev/null") or '
        "(proc.name = ls and proc.cmdline = ls)"
    )
    assert exception_condition(
        ex(["proc.name", "proc.cmdline"], ["=", "in"], [["cat", ["a b", "c"]]])
    ) == ('(proc.name = cat and proc.cmdline in ("a b", c))')
    assert exception_condition(ex(["proc.name", "fd.name"], ["=", "in"], [["cat", "my_list"]])) == (
        "(proc.name = cat and fd.name in (my_list))"
    )
    assert exception_condition(ex("proc.cmdline", "in", ["cat /dev/zero", '"x y"'])) == (
        'proc.cmdline in ("cat /dev/zero", "x y")'
    )


def rule_with(*exceptions: ExceptionDef) -> RuleDef:
    return RuleDef(
        "r",
        "evt.type=open",
        "o",
        "d",
        Priority.WARNING,
        Location("t", 1),
        exceptions=list(exceptions),
    )


def test_rule_exceptions_join_as_and_not() -> None:
    rule = rule_with(
        ex("proc.name", "in", ["cat"]), ex(["fd.name"], None, []), ex("fd.name", "=", ["/x"])
    )
    assert exceptions_condition(rule) == "not (proc.name in (cat)) and not (fd.name = /x)"


@pytest.mark.parametrize(
    ("exception", "reason"),
    [
        (ex("proc.name", "like", ["x"], 7), "exception 'e': unknown comparison operator 'like'"),
        (ex("proc.nme", "=", ["x"], 7), "exception 'e': unknown field"),
        (
            ex("proc.name", "=", [["a", "b"]], 7),
            "exception 'e': a list of values needs 'in', not '='",
        ),
    ],
)
def test_a_bad_exception_is_named_with_its_place(exception: ExceptionDef, reason: str) -> None:
    with pytest.raises(ExceptionProblem) as err:
        exceptions_condition(rule_with(exception))
    assert str(err.value).startswith(reason)
    assert err.value.loc == Location("t", 7)  # the exception's place, not the rule's
