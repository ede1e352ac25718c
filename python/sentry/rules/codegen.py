"""Generate one Python function per rule list: the engine's hot path for syscall events.

For the rules indexed under one event type, :func:`build_program` writes the source of a
function ``program(event) -> index of the first matching rule, or -1`` and compiles it once.
Compared with calling each rule's closure tree (:mod:`sentry.rules.compiler`):

- ``and``/``or``/``not`` are Python's own operators, not nested closure calls;
- each field is extracted at most once per event, into a local shared by every rule
  (``f3 if f3 is not U else (f3 := x3(ev))``), which replaces the per-event memo;
- a sub-condition that several rules share (an expanded macro such as ``open_write``), and
  a comparison that calls a test function (IP networks, globs, bool of odd values) met more
  than once, is evaluated at most once per event, into a local as well;
- the common comparisons on str and int fields are inline expressions.

Semantics are the compiler's: the same constants, value tests and folding of constant
outcomes (:meth:`_Compiler.leaf` and :meth:`_Compiler.tests` provide them); what has no
inline form (``exists``, ``val()``, transformers, bytes fields) calls the compiled closure.
A rule without a stored condition tree, or source that Python refuses (nesting too deep),
falls back to calling each rule's ``match``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sentry.fields.registry import FieldType, Known, resolve, specialise
from sentry.rules.ast import And, BoolConst, Compare, Expr, Identifier, Not, Or, to_text, walk
from sentry.rules.compiler import _Compiler, _flatten

if TYPE_CHECKING:
    from sentry.rules.ruleset import CompiledRule  # ruleset imports this module

Program = Callable[[Any], int]

_UNSET = object()
_ORDER_OPS = frozenset({"<", "<=", ">", ">="})


class _Emitter:
    """Source text for the conditions of one rule list, with its namespace of constants."""

    def __init__(self, shared: set[str], known: dict[str, Any], info: Any = None):
        self.compiler = _Compiler(resolve)
        self.known = known  # field name -> the value every event of the program's type has
        self.info = info  # the EventInfo of the program's type, when it has one
        self.namespace: dict[str, Any] = {"U": _UNSET}
        self.fields: dict[tuple[str, str | None], str] = {}  # (name, arg) -> local
        self.shared = shared  # texts of sub-conditions worth a local
        self.bools: dict[str, str] = {}  # text -> local

    def constant(self, value: Any) -> str:
        name = f"k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def value(self, key: tuple[str, str | None], extract: Callable[[Any], Any]) -> str:
        """Code that yields the field's value, extracting it on first use in the event."""
        local = self.fields.get(key)
        if local is None:
            local = self.fields[key] = f"f{len(self.fields)}"
            self.namespace["x" + local] = extract
        return f"({local} if {local} is not U else ({local} := x{local}(ev)))"

    def expr(self, node: Expr) -> str | bool:
        """Code for ``node``, or a bool when its outcome needs no event (as the compiler)."""
        if isinstance(node, And | Or) or (
            isinstance(node, Not) and not isinstance(node.arg, Compare)
        ):
            text = to_text(node) if self.shared else ""
            if text in self.shared:
                local = self.bools.get(text)
                if local is None:
                    code = self.boolean(node)
                    if isinstance(code, bool):
                        return code
                    local = self.bools[text] = f"b{len(self.bools)}"
                    return f"({local} := ({code}))"  # first use: evaluates, stores
                return self.cached_bool(local, node)
            return self.boolean(node)
        if isinstance(node, Compare):
            code, costly = self.compare(node)
            if not costly or isinstance(code, bool) or not self.shared:
                return code
            text = to_text(node)  # a test that calls out, met again: computed once
            if text not in self.shared:
                return code
            local = self.bools.get(text)
            if local is None:
                local = self.bools[text] = f"b{len(self.bools)}"
                return f"({local} := {code})"
            return f"({local} if {local} is not U else ({local} := {code}))"
        if isinstance(node, Not):
            inner = self.expr(node.arg)
            return (not inner) if isinstance(inner, bool) else f"(not {inner})"
        if isinstance(node, BoolConst):
            return node.value
        assert isinstance(node, Identifier)
        raise AssertionError(f"unexpanded macro {node.name}")

    def cached_bool(self, local: str, node: Expr) -> str:
        # A later use: evaluated already unless the first use was short-circuited away.
        code = self.boolean(node)
        return f"({local} if {local} is not U else ({local} := ({code})))"

    def boolean(self, node: Expr) -> str | bool:
        if isinstance(node, Not):
            inner = self.expr(node.arg)
            return (not inner) if isinstance(inner, bool) else f"(not {inner})"
        assert isinstance(node, And | Or)
        is_and = isinstance(node, And)
        args = self.compiler.merge_memberships(_flatten(node, type(node)), negated=is_and)
        parts: list[str] = []
        for arg in args:
            code = self.expr(arg)
            if code is (not is_and):  # False in an and, True in an or: decides alone
                return code
            if isinstance(code, bool):
                continue
            parts.append(code)
        if not parts:
            return is_and
        return "(" + (" and " if is_and else " or ").join(parts) + ")"

    def compare(self, node: Compare) -> tuple[str | bool, bool]:
        """(code or outcome, whether the code calls a test function on every run)."""
        leaf = self.compiler.leaf(node)
        if leaf is None:
            matcher, _ = self.compiler.compare(node)
            if isinstance(matcher, bool):
                return matcher, False
            return f"{self.constant(matcher)}(ev)", True
        ref = leaf.ref
        if ref.arg is None and ref.name in self.known:
            return bool(leaf.slow(self.known[ref.name])), False  # the same test, run now
        extract = leaf.extract
        if self.info is not None:
            special = specialise(extract, self.info)
            if isinstance(special, Known):  # the type decides: the test runs now
                return special.value is not None and bool(leaf.slow(special.value)), False
            extract = special
        v = self.value((ref.name, ref.arg), extract)
        local = v[1 : v.index(" ")]
        slow = self.constant(leaf.slow)
        op, cls = leaf.op, leaf.cls
        costly = False
        if leaf.ftype is FieldType.BOOL and op in ("=", "!=", "in", "intersects"):
            # A bool value: the test is membership (a string value takes the slow path).
            members = self.constant(frozenset(leaf.consts))
            test = f"{local} {'not in' if op == '!=' else 'in'} {members}"
            other = f"{local} is not None and {slow}({local})"
            return f"({test} if {v}.__class__ is bool else {other})", False
        if cls is None:
            return f"({v} is not None and {slow}({local}))", True
        if op in ("in", "intersects"):
            test = f"{local} in {self.constant(frozenset(leaf.consts))}"
        elif op in ("=", "!=") or op in _ORDER_OPS:
            test = f"{local} {'==' if op == '=' else op} {self.constant(leaf.consts[0])}"
        elif cls is not str:
            return f"({v} is not None and {slow}({local}))", True
        elif op == "startswith":
            test = f"{local}.startswith({self.constant(leaf.consts[0])})"
        elif op == "contains":
            test = f"{self.constant(leaf.consts[0])} in {local}"
        else:
            test = f"{self.constant(leaf.single)}({local})"
            costly = True
        other = f"{local} is not None and {slow}({local})"  # None fails every test
        return f"({test} if {v}.__class__ is {self.constant(cls)} else {other})", costly


