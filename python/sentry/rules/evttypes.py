"""The event types Falco 0.28 assigns a rule, and the warnings it prints about them.

:attr:`Filter.evttypes <sentry.rules.compiler.Filter.evttypes>` is exact set logic (the
types a condition can match). Falco 0.28 used a cruder reading of the expanded condition,
which decides its ``no-evttype`` and ``trailing-evttype`` warnings and the event types it
reports for a rule: walking comparisons and ``not`` left to right, it collects every
unquoted value compared with ``evt.type`` (by ``=``, ``in`` ...); a ``not`` or ``!=`` seen
before some ``evt.type`` comparison makes the rule apply to every type ("trailing
evt.type"), and so does a condition without any ``evt.type`` comparison ("no evt.type").

Both readings select the same alerts, since every condition is evaluated in full; this one
exists so that warnings and rule listings say what Falco's say.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sentry.rules.ast import And, Compare, Expr, FieldRef, Not, Or, Value, ValueList


class EvttypeWarning(enum.Enum):
    """Why Falco would evaluate a rule on every event type."""

    NO_EVTTYPE = "no-evttype"  # the condition never compares evt.type
    TRAILING_EVTTYPE = "trailing-evttype"  # a not / != comes before an evt.type comparison


@dataclass(frozen=True, slots=True)
class FalcoEvttypes:
    """Falco 0.28's event types for a condition: ``names`` None means every type."""

    names: frozenset[str] | None
    warning: EvttypeWarning | None


def falco_evttypes(expr: Expr) -> FalcoEvttypes:
    """Falco 0.28's reading of an expanded condition's event types (see the module doc)."""
    names: set[str] = set()
    found_event = False
    found_not = False
    event_after_not = False
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, And | Or):
            stack.extend(reversed(node.args))
            continue
        if isinstance(node, Not):
            found_not = True
            stack.append(node.arg)
            continue
        if not isinstance(node, Compare) or node.op == "exists":
            continue  # Falco's walk did not look at unary comparisons
        if node.op == "!=":
            found_not = True
        lhs = node.lhs
        if isinstance(lhs, FieldRef) and lhs.name == "evt.type" and lhs.arg is None:
            found_event = True
            event_after_not = event_after_not or found_not
            rhs = node.rhs
            values = rhs.items if isinstance(rhs, ValueList) else (rhs,)
            names.update(v.text for v in values if isinstance(v, Value) and not v.quoted)
    if not found_event:
        return FalcoEvttypes(None, EvttypeWarning.NO_EVTTYPE)
    if event_after_not:
        return FalcoEvttypes(None, EvttypeWarning.TRAILING_EVTTYPE)
    return FalcoEvttypes(frozenset(names) if names else None, None)
