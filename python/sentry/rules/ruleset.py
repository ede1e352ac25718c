"""Compile loaded definitions into a ruleset: conditions compiled, indexed by event type.

:func:`compile_rules` takes :class:`~sentry.rules.loader.RuleDefinitions` and, for every
rule: parses its condition, folds its exceptions in (``cond and not (exception rows)``),
expands macros and lists, resolves fields, checks its output format and works out which
event types it can match. Every problem is added to the definitions' problem list with the
rule's file and line, so one pass reports them all. Macros are checked even when no rule uses
them (an undefined macro inside one is an error, as in Falco).

:class:`Ruleset` then selects the rules to run (``enabled``, ``-D`` substrings, ``-T``/``-t``
tags, minimum priority, sources) and builds the per-event-type index the engine uses:
``ruleset.for_type[event_number]`` is the tuple of rules to evaluate for that type, in
definition order, so an event of a type no rule cares about costs one list lookup.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sentry.errors import FieldArgumentError, FilterSyntaxError, SentryError, UnknownFieldError
from sentry.fields.registry import BoundField, resolve
from sentry.rules.ast import (
    LIST_OPERATORS,
    TRANSFORMERS,
    VALUE_OPERATORS,
    And,
    BoolConst,
    Compare,
    Expr,
    Not,
    Or,
    Value,
    ValueList,
    walk,
)
from sentry.rules.codegen import Program, build_program, header_constants
from sentry.rules.compiler import Filter, compile_filter
from sentry.rules.evttypes import falco_evttypes
from sentry.rules.expand import MacroError, expand, expand_list
from sentry.rules.lint import value_warnings
from sentry.rules.loader import ExceptionDef, Priority, Problem, RuleDef, RuleDefinitions, Severity
from sentry.rules.parser import parse_condition

EXCEPTION_OPERATORS = frozenset(VALUE_OPERATORS | LIST_OPERATORS)

OutputCompiler = Callable[[str, str], Any]
"""``(output text, source) -> compiled output``; raises SentryError when the format is bad."""


@dataclass(slots=True)
class CompiledRule:
    """A rule ready to run: ``match(event)`` and its rendered-output object."""

    name: str
    priority: Priority
    source: str
    tags: tuple[str, ...]
    filter: Filter
    output: Any  # what the OutputCompiler returned (an OutputFormat for the engine)
    evttypes: frozenset[str] | None  # event types as Falco reports them, None: every type
    enabled: bool
    desc: str = ""
    # What the engine runs: the event types the rule is indexed under (None: all) and the
    # matcher for events of those types, which may leave out a leading evt.type test that
    # the index already guarantees (see split_type_guard).
    index_types: frozenset[str] | None = None
    match: Callable[[Any], bool] = field(default=None)  # type: ignore[assignment]
    match_ast: Expr | None = None  # the condition ``match`` was compiled from (for codegen)

    def __post_init__(self) -> None:
        if self.match is None:
            self.match = self.filter.match


def name_matches(pattern: str, name: str) -> bool:
    """Falco's rule-name wildcard: ``*`` matches any text, everything else itself."""
    if "*" not in pattern:
        return pattern == name
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name, re.DOTALL) is not None


@dataclass(frozen=True, slots=True)
class Selection:
    """Which compiled rules run (the config's ``rules:``, Falco's -D, -T, -t, priority and
    sources).

    ``toggles`` is the configuration's ``rules:`` list, ``(enable|disable, rule|tag,
    pattern)`` applied in order over each rule's own ``enabled`` (so it can enable a rule
    its file disables); -D/-T/-t then narrow what is enabled.
    """

    disabled_substrings: tuple[str, ...] = ()
    disabled_tags: tuple[str, ...] = ()
    enabled_tags: tuple[str, ...] = ()  # non-empty: only rules carrying one of these
    min_priority: Priority = Priority.DEBUG
    sources: frozenset[str] = frozenset({"syscall", "k8s_audit"})
    toggles: tuple[tuple[str, str, str], ...] = ()
    # engine.enter_events: evaluate (rules also see syscall enter events, Falco <= 0.41),
    # skip (exit events only, one evaluation per syscall, Falco >= 0.42) or auto (skip when
    # the rules require an engine version of a release without enter events).
    enter_events: str = "auto"

    def check(self) -> None:
        if self.enabled_tags and (self.disabled_substrings or self.disabled_tags):
            raise SentryError("cannot both disable rules (-D/-T) and run only tagged rules (-t)")

    def enabled(self, rule: CompiledRule) -> bool:
        """The rule's ``enabled``, after the configuration's ``rules:`` toggles."""
        on = rule.enabled
        for action, kind, pattern in self.toggles:
            hit = name_matches(pattern, rule.name) if kind == "rule" else pattern in rule.tags
            if hit:
                on = action == "enable"
        return on

    def keeps(self, rule: CompiledRule) -> bool:
        if not self.enabled(rule) or rule.priority > self.min_priority:
            return False
        if rule.source not in self.sources:
            return False
        if any(s in rule.name for s in self.disabled_substrings):
            return False
        if self.disabled_tags and any(t in rule.tags for t in self.disabled_tags):
            return False
        return not (self.enabled_tags and not any(t in rule.tags for t in self.enabled_tags))


