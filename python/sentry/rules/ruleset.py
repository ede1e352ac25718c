"""Compile loaded definitions into a ruleset: conditions compiled, indexed by event type.

:func:`compile_rules` takes :class:`~sentry.rules.loader.RuleDefinitions` and, for every
rule: parses its condition, folds its exceptions in (``cond and not (exception rows)``,
:mod:`sentry.rules.exceptions`), expands macros and lists, resolves fields (through one
:class:`~sentry.rules.fieldmemo.FieldMemo`), checks its output format and works out which
event types it can match (:mod:`sentry.rules.typeindex`). Every problem is added to the
definitions' problem list with the rule's file and line, so one pass reports them all.
Macros are checked even when no rule uses them (an undefined macro inside one is an error,
as in Falco).

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

from sentry.errors import FilterSyntaxError, SentryError, UnknownFieldError
from sentry.rules.ast import And, BoolConst, Expr
from sentry.rules.codegen import Program, build_program, header_constants
from sentry.rules.compiler import Filter, compile_filter
from sentry.rules.definitions import Priority, Problem, RuleDef, RuleDefinitions, Severity
from sentry.rules.evttypes import falco_evttypes
from sentry.rules.exceptions import ExceptionProblem, exceptions_condition
from sentry.rules.expand import MacroError, expand, substitute_bare_lists
from sentry.rules.fieldmemo import FieldMemo
from sentry.rules.lint import value_warnings
from sentry.rules.parser import parse_condition
from sentry.rules.typeindex import (
    event_numbers,
    split_type_guard,
    syscall_enter_numbers,
    unknown_event_name,
)

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
            parsed[name] = substitute_bare_lists(parse_condition(macro.condition), ctx.lists)
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
    try:
        extra = exceptions_condition(rule)
    except ExceptionProblem as err:
        _problem(ctx, Severity.ERROR, str(err), err.loc, item)
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
    tree = substitute_bare_lists(tree, ctx.lists)
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
    unknown = unknown_event_name(expanded)
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


__all__ = [
    "ENTERLESS_ENGINE_VERSION",
    "CompiledRule",
    "OutputCompiler",
    "Ruleset",
    "Selection",
    "compile_rules",
    "name_matches",
]
