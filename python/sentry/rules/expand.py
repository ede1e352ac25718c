"""Expand macro references and list names in a parsed condition (what Falco's loader does).

``expand(ast, macros, lists)`` replaces every :class:`~sentry.rules.ast.Identifier` by the
(recursively expanded) condition of the macro it names, and every unquoted item of a value
list that names a list by that list's items, so ``proc.name in (shell_binaries, bash)``
becomes ``proc.name in (sh, bash, zsh, ..., bash)``. Lists may name other lists.

Macros may be given as condition texts or as parsed trees. A macro or list that refers to
itself (directly or through others) and a macro that is not defined are errors of our own
type carrying the name, so the rules loader can point at the rule or macro at fault.

Depth is bounded, so that nothing downstream (compiler, code generator, printers, which
walk the tree recursively) can hit Python's recursion limit: macros (or lists) may nest
``MAX_MACRO_CHAIN`` deep, and an expanded condition may nest ``MAX_CONDITION_DEPTH``
and/or/not levels; beyond, a MacroError names the chain of macros that leads there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sentry.errors import FilterSyntaxError, SentryError
from sentry.rules.ast import (
    And,
    BoolConst,
    Compare,
    Expr,
    Identifier,
    Not,
    Or,
    Value,
    ValueList,
    macro_names,
)
from sentry.rules.parser import parse_condition

MAX_MACRO_CHAIN = 64
"""Macros referring to macros, this many deep at most (Falco's rules need 6)."""
MAX_CONDITION_DEPTH = 120
"""And/or/not levels of an expanded condition (Falco's rules reach ~15)."""


class MacroError(SentryError):
    """A condition names an undefined macro, or macros refer to each other in a loop.

    ``name`` is the macro at fault; ``column`` where it appears (1-based, 0 if unknown).
    """

    def __init__(self, message: str, *, name: str, column: int = 0):
        self.name = name
        self.column = column
        self.reason = message
        super().__init__(f"{message} at column {column}" if column else message)


def expand(
    expr: Expr,
    macros: Mapping[str, Expr | str] | None = None,
    lists: Mapping[str, Sequence[str]] | None = None,
) -> Expr:
    """``expr`` with every macro reference and list name replaced by what it stands for."""
    result = _Expander(macros or {}, lists or {}).expr(expr, ())
    if condition_depth(result) > MAX_CONDITION_DEPTH:
        check_depth(result, sorted(macro_names(expr)))
    return result


def _chain_text(chain: Sequence[str]) -> str:
    names = list(chain)
    if len(names) > 8:
        names = [*names[:4], f"... ({len(chain) - 7} more)", *names[-3:]]
    return " -> ".join(names)


def condition_depth(expr: Expr) -> int:
    """How many and/or/not levels ``expr`` nests (1 for a comparison); no recursion."""
    deepest = 0
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, And | Or):
            stack.extend((a, depth + 1) for a in node.args)
        elif isinstance(node, Not):
            stack.append((node.arg, depth + 1))
    return deepest


def check_depth(expr: Expr, chain: Sequence[str] = ()) -> None:
    """Raise MacroError when ``expr`` nests deeper than MAX_CONDITION_DEPTH."""
    depth = condition_depth(expr)
    if depth > MAX_CONDITION_DEPTH:
        via = f" (expanding macros {_chain_text(chain)})" if chain else ""
        raise MacroError(
            f"condition nests {depth} and/or/not levels, over the limit of "
            f"{MAX_CONDITION_DEPTH}{via}",
            name=chain[-1] if chain else "",
        )


