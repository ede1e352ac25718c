"""Compile a condition (text or tree) into a :class:`Filter`: a closure tree evaluated per event.

Every comparison becomes one closure that calls its field's extractor once and tests the
value against constants converted up front (sets for ``in``, a prefix tree for ``pmatch``,
compiled regexes for ``glob``/``regex``). ``and``/``or``/``not`` become closures over their
children with short-circuit evaluation; chains are flattened and conditions whose outcome is
known without an event (``x in ()``) are folded away.

Values: ``None`` (field not available) fails every comparison except that ``not`` inverts
the result; list values follow Falco's multi-value rules (see :func:`operators.multi_test`).

``Filter.evttypes`` is the set of ``evt.type`` names the condition can match (``None`` when
any type may match); the rule engine uses it to skip rules by event type before decoding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sentry.fields.registry import BoundField, FieldType
from sentry.rules import operators
from sentry.rules.ast import (
    And,
    BoolConst,
    Compare,
    Expr,
    FieldRef,
    FieldValue,
    Identifier,
    Not,
    Operand,
    Or,
    Transform,
    Value,
    ValueList,
    base_field,
    to_text,
    walk,
)
from sentry.rules.expand import check_depth, expand
from sentry.rules.matchers import (
    FAST_CLASS,
    ORDERINGS,
    Matcher,
    all_of,
    any_of,
    exists,
    fast_matcher,
    generic,
    negate,
    on_value,
    transformed,
)
from sentry.rules.operators import FilterTypeError
from sentry.rules.parser import parse_condition

Resolver = Callable[[str, str | None], BoundField]
EvtTypes = frozenset[str] | None

_EVT_TYPE_OPS = frozenset({"=", "in", "intersects"})

__all__ = ["Filter", "FilterTypeError", "compile_filter"]


class Filter:
    """A compiled condition. ``match(event) -> bool`` is the hot path; the rest describes it."""

    __slots__ = ("ast", "evttypes", "fields", "match", "sources", "text")

    def __init__(
        self,
        match: Matcher,
        evttypes: EvtTypes,
        ast: Expr,
        text: str,
        fields: tuple[str, ...],
        sources: frozenset[str],
    ):
        self.match = match
        self.evttypes = evttypes
        self.ast = ast
        self.text = text
        self.fields = fields  # every field read, as written, in order of first use
        self.sources = sources  # event sources of those fields ("syscall", "k8s_audit")

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"


def compile_filter(
    condition: str | Expr,
    resolve: Resolver | None = None,
    *,
    macros: Mapping[str, Expr | str] | None = None,
    lists: Mapping[str, Sequence[str]] | None = None,
) -> Filter:
    """Parse (if text), expand macros and lists (if given), resolve fields and compile.

    Raises FilterSyntaxError, UnknownFieldError / FieldArgumentError (from ``resolve``),
    FilterTypeError, or MacroError for a macro that is undefined or recursive.
    """
    if resolve is None:
        from sentry.fields.registry import resolve as registry_resolve

        resolve = registry_resolve
    ast = parse_condition(condition) if isinstance(condition, str) else condition
    expanded = bool(macros or lists or _has_identifier(ast))
    if expanded:
        ast = expand(ast, macros, lists)
    else:
        check_depth(ast)  # the compiler recurses: a tree deeper than this is refused
    compiler = _Compiler(resolve)
    try:
        matcher, evttypes = compiler.expr(ast)
    except FilterTypeError as err:
        if not isinstance(condition, str) or expanded or err.text is not None:
            raise
        # Columns count in this very text: show where, as for a syntax error.
        raise FilterTypeError(err.reason, column=err.column, text=condition) from None
    if matcher is True:
        match: Matcher = _always_true
    elif matcher is False:
        match = _always_false
    else:
        match = matcher
    text = condition if isinstance(condition, str) else to_text(ast)
    sources = frozenset(compiler.sources)
    return Filter(match, evttypes, ast, text, tuple(compiler.fields), sources)


def _has_identifier(ast: Expr) -> bool:
    return any(isinstance(n, Identifier) for n in walk(ast))


def _always_true(_event: Any) -> bool:
    return True


def _always_false(_event: Any) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Leaf:
    """One field compared with constants, for the code generator (see :meth:`_Compiler.leaf`).

    ``cls`` is the class of the field's usual values (None: no inline form); ``single``
    tests one such value, ``slow`` any extracted value (None, lists, other classes).
    """

    ref: FieldRef
    extract: Callable[[Any], Any]
    op: str
    ftype: FieldType
    cls: type | None
    consts: list[Any]
    single: Callable[[Any], bool]
    slow: Callable[[Any], bool]


# A compiled node: a matcher, or a bool when the outcome does not depend on the event.
Compiled = tuple[Matcher | bool, EvtTypes]


class _Compiler:
    def __init__(self, resolve: Resolver):
        self.resolve = resolve
        self.fields: dict[str, None] = {}  # ordered set
        self.sources: set[str] = set()
        self.bound: dict[tuple[str, str | None], BoundField] = {}

    # Boolean structure -------------------------------------------------------------------

    def expr(self, node: Expr) -> Compiled:
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, And):
            return self.conjunction(node)
        if isinstance(node, Or):
            return self.disjunction(node)
        if isinstance(node, Not):
            inner, _ = self.expr(node.arg)
            if isinstance(inner, bool):
                return (not inner), (frozenset() if inner else None)
            return negate(inner), None
        if isinstance(node, BoolConst):
            return node.value, (None if node.value else frozenset())
        assert isinstance(node, Identifier)  # expand() replaced or rejected every macro
        raise AssertionError(f"unexpanded macro {node.name}")

    def conjunction(self, node: And) -> Compiled:
        parts: list[Matcher] = []
        types: EvtTypes = None
        args = self.merge_memberships(_flatten(node, And), negated=True)
        for arg in args:
            matcher, arg_types = self.expr(arg)
            if matcher is False:
                # Still compile the rest so that bad fields are reported, then fold.
                for rest in args:
                    self.expr(rest)
                return False, frozenset()
            if arg_types is not None:
                types = arg_types if types is None else types & arg_types
            if matcher is not True:
                parts.append(matcher)
        if not parts:
            return True, types
        return all_of(parts), types

    def disjunction(self, node: Or) -> Compiled:
        parts: list[Matcher] = []
        types: EvtTypes = frozenset()
        args = self.merge_memberships(_flatten(node, Or), negated=False)
        for arg in args:
            matcher, arg_types = self.expr(arg)
            if matcher is True:
                for rest in args:
                    self.expr(rest)
                return True, None
            if matcher is False:
                continue
            types = None if types is None or arg_types is None else types | arg_types
            parts.append(matcher)
        if not parts:
            return False, frozenset()
        return any_of(parts), types

    def merge_memberships(self, args: list[Expr], *, negated: bool) -> list[Expr]:
        """One set lookup for ``x = a or x in (b, c)`` (and ``not x = a and not x in (b)``).

        Rules written as ``proc.name in (list1) or proc.name in (list2)`` then extract the
        field once. Only for single-valued fields, where the merge cannot change the result.
        """
        out: list[Expr] = []
        first: dict[FieldRef, int] = {}
        for arg in args:
            cmp = arg.arg if negated and isinstance(arg, Not) else (None if negated else arg)
            if (
                isinstance(cmp, Compare)
                and cmp.op in ("=", "in")
                and isinstance(cmp.lhs, FieldRef)
                and isinstance(cmp.rhs, Value | ValueList)
                and self.single_valued(cmp.lhs)
            ):
                items = cmp.rhs.items if isinstance(cmp.rhs, ValueList) else (cmp.rhs,)
                at = first.get(cmp.lhs)
                if at is not None:
                    prev = out[at]
                    prev_cmp = prev.arg if isinstance(prev, Not) else prev
                    assert isinstance(prev_cmp, Compare)
                    prev_rhs = prev_cmp.rhs
                    assert isinstance(prev_rhs, Value | ValueList)
                    prev_items = prev_rhs.items if isinstance(prev_rhs, ValueList) else (prev_rhs,)
                    merged = Compare(
                        cmp.lhs, "in", ValueList(prev_items + items, prev_cmp.pos), prev_cmp.pos
                    )
                    out[at] = Not(merged, prev.pos) if negated else merged
                    continue
                first[cmp.lhs] = len(out)
            out.append(arg)
        return out

    def single_valued(self, ref: FieldRef) -> bool:
        bound = self.field(ref)
        return bound.source == "syscall" and bound.type is not FieldType.LIST

    # Comparisons ----------------------------------------------------------------------------

    def operand(self, operand: Operand, column: int) -> tuple[Callable[[Any], Any], FieldType, str]:
        """Extractor (transformers applied), resulting type and display name of ``operand``."""
        if isinstance(operand, FieldRef):
            bound = self.field(operand)
            extract = bound.extract
            if bound.type is FieldType.BYTES:
                raw_extract, as_bytes = extract, operators.as_bytes_or_none
                return (lambda ev: as_bytes(raw_extract(ev))), bound.type, bound.name
            return extract, bound.type, bound.name
        assert isinstance(operand, Transform)
        inner, ftype, name = self.operand(operand.operand, column)
        func, out_type = operators.transformer(operand.func, ftype, name, column)
        return transformed(inner, func), out_type, f"{operand.func}({name})"

    def field(self, ref: FieldRef) -> BoundField:
        key = (ref.name, ref.arg)
        bound = self.bound.get(key)
        if bound is None:
            bound = self.resolve(ref.name, ref.arg)
            self.bound[key] = bound
            self.fields.setdefault(bound.name)
            self.sources.add(bound.source)
        return bound

    def compare(self, node: Compare) -> Compiled:
        column = node.pos
        extract, ftype, name = self.operand(node.lhs, column)
        op = node.op
        operators.check_operator(op, ftype, name, column)
        rhs = node.rhs
        # Falco's json (k8s audit) fields: "" is no value, and < > compare numbers.
        json_source = self.field(base_field(node.lhs)).source == "k8s_audit"
        if op == "exists":
            return exists(extract, blank_is_missing=json_source), None
        if isinstance(rhs, FieldValue):
            return self.dynamic(node, extract, ftype, name), None
        items: tuple[Value, ...] = rhs.items if isinstance(rhs, ValueList) else (rhs,)  # type: ignore[assignment]
        if not items:
            return False, frozenset()  # "x in ()" never holds
        json_order = json_source and ftype is FieldType.STRING and op in ORDERINGS
        consts, single, slow = self.tests(node, ftype, name, json_order)
        matcher = None if json_order else fast_matcher(op, ftype, extract, consts, single, slow)
        return matcher or generic(extract, slow), _evttypes(node, items)

    def tests(
        self, node: Compare, ftype: FieldType, name: str, json_order: bool
    ) -> tuple[list[Any], Callable[[Any], bool], Callable[[Any], bool]]:
        """Constants of ``node`` and its value tests: (consts, single value, any value)."""
        column = node.pos
        op = node.op
        rhs = node.rhs
        items: tuple[Value, ...] = rhs.items if isinstance(rhs, ValueList) else (rhs,)  # type: ignore[assignment]
        consts = [
            operators.convert_constant(v.text, ftype, op, name, v.pos or column) for v in items
        ]
        try:
            if json_order:
                single = operators.loose_number_test(op, consts[0])
            else:
                single = operators.scalar_test(op, ftype, consts)
            equal = operators.scalar_test("=", ftype, consts) if op == "!=" else single
        except FilterTypeError as err:
            raise FilterTypeError(err.reason, column=column) from None
        multi = operators.multi_test(op, equal)
        return consts, single, on_value(single, multi)

    def leaf(self, node: Compare) -> Leaf | None:
        """``node`` taken apart for code generation: a syscall field against constants.

        None for what only :meth:`compare` handles (``exists``, ``val()``, transformers,
        bytes and k8s audit fields) and for ``x in ()``.
        """
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, FieldRef) or not isinstance(rhs, Value | ValueList):
            return None
        if isinstance(rhs, ValueList) and not rhs.items:
            return None
        bound = self.field(lhs)
        if bound.source != "syscall" or bound.type is FieldType.BYTES:
            return None
        operators.check_operator(node.op, bound.type, bound.name, node.pos)
        consts, single, slow = self.tests(node, bound.type, bound.name, False)
        return Leaf(
            lhs,
            bound.extract,
            node.op,
            bound.type,
            FAST_CLASS.get(bound.type),
            consts,
            single,
            slow,
        )

    def dynamic(
        self, node: Compare, extract: Callable[[Any], Any], ftype: FieldType, name: str
    ) -> Matcher:
        assert isinstance(node.rhs, FieldValue)
        other = self.field(node.rhs.field)
        other_extract = other.extract
        if other.type is not ftype and not (
            ftype in operators.NUMERIC_TYPES and other.type in operators.NUMERIC_TYPES
        ):
            raise FilterTypeError(
                f"'{name}' ({ftype.value}) cannot be compared with val({other.name}) "
                f"({other.type.value})",
                column=node.pos,
            )
        test = operators.dynamic_test(node.op, node.pos)

        def match(ev: Any) -> bool:
            a = extract(ev)
            if a is None:
                return False
            b = other_extract(ev)
            if b is None:
                return False
            return test(a, b)

        return match


def _flatten(node: And | Or, kind: type) -> list[Expr]:
    """Children of nested same-kind nodes, in order: ``a and (b and c)`` -> ``[a, b, c]``."""
    out: list[Expr] = []
    for arg in node.args:
        if isinstance(arg, kind):
            out.extend(_flatten(arg, kind))  # type: ignore[arg-type]
        else:
            out.append(arg)
    return out


def _evttypes(node: Compare, items: tuple[Value, ...]) -> EvtTypes:
    lhs = node.lhs
    if (
        isinstance(lhs, FieldRef)
        and lhs.name == "evt.type"
        and lhs.arg is None
        and node.op in _EVT_TYPE_OPS
    ):
        return frozenset(v.text for v in items)
    return None