TODAY_RESOLVER_ENGINE_VERSION = (0, 10, 0)
"""Rules requiring an engine version after Falco 0.28.1's (9) get today's event-type
resolver (libs' filter_evttype_resolver: ``or`` is the union of both sides, a comparison not
on evt.type allows every type); older ones keep 0.28.1's walk (:mod:`sentry.rules.evttypes`),
which the 0.28.1 conformance cases expect."""

ENTERLESS_ENGINE_VERSION = (0, 52, 0)
"""The first rules engine version of a Falco whose drivers send no syscall enter events
(Falco 0.42, libs' "drop enter events": each syscall is one exit event that carries its
enter's parameters). ``engine.enter_events: auto`` evaluates rules on exit events only
for rules files requiring at least this version."""


@functools.cache
def syscall_enter_numbers() -> frozenset[int]:
    """Enter events of system calls (those with an exit of the same name): the ones Falco
    0.42's drivers no longer send. Meta events (procexit, container, signaldeliver ...)
    stay."""
    from sentry.events.table import EVENTS

    return frozenset(
        code
        for code, info in EVENTS.items()
        if info.direction == ">"
        and (x := EVENTS.get(code + 1)) is not None
        and x.name == info.name
        and info.name not in ("container", "signaldeliver", "scapevent", "pluginevent")
    )


@functools.cache
def _enter_reader() -> CompiledRule:
    """The never-matching rule that keeps a skipped enter event in the reader's types."""
    never = compile_filter(BoolConst(False))
    return CompiledRule(
        "(enter event of a rule's exit)",
        Priority.DEBUG,
        "syscall",
        (),
        never,
        None,
        None,
        True,
        match_ast=BoolConst(False),
    )


class Ruleset:
    """Compiled rules plus the event-type index for the selected ones."""

    def __init__(
        self,
        rules: list[CompiledRule],
        type_numbers: Callable[[str], Iterable[int]],
        event_max: int,
        selection: Selection | None = None,
        engine_version: tuple[int, int, int] = (0, 0, 0),
    ):
        self.all_rules = rules
        self.engine_version = engine_version  # the rules' required_engine_version
        self._type_numbers = type_numbers
        self._event_max = event_max
        self.selection = selection or Selection()
        self.selection.check()
        self.rules: list[CompiledRule] = []
        self.for_type: list[tuple[CompiledRule, ...]] = []
        self.by_source: dict[str, tuple[CompiledRule, ...]] = {}
        self._build()

    def select(self, selection: Selection) -> Ruleset:
        """The same compiled rules with another selection."""
        return Ruleset(
            self.all_rules, self._type_numbers, self._event_max, selection, self.engine_version
        )

    @property
    def evaluates_enter(self) -> bool:
        """Whether syscall rules are evaluated on enter events too (see Selection)."""
        mode = self.selection.enter_events
        if mode == "auto":
            return self.engine_version < ENTERLESS_ENGINE_VERSION
        return mode == "evaluate"

    def _build(self) -> None:
        self.rules = [r for r in self.all_rules if self.selection.keeps(r)]
        buckets: list[list[CompiledRule]] = [[] for _ in range(self._event_max)]
        by_source: dict[str, list[CompiledRule]] = {}
        skipped = frozenset() if self.evaluates_enter else syscall_enter_numbers()
        for rule in self.rules:
            by_source.setdefault(rule.source, []).append(rule)
            if rule.source != "syscall":
                continue
            if rule.index_types is None:
                numbers: Iterable[int] = range(self._event_max)
            else:
                numbers = sorted({n for name in rule.index_types for n in self._type_numbers(name)})
            for n in numbers:
                if 0 <= n < self._event_max and n not in skipped:
                    buckets[n].append(rule)
        if skipped:
            # The enter of a syscall whose exit runs rules is still read (an exit's evt.arg.*
            # reads its enter's parameters, and the thread's last event must be that enter):
            # a rule that never matches holds its place in the index.
            for n in skipped:
                if n + 1 < self._event_max and buckets[n + 1] and not buckets[n]:
                    buckets[n].append(_enter_reader())
        self.for_type = [tuple(b) for b in buckets]
        self._programs: dict[tuple[Any, ...], Program] = {}
        self.by_source = {s: tuple(rs) for s, rs in by_source.items()}

    def program(self, rules: tuple[CompiledRule, ...], number: int | None = None) -> Program:
        """The generated evaluator of ``rules`` (a ``for_type`` entry), built on first use.

        With the event ``number`` the rules are evaluated for, the program is specialised:
        ``evt.dir`` (and ``evt.type``) tests are decided when it is built.
        """
        known = header_constants(number) if number is not None else {}
        key = (tuple(map(id, rules)), number)
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = build_program(rules, known, number)
        return program

    def __len__(self) -> int:
        return len(self.rules)

    def evttype_names(self) -> set[str] | None:
        """Every event type name some selected syscall rule needs (None: all of them)."""
        names: set[str] = set()
        for rule in self.rules:
            if rule.source != "syscall":
                continue
            if rule.index_types is None:
                return None
            names |= rule.index_types
        return names


