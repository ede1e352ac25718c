"""The condition language's syntax tree: what the parser builds and the compiler consumes.

A condition is an expression over events (Falco/sysdig syntax)::

    evt.type in (open, openat) and not proc.name in (shell_binaries) and fd.name startswith /etc

Nodes are small frozen dataclasses. ``pos`` is the 1-based column where a node starts in the
text it came from; it is kept for error messages and ignored by ``==``, so trees parsed from
differently spaced texts compare equal. :func:`to_text` prints a tree back as a condition
that parses to the same tree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

# Operators that take no right-hand side, one value, or a parenthesised list of values.
UNARY_OPERATORS = frozenset({"exists"})
LIST_OPERATORS = frozenset({"in", "intersects", "pmatch"})
VALUE_OPERATORS = frozenset(
    {
        "=", "!=", "<", "<=", ">", ">=",
        "contains", "icontains", "bcontains",
        "startswith", "bstartswith", "endswith",
        "glob", "iglob", "regex",
    }
)  # fmt: skip
WORD_OPERATORS = frozenset(
    op for op in UNARY_OPERATORS | LIST_OPERATORS | VALUE_OPERATORS if op.isalpha()
)
TRANSFORMERS = frozenset({"tolower", "toupper", "b64", "basename", "len"})


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field as written: ``proc.aname[2]`` is ``FieldRef("proc.aname", "2")``."""

    name: str
    arg: str | None = None
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Transform:
    """A transformer applied to a field on the left: ``tolower(proc.name)``."""

    func: str
    operand: Operand
    pos: int = dataclasses.field(default=0, compare=False)


Operand = FieldRef | Transform


@dataclass(frozen=True, slots=True)
class Value:
    """One constant as written; ``quoted`` says it came from a quoted string."""

    text: str
    quoted: bool = False
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ValueList:
    """A parenthesised list of constants; nested lists are flattened by the parser."""

    items: tuple[Value, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class FieldValue:
    """``val(field)`` on the right: compare against another field of the same event."""

    field: FieldRef
    pos: int = dataclasses.field(default=0, compare=False)


Rhs = Value | ValueList | FieldValue | None


@dataclass(frozen=True, slots=True)
class Compare:
    """``lhs op rhs``; ``rhs`` is None for ``exists``. ``==`` is stored as ``=``."""

    lhs: Operand
    op: str
    rhs: Rhs
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    args: tuple[Expr, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    args: tuple[Expr, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    arg: Expr
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A bare name in condition position: a macro reference, expanded by the rules loader."""

    name: str
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class BoolConst:
    """A condition known without looking at an event (``x in ()`` is always false)."""

    value: bool
    pos: int = dataclasses.field(default=0, compare=False)


Expr = Compare | And | Or | Not | Identifier | BoolConst


def walk(expr: Expr) -> Iterator[Expr]:
    """Every condition node of ``expr``, parents before children, in text order
    (left to right), as Falco's evt.type reading needs."""
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, And | Or):
            stack.extend(reversed(node.args))
        elif isinstance(node, Not):
            stack.append(node.arg)


def macro_names(expr: Expr) -> set[str]:
    """Names of the macros ``expr`` refers to (before expansion)."""
    return {node.name for node in walk(expr) if isinstance(node, Identifier)}


def base_field(operand: Operand) -> FieldRef:
    """The field under any transformers: ``proc.name`` for ``tolower(proc.name)``."""
    while isinstance(operand, Transform):
        operand = operand.operand
    return operand


# Printing back to text -------------------------------------------------------------------

_BARE_STOP = frozenset(" \t\r\n\f\v(),'\"")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _value_text(value: Value) -> str:
    text = value.text
    keyword_like = text in ("and", "or", "not") or text.startswith("val(")
    bare_safe = text and not keyword_like and not any(ch in _BARE_STOP for ch in text)
    if bare_safe and not value.quoted:
        return text
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def _field_text(ref: FieldRef) -> str:
    return ref.name if ref.arg is None else f"{ref.name}[{ref.arg}]"


def operand_text(operand: Operand) -> str:
    """``tolower(proc.name)``, ``proc.aname[2]``: the left side as written."""
    if isinstance(operand, Transform):
        return f"{operand.func}({operand_text(operand.operand)})"
    return _field_text(operand)


def _rhs_text(rhs: Rhs) -> str:
    if rhs is None:
        return ""
    if isinstance(rhs, FieldValue):
        return f" val({_field_text(rhs.field)})"
    if isinstance(rhs, ValueList):
        return " (" + ", ".join(_value_text(v) for v in rhs.items) + ")"
    return " " + _value_text(rhs)


def to_text(expr: Expr) -> str:
    """A condition text that parses back to ``expr`` (positions aside)."""
    if isinstance(expr, Compare):
        return f"{operand_text(expr.lhs)} {expr.op}{_rhs_text(expr.rhs)}"
    if isinstance(expr, Identifier):
        return expr.name
    if isinstance(expr, Not):
        inner = to_text(expr.arg)
        return f"not ({inner})" if isinstance(expr.arg, And | Or) else f"not {inner}"
    if isinstance(expr, BoolConst):
        # No literal exists in the language; these never reach users from the parser.
        return "(evt.num >= 0)" if expr.value else "(evt.num < 0)"
    word = " and " if isinstance(expr, And) else " or "
    parts = [f"({to_text(a)})" if isinstance(a, And | Or) else to_text(a) for a in expr.args]
    return word.join(parts)
