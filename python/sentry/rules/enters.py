"""Enter events a reader may leave out: no rule can match them and no rule reads them.

The engine indexes a rule under both halves of the syscalls it names (``evt.type = open``
is the open enter and the open exit), as Falco 0.28.1 evaluates it. Most rules then say
``evt.dir = <``, or read fields an enter cannot have, so on the enter their generated
program is decided ``False`` when it is built (``codegen.header_constants``: the event
number alone fixes ``evt.dir``). Such an enter is still read today, and it costs an Event
and a trip through the inspector, for nothing but the thread's "last event".

An enter type is left out of a replay's reader (:func:`unneeded_enters`) only when

* every rule indexed under it is decided ``False`` for it by the same emitter that
  generates the programs (a rule it cannot decide keeps the enter);
* no rule indexed under its exit reads the enter through the exit: ``evt.latency`` (the
  time since the thread's enter) and an ``evt.arg.X`` / ``evt.rawarg.X`` naming a
  parameter the exit lacks and the enter has (``fields/evt.py``'s ``entered``: read from
  the enter) in its condition or its output; a rule whose output is not a parsed format
  keeps it too;
* the inspector does not name it as state (``Inspector.handled_types``); the reader's
  caller adds those back. The fds-in-C tracker reads every event of the capture itself,
  read by Python or not, so its state does not change.

Alerts are unchanged (the rules could not match, and the exits' fields are read from the
exits); what changes is only which events become Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sentry.events.table import EVENTS

if TYPE_CHECKING:
    from sentry.rules.ruleset import CompiledRule, Ruleset

_WRITTEN_ARG = re.compile(r"evt\.(?:raw)?arg(?:\.|\[)([^\]]+)\]?")


def _reads_enter(written: str, exit_code: int) -> bool:
    """Whether a field as written (``evt.latency``, ``evt.arg.addr``, ``evt.arg[addr]``
    ...) read on an exit of ``exit_code`` reads that exit's enter."""
    if written.startswith("evt.latency"):
        return True
    m = _WRITTEN_ARG.fullmatch(written)
    if m is None or m.group(1).isdigit():
        return False
    # Read from the enter only when the exit lacks the parameter and the enter has it.
    info, enter = EVENTS.get(exit_code), EVENTS.get(exit_code - 1)
    if info is None or enter is None:
        return True
    return info.param_index(m.group(1)) < 0 and enter.param_index(m.group(1)) >= 0


def rule_reads_enter(rule: CompiledRule, exit_code: int) -> bool:
    """Whether ``rule``, run on an exit of ``exit_code``, reads its enter: a field of its
    condition (``Filter.fields``, as written) or of its output. An output that is not a
    parsed format counts as reading it."""
    output = getattr(rule.output, "fields", None)
    if output is None and rule.output is not None:
        return True
    written = (*rule.filter.fields, *(bound.name for bound in output or ()))
    return any(_reads_enter(text, exit_code) for text in written)


def never_on(rules: Iterable[CompiledRule], number: int) -> bool:
    """Whether none of ``rules`` can match an event of type ``number``: each one's
    condition is decided False by the programs' emitter with what the number fixes."""
    from sentry.rules.codegen import decided_false

    return all(
        rule.match_ast is not None and decided_false(rule.match_ast, number) for rule in rules
    )


def unneeded_enters(ruleset: Ruleset) -> frozenset[int]:
    """Enter event types the ruleset indexes but can do without (see the module)."""
    out = set()
    for number, rules in enumerate(ruleset.for_type):
        if not rules or number & 1 or EVENTS.get(number) is None:
            continue
        if EVENTS[number].direction != ">":
            continue
        exit_rules = ruleset.for_type[number + 1] if number + 1 < len(ruleset.for_type) else ()
        if never_on(rules, number) and not any(rule_reads_enter(r, number + 1) for r in exit_rules):
            out.add(number)
    return frozenset(out)


__all__ = ["never_on", "rule_reads_enter", "unneeded_enters"]