# ---------------------------------------------------------------- compilation


def _substitute_bare_lists(expr: Expr, lists: dict[str, list[str]]) -> Expr:
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
        return type(expr)(tuple(_substitute_bare_lists(a, lists) for a in expr.args), expr.pos)
    if isinstance(expr, Not):
        return Not(_substitute_bare_lists(expr.arg, lists), expr.pos)
    return expr


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


class FieldMemo:
    """Per-event memo of syscall field values, shared by every rule of a ruleset.

    Many rules indexed under the same event type read the same fields (``evt.is_open_write``,
    ``fd.name``, ``proc.name``); the first rule to read one on an event pays for extracting
    it, the others get the stored value. The memo is keyed by the event object and its
    number, so it empties itself when the next event comes. Only syscall fields are memoised:
    syscall events are evaluated by one thread, audit events may come from several.
    """

    __slots__ = ("bound", "event", "num", "values")

    def __init__(self) -> None:
        self.event: Any = None
        self.num = -1
        self.values: dict[str, Any] = {}
        # One bound field per field reference in the whole ruleset, not one per use (20k
        # rules reading fd.name would otherwise each hold an extractor and a memo closure).
        self.bound: dict[tuple[str, str | None], BoundField] = {}

    def resolve(self, name: str, arg: str | None = None) -> BoundField:
        known = self.bound.get((name, arg))
        if known is not None:
            return known
        bound = resolve(name, arg)
        if bound.source == "syscall" and bound.name not in _CHEAP_FIELDS:
            bound = BoundField(
                bound.name, bound.type, self._cached(bound.name, bound.extract), bound.source
            )
        self.bound[(name, arg)] = bound
        return bound

    def _cached(self, key: str, extract: Callable[[Any], Any]) -> Callable[[Any], Any]:
        memo = self
        missing = _MISSING

        def cached(ev: Any) -> Any:
            if ev is memo.event and ev.num == memo.num:
                values = memo.values
                value = values.get(key, missing)
                if value is not missing:
                    return value
            else:
                memo.event = ev
                memo.num = ev.num
                memo.values = values = {}
            value = values[key] = extract(ev)
            return value

        return cached


_MISSING = object()
# Fields read straight off the event header: cheaper to extract again than to look up.
_CHEAP_FIELDS = frozenset({"evt.type", "evt.dir", "evt.num", "evt.cpu", "evt.rawtime"})


@dataclass(slots=True)
class _Context:
    defs: RuleDefinitions
    lists: dict[str, list[str]]
    macros: dict[str, Expr]
    broken_macros: set[str]
    memo: FieldMemo = field(default_factory=FieldMemo)


def compile_rules(
    defs: RuleDefinitions,
    *,
    output_compiler: OutputCompiler | None = None,
    type_numbers: Callable[[str], Iterable[int]] | None = None,
    event_max: int | None = None,
) -> Ruleset:
    """Compile every rule of ``defs``; problems are appended to ``defs.problems``.

    Rules with errors are left out. ``output_compiler`` checks and prepares output formats
    (the engine passes :class:`sentry.outputs.format.OutputFormat`); ``type_numbers`` maps
    an event type name to scap event numbers (default: the event table).
    """
    if type_numbers is None or event_max is None:
        from sentry.events.table import EVENT_MAX

        type_numbers = type_numbers or event_numbers
        event_max = event_max or EVENT_MAX
    ctx = _Context(defs, {n: list(lst.items) for n, lst in defs.lists.items()}, {}, set())
    _check_macros(ctx)
    compiled: list[CompiledRule] = []
    for rule in defs.rules.values():
        result = _compile_rule(ctx, rule, output_compiler)
        if result is not None:
            compiled.append(result)
    return Ruleset(compiled, type_numbers, event_max, engine_version=defs.required_engine_version)