def _shared_texts(trees: Sequence[Expr]) -> set[str]:
    """Texts of sub-conditions (and comparisons) that occur more than once among ``trees``."""
    counts: Counter[str] = Counter()
    for tree in trees:
        for node in walk(tree):
            if isinstance(node, And | Or | Compare) or (
                isinstance(node, Not) and not isinstance(node.arg, Compare)
            ):
                counts[to_text(node)] += 1
    return {text for text, n in counts.items() if n > 1}


def header_constants(number: int) -> dict[str, Any]:
    """Fields whose value the event number alone decides: ``evt.dir``, and ``evt.type``
    except for generic events (whose type is the syscall in their first parameter)."""
    from sentry.events.table import EVENTS

    info = EVENTS.get(number)
    if info is None:
        return {}
    known: dict[str, Any] = {"evt.dir": info.direction}
    if info.name != "syscall":
        known["evt.type"] = info.name
    return known


def decided_false(tree: Expr, number: int) -> bool:
    """Whether the program for events of type ``number`` decides ``tree`` False when it is
    built (what ``header_constants`` and the type's field forms fix make it false)."""
    from sentry.events.table import EVENTS

    emitter = _Emitter(set(), header_constants(number), EVENTS.get(number))
    return emitter.expr(tree) is False


def build_program(
    rules: Sequence[CompiledRule], known: dict[str, Any] | None = None, number: int | None = None
) -> Program:
    """``program(event) -> index`` of the first rule of ``rules`` whose condition holds, or -1.

    Each rule offers ``match_ast`` (the tree its ``match`` was compiled from, or None) and
    ``match``. ``known`` maps field names to the value they have on every event the program
    will see (:func:`header_constants`): comparisons of those fields are decided here.
    With the event ``number`` the program is for, fields that have a cheaper form for that
    type (:func:`sentry.fields.registry.specialise`) use it, or are decided here too.
    """
    from sentry.events.table import EVENTS

    trees = [r.match_ast for r in rules]
    info = EVENTS.get(number) if number is not None else None
    emitter = _Emitter(_shared_texts([t for t in trees if t is not None]), known or {}, info)
    body: list[str] = []
    for i, (rule, tree) in enumerate(zip(rules, trees, strict=True)):
        code: str | bool = (
            f"{emitter.constant(rule.match)}(ev)" if tree is None else emitter.expr(tree)
        )
        if code is True:
            body.append(f"    return {i}")
            break
        if code is not False:
            body.append(f"    if {code}:\n        return {i}")
    locals_ = list(emitter.fields.values()) + list(emitter.bools.values())
    head = ["def program(ev):"]
    if locals_:
        head.append("    " + " = ".join(locals_) + " = U")
    source = "\n".join(head + body + ["    return -1", ""])
    try:
        code_obj = compile(source, "<rules program>", "exec")
    except (SyntaxError, RecursionError, MemoryError):
        return _fallback(rules)
    namespace = emitter.namespace
    exec(code_obj, namespace)  # source generated above from compiled rules
    program: Program = namespace["program"]
    program.__doc__ = source  # what it runs, for debugging
    return program


def _fallback(rules: Sequence[Any]) -> Program:
    matchers = tuple(r.match for r in rules)

    def program(ev: Any) -> int:
        for i, match in enumerate(matchers):
            if match(ev):
                return i
        return -1

    return program
