"""A rule's exceptions as condition text: what ``cond and not (exception rows)`` adds.

Falco folds each exception of a rule into its condition: a single field with a list of
values becomes ``field op (v1, v2)`` (or an ``or`` of one test per value), a field tuple
becomes one ``(f1 op1 v1 and f2 op2 v2)`` row per value tuple, and the rule runs
``condition and not (rows)``. :func:`exceptions_condition` checks a rule's exceptions (known
operators, known fields, values that fit them) and gives the text to add.
"""

from __future__ import annotations

import re
from typing import Any

from sentry.errors import FieldArgumentError, UnknownFieldError
from sentry.fields.registry import resolve
from sentry.rules.ast import LIST_OPERATORS, TRANSFORMERS, VALUE_OPERATORS
from sentry.rules.definitions import ExceptionDef, Location, RuleDef

EXCEPTION_OPERATORS = frozenset(VALUE_OPERATORS | LIST_OPERATORS)


class ExceptionProblem(ValueError):
    """An exception of a rule that cannot be folded in; ``loc`` is the exception's place."""

    def __init__(self, reason: str, loc: Location) -> None:
        super().__init__(reason)
        self.loc = loc


def _quote(value: str) -> str:
    """An exception value as condition text: quoted when it holds spaces (as Falco does)."""
    if value[:1] in ("'", '"'):
        return value
    if any(ch in value for ch in " \t(),") or value in ("and", "or", "not"):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _exception_value(comp: str, value: Any) -> str:
    if comp in LIST_OPERATORS:
        if isinstance(value, list):
            return "(" + ", ".join(_quote(str(v)) for v in value) + ")"
        text = str(value)
        return text if text.startswith("(") else f"({text})"
    if isinstance(value, list):
        raise ValueError(f"a list of values needs 'in', not '{comp}'")
    return _quote(str(value))


def exception_condition(ex: ExceptionDef) -> str | None:
    """The condition one exception adds under ``and not``; None when it has no values."""
    if not ex.values:
        return None
    if isinstance(ex.fields, str):
        comp = ex.comps if isinstance(ex.comps, str) else "in"
        if comp in LIST_OPERATORS:
            return f"{ex.fields} {comp} ({', '.join(_quote(str(v)) for v in ex.values)})"
        return " or ".join(f"{ex.fields} {comp} {_exception_value(comp, v)}" for v in ex.values)
    comps = ex.comps if isinstance(ex.comps, list) else ["="] * len(ex.fields)
    rows = []
    for row in ex.values:
        parts = [
            f"{f} {c} {_exception_value(c, v)}"
            for f, c, v in zip(ex.fields, comps, row, strict=True)
        ]
        rows.append("(" + " and ".join(parts) + ")")
    return " or ".join(rows)


_TRANSFORMED = re.compile(r"\s*(\w+)\(\s*(.*?)\s*\)\s*")


def _untransformed(text: str) -> str:
    """``proc.name`` for ``toupper( proc.name)``: the field under any transformers."""
    m = _TRANSFORMED.fullmatch(text)
    while m is not None and m.group(1) in TRANSFORMERS:
        text = m.group(2)
        m = _TRANSFORMED.fullmatch(text)
    return text.strip()


def exceptions_condition(rule: RuleDef) -> str:
    """``not (...)`` texts for the rule's exceptions, joined by ``and`` ("" when none adds
    anything); raises :class:`ExceptionProblem` for the first one that cannot be added."""
    parts = []
    for ex in rule.exceptions:
        fields = [ex.fields] if isinstance(ex.fields, str) else ex.fields
        comps = ex.comps if isinstance(ex.comps, list) else [ex.comps or "="] * len(fields)
        for comp in comps:
            if comp not in EXCEPTION_OPERATORS:
                raise ExceptionProblem(
                    f"exception '{ex.name}': unknown comparison operator '{comp}'", ex.loc
                )
        for fname in fields:
            try:  # a field, perhaps under transformers (toupper(proc.name)) as Falco takes
                resolve(_untransformed(fname))
            except (UnknownFieldError, FieldArgumentError) as err:
                raise ExceptionProblem(f"exception '{ex.name}': {err}", ex.loc) from err
        try:
            cond = exception_condition(ex)
        except ValueError as err:
            raise ExceptionProblem(f"exception '{ex.name}': {err}", ex.loc) from err
        if cond is not None:
            parts.append(f"not ({cond})")
    return " and ".join(parts)