def _problem(ctx: _Context, severity: Severity, msg: str, loc: Any, item: str) -> None:
    ctx.defs.problems.append(Problem(severity, msg, loc.path, loc.line, item))


def _check_macros(ctx: _Context) -> None:
    parsed: dict[str, Expr] = {}
    for name, macro in ctx.defs.macros.items():
        try:
            parsed[name] = _substitute_bare_lists(parse_condition(macro.condition), ctx.lists)
        except FilterSyntaxError as err:
            ctx.broken_macros.add(name)
            _problem(
                ctx,
                Severity.ERROR,
                f'condition does not parse: {err.reason} at column {err.column} of "{err.text}"',
                macro.loc,
                f"macro '{name}'",
            )
    ctx.macros = parsed
    for name, tree in parsed.items():
        try:
            expand(tree, parsed, ctx.lists)
        except MacroError as err:
            ctx.broken_macros.add(name)
            if err.name not in ctx.broken_macros or err.name == name:
                _problem(
                    ctx, Severity.ERROR, err.reason, ctx.defs.macros[name].loc, f"macro '{name}'"
                )


_TRANSFORMED = re.compile(r"\s*(\w+)\(\s*(.*?)\s*\)\s*")


def _untransformed(text: str) -> str:
    """``proc.name`` for ``toupper( proc.name)``: the field under any transformers."""
    m = _TRANSFORMED.fullmatch(text)
    while m is not None and m.group(1) in TRANSFORMERS:
        text = m.group(2)
        m = _TRANSFORMED.fullmatch(text)
    return text.strip()


def _exceptions_condition(ctx: _Context, rule: RuleDef) -> str | None:
    """``not (...)`` texts for the rule's exceptions; None after reporting an error."""
    parts = []
    for ex in rule.exceptions:
        fields = [ex.fields] if isinstance(ex.fields, str) else ex.fields
        comps = ex.comps if isinstance(ex.comps, list) else [ex.comps or "="] * len(fields)
        for comp in comps:
            if comp not in EXCEPTION_OPERATORS:
                _problem(
                    ctx,
                    Severity.ERROR,
                    f"exception '{ex.name}': unknown comparison operator '{comp}'",
                    ex.loc,
                    rule.item,
                )
                return None
        for fname in fields:
            try:  # a field, perhaps under transformers (toupper(proc.name)) as Falco takes
                resolve(_untransformed(fname))
            except (UnknownFieldError, FieldArgumentError) as err:
                _problem(ctx, Severity.ERROR, f"exception '{ex.name}': {err}", ex.loc, rule.item)
                return None
        try:
            cond = exception_condition(ex)
        except ValueError as err:
            _problem(ctx, Severity.ERROR, f"exception '{ex.name}': {err}", ex.loc, rule.item)
            return None
        if cond is not None:
            parts.append(f"not ({cond})")
    return " and ".join(parts)