def expand_list(name: str, lists: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The items of list ``name`` with nested list names expanded (quotes kept as written)."""
    return tuple(v.text for v in _Expander({}, lists).list_items(name, ()))


class _Expander:
    def __init__(self, macros: Mapping[str, Expr | str], lists: Mapping[str, Sequence[str]]):
        self.macros = macros
        self.lists = lists
        self.macro_cache: dict[str, Expr] = {}
        self.list_cache: dict[str, tuple[Value, ...]] = {}

    def expr(self, node: Expr, active: tuple[str, ...]) -> Expr:
        if isinstance(node, Identifier):
            return self.macro(node, active)
        if isinstance(node, Compare):
            if isinstance(node.rhs, ValueList) and self.lists:
                items = self.values(node.rhs.items, ())
                if items != node.rhs.items:
                    return Compare(node.lhs, node.op, ValueList(items, node.rhs.pos), node.pos)
            return node
        if isinstance(node, And | Or):
            args = tuple(self.expr(a, active) for a in node.args)
            return type(node)(args, node.pos)
        if isinstance(node, Not):
            return Not(self.expr(node.arg, active), node.pos)
        assert isinstance(node, BoolConst)
        return node

    def macro(self, ref: Identifier, active: tuple[str, ...]) -> Expr:
        name = ref.name
        cached = self.macro_cache.get(name)
        if cached is not None:
            return cached
        if name in active:
            loop = " -> ".join((*active[active.index(name) :], name))
            raise MacroError(f"macro '{name}' refers to itself ({loop})", name=name, column=ref.pos)
        if len(active) >= MAX_MACRO_CHAIN:
            raise MacroError(
                f"macros nested more than {MAX_MACRO_CHAIN} deep: {_chain_text((*active, name))}",
                name=name,
                column=ref.pos,
            )
        body = self.macros.get(name)
        if body is None:
            raise MacroError(f"undefined macro '{name}'", name=name, column=ref.pos)
        if isinstance(body, str):
            try:
                body = parse_condition(body)
            except FilterSyntaxError as err:
                raise MacroError(f"macro '{name}': {err}", name=name) from None
        result = self.expr(body, (*active, name))
        check_depth(result, (*active, name))
        self.macro_cache[name] = result
        return result

    def values(self, items: tuple[Value, ...], active: tuple[str, ...]) -> tuple[Value, ...]:
        out: list[Value] = []
        for item in items:
            if not item.quoted and item.text in self.lists:
                out.extend(self.list_items(item.text, active))
            else:
                out.append(item)
        return tuple(out)

    def list_items(self, name: str, active: tuple[str, ...]) -> tuple[Value, ...]:
        cached = self.list_cache.get(name)
        if cached is not None:
            return cached
        if name in active:
            loop = " -> ".join((*active[active.index(name) :], name))
            raise MacroError(f"list '{name}' refers to itself ({loop})", name=name)
        if len(active) >= MAX_MACRO_CHAIN:
            raise MacroError(
                f"lists nested more than {MAX_MACRO_CHAIN} deep: {_chain_text((*active, name))}",
                name=name,
            )
        raw = [_item_value(text) for text in self.lists[name]]
        result = self.values(tuple(v for v in raw if v is not None), (*active, name))
        self.list_cache[name] = result
        return result


def _item_value(text: str) -> Value | None:
    """A list item as Falco's textual expansion reads it: quotes delimit a string, and an
    item holding spaces is one string (Falco quotes it), not several words."""
    item = str(text).strip()
    if not item:
        return None
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "\"'":
        return Value(item[1:-1], quoted=True)
    return Value(item, quoted=any(ch.isspace() for ch in item))


def substitute_bare_lists(expr: Expr, lists: dict[str, list[str]]) -> Expr:
    """``proc.name=cat_binaries`` -> ``proc.name=cat`` where the list has one item.

    Falco expands list names textually wherever they stand between delimiters, so a list
    name used as a single value works too; a value list (``in (...)``) is handled by expand.
    """
    if isinstance(expr, Compare):
        rhs = expr.rhs
        if isinstance(rhs, Value) and not rhs.quoted and rhs.text in lists:
            items = expand_list(rhs.text, lists)
            if len(items) == 1:
                item = items[0]
                quoted = len(item) >= 2 and item[0] == item[-1] and item[0] in "\"'"
                text = item[1:-1] if quoted else item
                return Compare(expr.lhs, expr.op, Value(text, quoted, rhs.pos), expr.pos)
        return expr
    if isinstance(expr, And | Or):
        return type(expr)(tuple(substitute_bare_lists(a, lists) for a in expr.args), expr.pos)
    if isinstance(expr, Not):
        return Not(substitute_bare_lists(expr.arg, lists), expr.pos)
    return expr
