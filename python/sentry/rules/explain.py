"""Why a rule fired (or nearly did): its condition as a tree, each clause's value at one event.

An :class:`Explainer` holds the rules' definitions (conditions as written, macros, lists,
exceptions). ``explain(rule, ev)`` re-evaluates the rule's condition clause by clause at
``ev`` -- slowly, through a small compiled filter per leaf, which is why only alerting
events (``sentry run --explain``) and candidate near misses (``sentry tail --explain``)
pay for it -- and keeps macros and exceptions as named nodes instead of expanding them, so
the tree says which macro, list or exception decided. The engine's compiled rule is not
involved: the explanation is a second reading of the same condition at the same state.

:func:`render` prints a tree in a few short lines; :func:`to_json` gives it for the alert
JSON; :meth:`Explainer.near_miss` says whether an event failed a rule on exactly one of
its top-level clauses (its event type matching).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sentry.errors import SentryError
from sentry.rules.ast import (
    And,
    BoolConst,
    Compare,
    Expr,
    FieldValue,
    Identifier,
    Not,
    Or,
    Value,
    ValueList,
    base_field,
    operand_text,
    to_text,
)

if TYPE_CHECKING:
    from sentry.pipeline import Explain, Record
    from sentry.rules.definitions import RuleDefinitions
    from sentry.rules.ruleset import CompiledRule


MAX_TEXT = 72
MAX_DEPTH = 4


@dataclass(slots=True)
class Node:
    """One clause at one event."""

    kind: str  # and, or, not, macro, exception, compare, const
    label: str  # the clause as text, or the macro / exception name
    value: bool | None  # None: could not be evaluated
    fields: dict[str, Any] = field(default_factory=dict)  # field -> value at the event
    children: list[Node] = field(default_factory=list)
    decided: bool = False  # this child gave its parent its value
    via: str = ""  # e.g. "bash in list shell_binaries"


def _short(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Explainer:
    """Explanations of rules from their definitions (a loader's RuleDefinitions)."""

    def __init__(self, defs: RuleDefinitions):
        from sentry.rules.parser import parse_condition

        self._parse = parse_condition
        self.rules = defs.rules
        self.macros = {name: m.condition for name, m in defs.macros.items()}
        self.lists = {name: list(item.items) for name, item in defs.lists.items()}
        self._macro_trees: dict[str, Expr] = {}
        self._rule_trees: dict[str, list[tuple[str, str, Expr]]] = {}
        self._leaves: dict[int, tuple[Any, Compare]] = {}
        self._fields: dict[tuple[str, str | None], Any] = {}

    # -- the trees

    def clauses(self, rule: str) -> list[tuple[str, str, Expr]]:
        """The rule's condition and its exceptions: (kind, label, tree) each."""
        if rule not in self._rule_trees:
            from sentry.rules.exceptions import exception_condition

            rdef = self.rules[rule]
            parts: list[tuple[str, str, Expr]] = [
                ("condition", "condition", self._parse(rdef.condition))
            ]
            for ex in rdef.exceptions:
                text = exception_condition(ex)
                if text is not None:
                    parts.append(("exception", ex.name, self._parse(text)))
            self._rule_trees[rule] = parts
        return self._rule_trees[rule]

    def _macro(self, name: str) -> Expr:
        if name not in self._macro_trees:
            cond = self.macros[name]
            self._macro_trees[name] = self._parse(cond) if isinstance(cond, str) else cond
        return self._macro_trees[name]

    # -- evaluation

    def explain(self, rule: str, ev: Any) -> Node:
        """The rule's tree at ``ev``: an ``and`` of the condition and ``not`` each exception."""
        children = []
        for kind, label, tree in self.clauses(rule):
            node = self._node(tree, ev, 0)
            if kind == "exception":
                inner = Node("exception", label, node.value, children=[node])
                children.append(
                    Node("not", f"exception {label}", _not(node.value), children=[inner])
                )
            elif node.kind == "and":  # its clauses beside the exceptions, one level
                children += node.children
            else:
                children.append(node)
        if len(children) == 1:
            return children[0]
        return self._combine("and", "and", children)

    def _node(self, expr: Expr, ev: Any, depth: int) -> Node:
        if isinstance(expr, Identifier):
            if expr.name not in self.macros:
                return Node("macro", expr.name, None)
            inner = self._node(self._macro(expr.name), ev, depth + 1)
            return Node("macro", expr.name, inner.value, children=[inner])
        if isinstance(expr, Not):
            inner = self._node(expr.arg, ev, depth + 1)
            inner.decided = True
            return Node("not", "not", _not(inner.value), children=[inner])
        if isinstance(expr, And | Or):
            kind = "and" if isinstance(expr, And) else "or"
            return self._combine(kind, kind, [self._node(a, ev, depth + 1) for a in expr.args])
        if isinstance(expr, BoolConst):
            return Node("const", str(expr.value).lower(), expr.value)
        return self._compare(expr, ev)

    @staticmethod
    def _combine(kind: str, label: str, children: list[Node]) -> Node:
        values = [c.value for c in children]
        if kind == "and":
            value = False if False in values else (None if None in values else True)
            decider = False
        else:
            value = True if True in values else (None if None in values else False)
            decider = True
        if value is decider:  # the first child with that value decided
            next(c for c in children if c.value is decider).decided = True
        return Node(kind, label, value, children=children)

    def _compare(self, expr: Compare, ev: Any) -> Node:
        from sentry.rules.compiler import compile_filter
        from sentry.rules.expand import substitute_bare_lists

        key = id(expr)
        if key not in self._leaves:
            leaf = substitute_bare_lists(expr, self.lists)
            try:
                flt = compile_filter(leaf, lists=self.lists)
            except SentryError:
                flt = None
            self._leaves[key] = (flt, expr)
        flt, _ = self._leaves[key]
        node = Node("compare", to_text(expr), None)
        try:
            node.value = bool(flt.match(ev)) if flt is not None else None
        except Exception:  # an extractor that fails here fails the same way in the rule
            node.value = None
        refs = [base_field(expr.lhs)]
        if isinstance(expr.rhs, FieldValue):
            refs.append(expr.rhs.field)
        for ref in refs:
            name = ref.name if ref.arg is None else f"{ref.name}[{ref.arg}]"
            node.fields[name] = self._value(ref.name, ref.arg, ev)
        node.via = self._via(expr, node)
        return node

    def _value(self, name: str, arg: str | None, ev: Any) -> Any:
        from sentry.fields.registry import resolve

        key = (name, arg)
        if key not in self._fields:
            try:
                self._fields[key] = resolve(name, arg)
            except SentryError:
                self._fields[key] = None
        bound = self._fields[key]
        if bound is None:
            return None
        try:
            value = bound.extract(ev)
        except Exception:
            return None
        if isinstance(value, tuple | list | set | frozenset):
            return [str(v) for v in value]
        return value

    def _via(self, expr: Compare, node: Node) -> str:
        """``bash in list shell_binaries``: the list a matching value came from."""
        if not node.value or expr.op not in ("in", "=", "pmatch", "intersects"):
            return ""
        rhs = expr.rhs
        items = (
            rhs.items if isinstance(rhs, ValueList) else ((rhs,) if isinstance(rhs, Value) else ())
        )
        values = next(iter(node.fields.values()), None)
        wanted = {str(v) for v in values} if isinstance(values, list) else {str(values)}
        for item in items:
            if not item.quoted and item.text in self.lists:
                from sentry.rules.expand import expand_list

                hit = wanted & set(expand_list(item.text, self.lists))
                if hit:
                    return f"{sorted(hit)[0]} in list {item.text}"
        return ""

    # -- near misses

    def near_miss(self, rule: str, ev: Any) -> Node | None:
        """The one top-level clause ``ev`` failed (its others true), else None."""
        tree = self.explain(rule, ev)
        if tree.value is not False:
            return None
        clauses = _flatten_and(tree)
        failed = [c for c in clauses if c.value is not True]
        if len(failed) != 1 or failed[0].value is None:
            return None
        if any(c.kind == "compare" and c.label.startswith("evt.type") for c in failed):
            return None  # its event type did not match: not a near miss
        return failed[0]


def alert_explainer(defs: RuleDefinitions) -> Explain:
    """What ``Pipeline.explainer`` takes: ``(compiled rule, event) -> Node``."""
    explainer = Explainer(defs)

    def explain(rule: CompiledRule, ev: Record) -> Node | None:
        if rule.name not in explainer.rules:  # a rule reloaded in since: no explanation
            return None
        try:
            return explainer.explain(rule.name, ev)
        except Exception:  # an explanation never costs an alert
            return None

    return explain


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _flatten_and(node: Node) -> list[Node]:
    """The top-level clauses: through ``and`` nodes and macros that are an ``and``."""
    if node.kind == "and":
        return [c for child in node.children for c in _flatten_and(child)]
    return [node]


# ---------------------------------------------------------------------------- output


def _mark(value: bool | None) -> str:
    return {True: "✓", False: "✗", None: "?"}[value]


def _fields_text(node: Node) -> str:
    parts = []
    for name, value in node.fields.items():
        if isinstance(value, list):
            value = "[" + ", ".join(value[:4]) + (", ..." if len(value) > 4 else "") + "]"
        parts.append(f"{name}={_short(str(value), 48) if value is not None else '<NA>'}")
    if node.via:
        parts.append(node.via)
    return ("  (" + ", ".join(parts) + ")") if parts else ""


def node_line(node: Node) -> str:
    """One line for ``node``: mark, clause or name, field values."""
    if node.kind in ("macro", "exception"):
        label = f"{node.kind} {node.label}"
    elif node.kind == "compare":
        label = _short(node.label)
    else:
        label = node.label
    return f"{_mark(node.value)} {label}{_fields_text(node)}"


def render(node: Node, indent: str = "  ", max_depth: int = MAX_DEPTH, margin: str = "") -> str:
    """The tree in short lines; a macro's or a not's single child is folded into it."""
    lines: list[str] = []

    def visit(n: Node, depth: int, prefix: str) -> None:
        # Fold "not X" and "macro M -> and/or" chains: one line says the same.
        while n.kind == "not" and len(n.children) == 1:
            inner = n.children[0]
            prefix, n = (
                prefix + "not ",
                Node(
                    inner.kind,
                    inner.label,
                    n.value,
                    inner.fields,
                    inner.children,
                    n.decided,
                    inner.via,
                ),
            )
        star = " <- decided" if n.decided and n.value is not None else ""
        lines.append(f"{margin}{indent * depth}{_mark(n.value)} {prefix}{node_line(n)[2:]}{star}")
        kids = n.children
        if (
            n.kind in ("macro", "exception", "not")
            and len(kids) == 1
            and kids[0].kind in ("and", "or")
        ):
            kids = kids[0].children
        elif n.kind in ("macro", "exception") and len(kids) == 1:
            lines[-1] += f"  [{node_line(kids[0])[2:]}]"
            kids = []
        if depth + 1 >= max_depth and kids:
            lines[-1] += f"  [{len(kids)} clauses]"
            return
        for kid in kids:
            visit(kid, depth + 1, "")

    top = node.children if node.kind == "and" else [node]
    for child in top:
        visit(child, 0, "")
    return "\n".join(lines)


def to_json(node: Node) -> dict[str, Any]:
    """The tree for the alert JSON's ``explain``."""
    out: dict[str, Any] = {"kind": node.kind, "clause": node.label, "value": node.value}
    if node.fields:
        out["fields"] = node.fields
    if node.via:
        out["via"] = node.via
    if node.decided:
        out["decided"] = True
    if node.children:
        out["children"] = [to_json(c) for c in node.children]
    return out


__all__ = ["Explainer", "Node", "node_line", "operand_text", "render", "to_json"]