def _compile_rule(
    ctx: _Context, rule: RuleDef, output_compiler: OutputCompiler | None
) -> CompiledRule | None:
    item = rule.item
    loc = rule.loc
    try:
        tree = parse_condition(rule.condition)
    except FilterSyntaxError as err:
        _problem(
            ctx,
            Severity.ERROR,
            f"condition does not parse: {err.reason} at column "
            f'{err.column} of "{err.text.strip()}"',
            loc,
            item,
        )
        return None
    extra = _exceptions_condition(ctx, rule)
    if extra is None:
        return None
    if extra:
        try:
            tree = And((tree, parse_condition(extra)))
        except FilterSyntaxError as err:
            _problem(
                ctx,
                Severity.ERROR,
                f'exceptions do not form a valid condition: {err.reason} in "{err.text}"',
                loc,
                item,
            )
            return None
    tree = _substitute_bare_lists(tree, ctx.lists)
    try:
        expanded = expand(tree, ctx.macros, ctx.lists)
    except MacroError as err:
        if err.name not in ctx.broken_macros:
            _problem(ctx, Severity.ERROR, err.reason, loc, item)
        return None
    try:
        flt = compile_filter(expanded, ctx.memo.resolve)
    except UnknownFieldError as err:
        if rule.skip_if_unknown_filter:
            _problem(ctx, Severity.WARNING, f"skipped: condition uses {err}", loc, item)
        else:
            _problem(ctx, Severity.ERROR, f"condition uses {err}", loc, item)
        return None
    except SentryError as err:
        _problem(ctx, Severity.ERROR, f"condition: {err}", loc, item)
        return None
    for msg in value_warnings(expanded):
        _problem(ctx, Severity.WARNING, msg, loc, item)
    # With skip-if-unknown-filter, today's Falco also skips (with a warning) a rule naming
    # an unknown event type or an unknown field in its output.
    skip = rule.skip_if_unknown_filter
    unknown = _unknown_event_names(expanded)
    if unknown:
        _problem(
            ctx,
            Severity.WARNING if skip else Severity.ERROR,
            f"{'skipped: ' if skip else ''}unknown event type '{unknown}' in condition",
            loc,
            item,
        )
        return None
    output: Any = rule.output
    if output_compiler is not None:
        try:
            output = output_compiler(rule.output, rule.source)
        except SentryError as err:
            unknown_field = skip and "unknown field" in str(err)
            _problem(
                ctx,
                Severity.WARNING if unknown_field else Severity.ERROR,
                f"{'skipped: ' if unknown_field else ''}output: {err}",
                loc,
                item,
            )
            return None
    evttypes = None
    if rule.source == "syscall":
        # Today's resolver (rules requiring an engine after 0.28.1's): the exact set of types
        # the condition can match, so `evt.type=openat or proc.name=cat` runs on every type;
        # 0.28.1's walk (falco_evttypes) gave openat only.
        today = ctx.defs.required_engine_version >= TODAY_RESOLVER_ENGINE_VERSION
        evttypes = flt.evttypes if today else falco_evttypes(expanded).names
    if rule.source == "syscall" and evttypes is None and rule.warn_evttypes:
        _problem(
            ctx,
            Severity.WARNING,
            "matches too many evt.type values (all of them): it runs on every event, "
            "which costs; begin the condition with evt.type= or evt.type in (...)",
            loc,
            item,
        )
    index_types, match, match_ast = evttypes, flt.match, expanded
    if rule.source == "syscall":
        guard, rest = split_type_guard(expanded)
        if guard is not None:
            index_types = guard if evttypes is None else evttypes & guard
            if rest is not None:
                match, match_ast = compile_filter(rest, ctx.memo.resolve).match, rest
    return CompiledRule(
        rule.name,
        rule.priority,
        rule.source,
        tuple(rule.tags),
        flt,
        output,
        evttypes,
        rule.enabled,
        rule.desc,
        index_types,
        match,
        match_ast,
    )


def _type_names(node: Expr) -> frozenset[str] | None:
    """The names an ``evt.type =/in`` test (or an ``or`` of them) accepts; else None."""
    if isinstance(node, Compare):
        lhs = node.lhs
        if getattr(lhs, "name", None) != "evt.type" or getattr(lhs, "arg", None) is not None:
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
    from sentry.rules.ast import BoolConst

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
    from sentry.events.table import events_named

    if not all(events_named(name) for name in guard):
        return guard, None
    if not rest:
        return guard, BoolConst(True)
    return guard, rest[0] if len(rest) == 1 else And(tuple(rest))


def _unknown_event_names(tree: Expr) -> str | None:
    """The first ``evt.type`` constant that names no event or syscall, if any."""
    from sentry.events.syscalls import PPM_SC_BY_NAME

    for node in walk(tree):
        if (
            isinstance(node, Compare)
            and getattr(node.lhs, "name", None) == "evt.type"
            and getattr(node.lhs, "arg", None) is None
        ):
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


def event_numbers(name: str) -> list[int]:
    """scap event numbers an ``evt.type`` name stands for (generic ones for other syscalls)."""
    from sentry.events.syscalls import PPM_SC_BY_NAME
    from sentry.events.table import events_named

    numbers = [info.code for info in events_named(name)]
    if not numbers and name in PPM_SC_BY_NAME:
        numbers = [0, 1]  # SE_GENERIC_E / _X: syscalls without a dedicated event
    return numbers


__all__ = [
    "CompiledRule",
    "FieldMemo",
    "Problem",
    "Ruleset",
    "Selection",
    "compile_rules",
    "event_numbers",
    "exception_condition",
    "split_type_guard",
]
