"""Closure builders for compiled conditions (the hot path): ``and``/``or``/``not`` over
matchers, field transforms, ``exists``, Falco's multi-value rules, and inlined closures for
the operators rules use most (:func:`fast_matcher`). :mod:`sentry.rules.compiler` builds
its :class:`~sentry.rules.compiler.Filter` trees from these."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from sentry.fields.registry import AnyOf, FieldType

Matcher = Callable[[Any], bool]
MULTI = (list, tuple)


def negate(inner: Matcher) -> Matcher:
    def match(ev: Any) -> bool:
        return not inner(ev)

    return match


def all_of(parts: list[Matcher]) -> Matcher:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts

        def match2(ev: Any) -> bool:
            return a(ev) and b(ev)

        return match2
    if len(parts) == 3:
        a, b, c = parts

        def match3(ev: Any) -> bool:
            return a(ev) and b(ev) and c(ev)

        return match3
    funcs = tuple(parts)

    def match_n(ev: Any) -> bool:
        for f in funcs:  # noqa: SIM110 (all() of a generator allocates per event)
            if not f(ev):
                return False
        return True

    return match_n


def any_of(parts: list[Matcher]) -> Matcher:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts

        def match2(ev: Any) -> bool:
            return a(ev) or b(ev)

        return match2
    if len(parts) == 3:
        a, b, c = parts

        def match3(ev: Any) -> bool:
            return a(ev) or b(ev) or c(ev)

        return match3
    funcs = tuple(parts)

    def match_n(ev: Any) -> bool:
        for f in funcs:  # noqa: SIM110 (any() of a generator allocates per event)
            if f(ev):
                return True
        return False

    return match_n


def transformed(inner: Callable[[Any], Any], func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Apply a transformer per value; ``len`` of several values counts them."""
    per_item = func is not len

    def extract(ev: Any) -> Any:
        v = inner(ev)
        if v is None:
            return None
        if per_item and v.__class__ in MULTI:
            return [None if x is None else func(x) for x in v]
        return func(v)

    return extract


def exists(extract: Callable[[Any], Any], *, blank_is_missing: bool) -> Matcher:
    def match(ev: Any) -> bool:
        v = extract(ev)
        if v is None:
            return False
        if v.__class__ in MULTI:
            return len(v) > 0
        return not blank_is_missing or (v != "" and v != "<NA>")

    return match


def on_value(single: Callable[[Any], bool], multi: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """Test an extracted value of any shape: missing, several, or one.

    A value of another kind than its field declares (bytes from a string field, say) makes
    the comparison false rather than raising out of ``match``.
    """

    def test(v: Any) -> bool:
        if v is None:
            return False
        try:
            if v.__class__ in MULTI:
                return multi(v)
            if v.__class__ is AnyOf:
                return any(x is not None and single(x) for x in v)
            return single(v)
        except (TypeError, AttributeError):
            return False

    return test


def generic(extract: Callable[[Any], Any], test: Callable[[Any], bool]) -> Matcher:
    def match(ev: Any) -> bool:
        return test(extract(ev))

    return match


ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
FAST_CLASS: dict[FieldType, type] = {
    FieldType.STRING: str,
    FieldType.INT: int,
    FieldType.PORT: int,
    FieldType.ABSTIME: int,
    FieldType.RELTIME: int,
}


def fast_matcher(
    op: str,
    ftype: FieldType,
    extract: Callable[[Any], Any],
    consts: list[Any],
    single: Callable[[Any], bool],
    slow: Callable[[Any], bool],
) -> Matcher | None:
    """Inlined closures for the operators rules use most, on str and int fields.

    Each tests the common case (a value of the field's own class) inline (or, for the rarer
    string operators, with one call to ``single``) and hands anything else (None, lists,
    odd classes) to ``slow``.
    """
    cls = FAST_CLASS.get(ftype)
    if cls is None:
        return None
    c = consts[0]
    if op == "=":

        def match_eq(ev: Any) -> bool:
            v = extract(ev)
            if v.__class__ is cls:
                return v == c
            if v is None:
                return False
            return slow(v)

        return match_eq
    if op == "!=":

        def match_ne(ev: Any) -> bool:
            v = extract(ev)
            if v.__class__ is cls:
                return v != c
            if v is None:
                return False
            return slow(v)

        return match_ne
    if op in ("in", "intersects"):
        members = frozenset(consts)

        def match_in(ev: Any) -> bool:
            v = extract(ev)
            if v.__class__ is cls:
                return v in members
            if v is None:
                return False
            return slow(v)

        return match_in
    order = ORDERINGS.get(op)
    if order is not None:

        def match_order(ev: Any) -> bool:
            v = extract(ev)
            if v.__class__ is cls:
                return order(v, c)
            if v is None:
                return False
            return slow(v)

        return match_order
    if cls is not str:
        return None
    if op == "startswith":

        def match_prefix(ev: Any) -> bool:
            v = extract(ev)
            if v.__class__ is str:
                return v.startswith(c)
            if v is None:
                return False
            return slow(v)

        return match_prefix
    if op == "contains":

        def match_contains(ev: Any) -> bool:
            v = extract(ev)
            if v.__class__ is str:
                return c in v
            if v is None:
                return False
            return slow(v)

        return match_contains

    def match_str(ev: Any) -> bool:  # the other string operators: one call to their test
        v = extract(ev)
        if v.__class__ is str:
            return single(v)
        if v is None:
            return False
        return slow(v)

    return match_str
