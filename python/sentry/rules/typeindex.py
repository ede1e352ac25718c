"""Event types for the ruleset's index: which scap event numbers a condition can match.

:func:`event_numbers` maps an ``evt.type`` name to event numbers; :func:`split_type_guard`
takes a condition's leading ``evt.type`` tests apart from the rest, so a rule is indexed
under those types and runs without re-testing them; :func:`unknown_event_name` finds a name
no event or syscall has; :func:`syscall_enter_numbers` lists the enter events that Falco
0.42's drivers no longer send.
"""

from __future__ import annotations

import functools

from sentry.events.syscalls import PPM_SC_BY_NAME
from sentry.events.table import EVENTS, events_named
from sentry.rules.ast import (
    And,
    BoolConst,
    Compare,
    Expr,
    FieldRef,
    Operand,
    Or,
    Value,
    ValueList,
    walk,
)


def event_numbers(name: str) -> list[int]:
    """scap event numbers an ``evt.type`` name stands for (generic ones for other syscalls)."""
    numbers = [info.code for info in events_named(name)]
    if not numbers and name in PPM_SC_BY_NAME:
        numbers = [0, 1]  # SE_GENERIC_E / _X: syscalls without a dedicated event
    return numbers


@functools.cache
def syscall_enter_numbers() -> frozenset[int]:
    """Enter events of system calls (those with an exit of the same name): the ones Falco
    0.42's drivers no longer send. Meta events (procexit, container, signaldeliver ...)
    stay."""
    return frozenset(
        code
        for code, info in EVENTS.items()
        if info.direction == ">"
        and (x := EVENTS.get(code + 1)) is not None
        and x.name == info.name
        and info.name not in ("container", "signaldeliver", "scapevent", "pluginevent")
    )


def _is_evt_type(lhs: Operand) -> bool:
    return isinstance(lhs, FieldRef) and lhs.name == "evt.type" and lhs.arg is None


def _type_names(node: Expr) -> frozenset[str] | None:
    """The names an ``evt.type =/in`` test (or an ``or`` of them) accepts; else None."""
    if isinstance(node, Compare):
        if not _is_evt_type(node.lhs):
            return None
        if node.op == "=" and isinstance(node.rhs, Value):
            return frozenset({node.rhs.text})
        if node.op == "in" and isinstance(node.rhs, ValueList):
            return frozenset(v.text for v in node.rhs.items)
        return None
    if isinstance(node, Or):
        names: set[str] = set()
        for arg in node.args:
            sub = _type_names(arg)
            if sub is None:
                return None
            names |= sub
        return frozenset(names)
    return None


def _conjuncts(node: Expr) -> list[Expr]:
    if isinstance(node, And):
        return [c for arg in node.args for c in _conjuncts(arg)]
    return [node]


def split_type_guard(tree: Expr) -> tuple[frozenset[str] | None, Expr | None]:
    """Split ``evt.type in S and rest`` into (S, rest) for the event-type index.

    ``S`` intersects every top-level ``evt.type`` test of the condition: the rule cannot
    match another type, so indexing it under ``S`` changes no result. ``rest`` is the
    condition without those tests, returned only when it may replace the whole condition on
    events of type ``S``: every name of ``S`` must be a dedicated event (a generic syscall
    name shares its event numbers with every other generic syscall, so its test stays).
    ``(None, None)`` when there is no such test; ``rest`` is None when it cannot be dropped.
    """
    guard: frozenset[str] | None = None
    rest: list[Expr] = []
    for conj in _conjuncts(tree):
        names = _type_names(conj)
        if names is None:
            rest.append(conj)
        else:
            guard = names if guard is None else guard & names
    if guard is None:
        return None, None
    if not all(events_named(name) for name in guard):
        return guard, None
    if not rest:
        return guard, BoolConst(True)
    return guard, rest[0] if len(rest) == 1 else And(tuple(rest))


def unknown_event_name(tree: Expr) -> str | None:
    """The first ``evt.type`` constant that names no event or syscall, if any."""
    for node in walk(tree):
        if isinstance(node, Compare) and _is_evt_type(node.lhs):
            rhs = node.rhs
            values = rhs.items if isinstance(rhs, ValueList) else (rhs,)
            for v in values:
                if (
                    isinstance(v, Value)
                    and not event_numbers(v.text)
                    and v.text not in PPM_SC_BY_NAME
                ):
                    return v.text
    return None
