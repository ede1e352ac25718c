"""The run loop: events from a source, through the inspector, against the ruleset, to alerts.

::

    source.batches() ─► inspector.process(ev) ─► dispatch[ev.type](ev) ─► index of the first
                                                                          matching rule
                                                                          └► sink(Alert)

``dispatch[t]`` is the program :mod:`sentry.rules.codegen` generates for the rules indexed
under event type ``t`` (``ruleset.for_type[t]``), specialised for that type; None when no
rule runs on ``t``, so such an event costs one list lookup after the inspector.

Seams, so that each part plugs in unchanged:

- a **source** is anything with ``batches()`` (and ideally ``stats()``): a scap file reader,
  a live driver, a Kubernetes audit file or webhook queue. Events whose ``source`` attribute
  is ``"k8s_audit"`` go to the k8s_audit rules; all others are syscall events.
- an **inspector** (``process(event)``) keeps thread and fd state; it sees every syscall
  event, even those no rule looks at, because later events depend on that state.
- a **sink** is a callable taking an :class:`~sentry.rules.alert.Alert`: print it, queue it
  on output channels, count it.
- ``on_event(ts)`` (optional) is called per syscall event, e.g. a drop monitor.

Rule outputs are compiled by an injected ``output_compiler`` (the CLI passes
:class:`sentry.outputs.format.OutputFormat`) whose result offers ``render(event)`` and
``field_values(event)``; the rules layer itself knows nothing of output formats.

As in Falco, an event raises at most one alert: rules are tried in definition order and the
first that matches wins (put specific rules before catch-all ones); rules that run on every
event type keep their place in that order. With ``rule_matching: all`` (Falco's option)
every matching rule raises its alert.

Falco skips, by default, the event types its "simple consumer" mode drops (high-volume,
low-value calls such as ``read``, ``mmap``, ``futex``); ``all_events`` (``-A``) evaluates them.
The inspector still sees them.
"""

from __future__ import annotations

import gc
import os
import socket
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from sentry.capture.k8saudit import AuditEvent
from sentry.capture.source import LiveSource, RecordSource, SelectsTypes, SkipsGeneric
from sentry.events.event import Event
from sentry.events.syscalls import (
    PPM_SC_BY_NAME,
    PPM_SC_NAMES,
    syscall_numbers_for_event_names,
)
from sentry.events.table import EVENTS, EventFlags, events_named
from sentry.fields.registry import resolve
from sentry.rules.alert import Alert
from sentry.rules.codegen import Program
from sentry.rules.loader import RuleDefinitions, load_rules
from sentry.rules.ruleset import (
    TODAY_RESOLVER_ENGINE_VERSION,
    CompiledRule,
    OutputCompiler,
    Ruleset,
    Selection,
    compile_rules,
)

if TYPE_CHECKING:
    from sentry.inspect.inspector import Inspector
    from sentry.rules.explain import Node
    from sentry.rules.rulestats import RuleStats

    Record = Event | AuditEvent  # what a rule is evaluated on

AlertSink = Callable[[Alert], None]
Explain = Callable[[CompiledRule, "Record"], "Node | None"]


class AlertHold(Protocol):
    """Where alerts wait for something an event does not carry yet (a container's
    metadata): ``key(ev)`` names what to wait for, or None to raise the alert now;
    ``add(key, finish)`` takes the alert's ``finish()``, which builds it when released."""

    def key(self, ev: Event) -> str | None: ...

    def add(self, key: str, finish: Callable[[], Alert]) -> None: ...


# Syscalls that scap flags EF_DROP_SIMPLE_CONS in its syscall table: Falco 0.28 does not
# evaluate rules on them (as generic events) unless run with -A.
SIMPLE_CONSUMER_SKIPPED_SYSCALLS = frozenset(
    """
    read write close time stat lseek getpid alarm fstat pause access times brk fcntl umask
    ustat getppid getpgrp setrlimit getrusage gettimeofday settimeofday lstat mmap munmap
    getpriority statfs fstatfs setitimer getitimer uname wait4 fsync mprotect getpgid
    getdents select readv writev getsid fdatasync mlock munlock mlockall munlockall
    sched_getparam sched_getscheduler sched_yield sched_get_priority_max
    sched_get_priority_min nanosleep mremap poll rt_sigaction rt_sigprocmask rt_sigpending
    rt_sigtimedwait rt_sigsuspend getcwd capget sendfile getrlimit getuid getgid geteuid
    getegid getgroups getresuid getresgid mincore madvise gettid getxattr lgetxattr
    fgetxattr listxattr llistxattr flistxattr futex sched_getaffinity get_thread_area
    io_setup io_destroy io_getevents io_submit io_cancel exit_group epoll_create epoll_ctl
    epoll_wait remap_file_pages timer_create timer_settime timer_gettime timer_getoverrun
    timer_delete clock_settime clock_gettime clock_getres clock_nanosleep mq_timedsend
    mq_timedreceive mq_notify mq_getsetattr waitid ioprio_set ioprio_get pselect6 ppoll
    get_robust_list splice tee vmsplice getcpu epoll_pwait signalfd timerfd_create eventfd
    timerfd_settime timerfd_gettime signalfd4 eventfd2 epoll_create1 preadv pwritev
    getdents64 getsockname getpeername shutdown getsockopt sendmmsg recvmmsg semop semget
    semctl msgsnd msgrcv msgget statfs64 fstatfs64 fstatat64 sendfile64 ugetrlimit
    sigprocmask stat64 lstat64 fstat64 fcntl64 mmap2 newselect sgetmask sigpending olduname
    llseek waitpid pread64 pwrite64 sigreturn newfstatat
    """.split()  # noqa: SIM905 (a word list reads best as text)
)


class CompiledOutput(Protocol):
    def render(self, event: Record) -> str: ...

    def field_values(self, event: Record, written_keys: bool = False) -> dict[str, Any]: ...


def load_ruleset(
    paths: Iterable[Any],
    *,
    output_compiler: OutputCompiler | None = None,
    selection: Selection | None = None,
) -> tuple[Ruleset, RuleDefinitions]:
    """Load and compile rules files; problems are in the returned definitions.

    Does not raise for rule errors: callers decide (``defs.raise_errors()``).
    """
    # Loading makes a great many long-lived objects (YAML nodes, definitions, compiled
    # closures): with the cyclic collector on, each full collection walks all of them again,
    # ~40 % of a 20k-rules load. Off while loading (refcounting still frees what is dropped).
    collecting = gc.isenabled()
    gc.disable()
    try:
        defs = load_rules(paths)
        ruleset = compile_rules(defs, output_compiler=output_compiler)
    finally:
        if collecting:
            gc.enable()
    if selection is not None:
        ruleset = ruleset.select(selection)
    return ruleset, defs


def skipped_event_types() -> frozenset[int]:
    """Event numbers Falco's simple-consumer mode drops (EF_DROP_SIMPLE_CONS)."""
    return frozenset(
        code for code, info in EVENTS.items() if info.flags & EventFlags.DROP_SIMPLE_CONS
    )


def ignored_event_names(ruleset: Ruleset) -> set[str]:
    """Event types the rules name that are skipped unless all events are evaluated (-A)."""
    skipped = skipped_event_types()
    names: set[str] = set()
    for rule in ruleset.rules:
        for name in rule.index_types or ():
            codes = [info.code for info in events_named(name)]
            if codes:
                if all(c in skipped for c in codes):
                    names.add(name)
            elif name in SIMPLE_CONSUMER_SKIPPED_SYSCALLS:
                names.add(name)
    return names


def _generic_skipped_ids() -> frozenset[int]:
    return frozenset(
        PPM_SC_BY_NAME[n] for n in SIMPLE_CONSUMER_SKIPPED_SYSCALLS if n in PPM_SC_BY_NAME
    )


def needed_event_types(ruleset: Ruleset, inspector: Inspector | None) -> frozenset[int] | None:
    """Event numbers a reader must deliver: what the rules index plus what keeps state.

    None when some rule runs on every event type (then nothing may be skipped).
    """
    if ruleset.evttype_names() is None:
        return None
    from sentry.rules.enters import unneeded_enters

    wanted = {n for n, rules in enumerate(ruleset.for_type) if rules}
    # Enters that no rule can match nor read through its exit are left out
    # (rules/enters.py) where the threads' last enter counts them (the C tracker's), and
    # added back below when the inspector keeps state from them.
    if inspector is None or inspector.sees_every_enter:
        wanted -= unneeded_enters(ruleset)
    if inspector is not None:
        wanted |= set(inspector.handled_types())
    return frozenset(wanted)


def live_interest(ruleset: Ruleset, inspector: Inspector) -> set[int] | None:
    """Native syscall numbers a live driver must capture for ``ruleset`` and the
    inspector's state (None: all of them)."""
    names = ruleset.evttype_names()
    if names is None:
        return None
    names |= {EVENTS[code].name for code in inspector.handled_types() if code in EVENTS}
    return syscall_numbers_for_event_names(names)


@dataclass(frozen=True, slots=True)
class Demand:
    """What a consumer needs a source to deliver (None: everything of that kind):
    ``event_types`` (a file reader skips the rest before decoding), ``syscalls`` (a live
    driver's interest set) and ``syscall_ids`` (PPM_SC ids of the generic events kept)."""

    event_types: frozenset[int] | None = None
    syscalls: frozenset[int] | None = None
    syscall_ids: frozenset[int] | None = None

    @classmethod
    def of_types(cls, event_types: Iterable[int]) -> Demand:
        """These event types, and the syscalls that make them as the interest set."""
        types = frozenset(event_types)
        names = {EVENTS[code].name for code in types if code in EVENTS}
        return cls(types, frozenset(syscall_numbers_for_event_names(names)))


EVERYTHING = Demand()


def push_down(source: object, demand: Demand) -> None:
    """Tell ``source`` what to deliver: the one call every consumer (run, replay, the
    daemon and its reloads, tail) makes. A reader (and the eBPF probe's C walker) takes
    the event types; a live driver the interest set; a source that can leave generic
    events undecoded, their ids."""
    if isinstance(source, SelectsTypes):  # the eBPF probe's also narrows its interest set
        source.event_types = demand.event_types
    if isinstance(source, LiveSource):  # then the exact interest set
        source.set_interest(demand.syscalls)
    if isinstance(source, SkipsGeneric):
        source.syscall_ids = demand.syscall_ids


_TYPE_SLOTS = 1 << 16  # event types are u16


def _skipping_generic(program: Program, skipped: frozenset[int]) -> Program:
    """``program`` for generic events, except -2 for the syscalls in ``skipped``."""

    def generic(ev: Event) -> int:
        if ev.param(0) in skipped:
            return -2
        return program(ev)

    return generic


class Plan:
    """What evaluation reads, swapped whole by a reload: the ruleset, its dispatch table
    (event type -> program), its k8s_audit rules and their alerts' key style."""

    __slots__ = ("audit_rules", "dispatch", "ruleset", "todays_audit_keys")

    def __init__(self, ruleset: Ruleset, dispatch: list[Program | None]):
        self.ruleset = ruleset
        self.dispatch = dispatch
        self.audit_rules = ruleset.by_source.get("k8s_audit", ())
        self.todays_audit_keys = todays_audit_keys(ruleset)


@dataclass(slots=True)
class RunStats:
    """What one run saw: events read and evaluated, alerts by rule and by priority."""

    events: int = 0
    evaluated: int = 0
    alerts: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        lines = [f"Events read: {self.events}", f"Alerts raised: {self.alerts}"]
        if self.by_priority:
            lines.append("Alerts by priority:")
            lines += [f"   {p}: {n}" for p, n in self.by_priority.most_common()]
            lines.append("Alerts by rule:")
            lines += [f"   {r}: {n}" for r, n in self.by_rule.most_common()]
        return "\n".join(lines)


def alert_hostname() -> str:
    """The alerts' ``hostname``: ``$SENTRY_HOSTNAME`` (or Falco's ``$FALCO_HOSTNAME``), else
    this host's name."""
    return (
        os.environ.get("SENTRY_HOSTNAME")
        or os.environ.get("FALCO_HOSTNAME")
        or socket.gethostname()
    )


TODAYS_AUDIT_KEYS_ENGINE_VERSION = TODAY_RESOLVER_ENGINE_VERSION
"""k8s audit alerts of rules requiring an engine after Falco 0.28.1's (9) carry today's
``output_fields`` keys: each field as written, argument included (``ka.uri.param[command]``,
libs' event formatter, which the k8saudit plugin's fields go through since Falco 0.32) and
the time as ``evt.time`` (ns, as syscall alerts); older rules keep 0.28.1's json event
formatter keys (``ka.uri.param``, ``jevt.time`` as text), which its conformance cases expect."""


def todays_audit_keys(ruleset: Ruleset) -> bool:
    """Whether k8s audit alerts carry today's output_fields keys (see above)."""
    return ruleset.engine_version >= TODAYS_AUDIT_KEYS_ENGINE_VERSION


@dataclass(slots=True)
class PipelineOptions:
    all_events: bool = False  # -A: also evaluate the simple-consumer drop set
    time_iso8601: bool = False  # text alert time as ISO 8601 (time_format_iso_8601)
    hostname: str = field(default_factory=lambda: alert_hostname())
    rule_matching: str = "first"  # first: one alert per event; all: one per matching rule


class Pipeline:
    """Evaluates events against a ruleset and hands alerts to a sink."""

    def __init__(self, ruleset: Ruleset, sink: AlertSink, options: PipelineOptions | None = None):
        self.ruleset = ruleset
        self.sink = sink
        self.options = options or PipelineOptions()
        self.stats = RunStats()
        if self.options.all_events:
            self._skip: frozenset[int] = frozenset()
            self._generic_skip: frozenset[int] = frozenset()
        else:
            self._skip = skipped_event_types()
            self._generic_skip = _generic_skipped_ids()
        self._generic_types = frozenset(i.code for i in events_named("syscall"))
        self.rule_stats: RuleStats | None = None  # --rule-stats (set before the 1st event)
        self.explainer: Explain | None = None  # --explain
        self._time_field = "evt.time.iso8601" if self.options.time_iso8601 else "evt.time"
        # Falco 0.28.1 stamps json (k8s audit) alerts with %jevt.time: a text field, local
        # time; today's Falco stamps every source's with %evt.time, as ns in output_fields.
        self._audit_time = resolve(
            "jevt.time.iso8601" if self.options.time_iso8601 else "jevt.time"
        )
        # What evaluation reads: ONE reference to an immutable plan (ruleset, dispatch,
        # audit rules, audit key style), so a reload on another thread swaps it whole (one
        # atomic store), never half.
        self._plan = Plan(ruleset, self._build_dispatch(ruleset))
        self.hold: AlertHold | None = None  # set by the daemon when container engines run

    def use_ruleset(self, ruleset: Ruleset) -> None:
        """Swap in a newly loaded ruleset (SIGHUP reload); counters carry on.

        Called on the reloading thread: the new dispatch is built whole there, programs
        generated, beside the running pair, then swapped in by one assignment; the reader
        keeps evaluating the old pair until its next batch and never compiles anything.
        """
        dispatch = self._build_dispatch(ruleset)
        for number, entry in enumerate(dispatch):
            if entry is not None:
                dispatch[number] = self._program(ruleset, number, ruleset.for_type[number])
        self._plan = Plan(ruleset, dispatch)
        self.ruleset = ruleset

    # -- per event

    def _build_dispatch(self, ruleset: Ruleset) -> list[Program | None]:
        """``dispatch[event type]``: what evaluates an event of that type (None: nothing).

        A program returns the index of the first matching rule, -1 for none, or -2 for an
        event it does not evaluate (a generic syscall of the simple-consumer drop set).
        Entries start as stand-ins that generate the program on the type's first event.
        """
        dispatch: list[Program | None] = [None] * _TYPE_SLOTS
        for number, rules in enumerate(ruleset.for_type[:_TYPE_SLOTS]):
            if rules and number not in self._skip:
                dispatch[number] = self._stand_in(ruleset, dispatch, number, rules)
        return dispatch

    def _program(self, ruleset: Ruleset, number: int, rules: tuple[CompiledRule, ...]) -> Program:
        if self.rule_stats is not None:  # each rule timed (rulestats.py)
            every = self._raise if self.options.rule_matching == "all" else None
            program = self.rule_stats.program(rules, every)
        elif self.options.rule_matching == "all":
            program = self._every_match(rules)
        else:
            program = ruleset.program(rules, number)
        if number in self._generic_types and self._generic_skip:
            program = _skipping_generic(program, self._generic_skip)
        return program

    def _every_match(self, rules: tuple[CompiledRule, ...]) -> Program:
        """``rule_matching: all``: raise for each matching rule; -1 (nothing left to raise)."""
        checks = tuple((rule, rule.match) for rule in rules)
        raise_alert = self._raise

        def every(ev: Record) -> int:
            for rule, match in checks:
                if match(ev):
                    raise_alert(rule, ev)
            return -1

        return every

    def _stand_in(
        self,
        ruleset: Ruleset,
        dispatch: list[Program | None],
        number: int,
        rules: tuple[CompiledRule, ...],
    ) -> Program:
        def first_event(ev: Record) -> int:
            program = self._program(ruleset, number, rules)
            dispatch[number] = program
            return program(ev)

        return first_event

    def evaluate(self, ev: Event) -> None:
        """Run the syscall rules indexed for ``ev.type`` (the inspector has already seen it)."""
        plan = self._plan
        program = plan.dispatch[ev.type]
        if program is None:
            return
        index = program(ev)
        if index == -2:
            return
        self.stats.evaluated += 1
        if index >= 0:  # as Falco: the first matching rule (in file order) wins
            self._raise(plan.ruleset.for_type[ev.type][index], ev, plan)

    def demand(self, inspector: Inspector | None) -> Demand:
        """What this pipeline needs of a source (see :func:`push_down`)."""
        ruleset = self.ruleset
        interest = live_interest(ruleset, inspector) if inspector is not None else None
        return Demand(
            needed_event_types(ruleset, inspector),
            frozenset(interest) if interest is not None else None,
            self.wanted_syscall_ids(),
        )

    def wanted_syscall_ids(self) -> frozenset[int] | None:
        """PPM_SC ids of the generic events some rule may match (None: every one): their
        ``evt.type`` is the syscall's name, so a rule must name it (or run on every type)."""
        names = self.ruleset.evttype_names()
        if names is None:
            return None
        return frozenset(
            code
            for code, name in enumerate(PPM_SC_NAMES)
            if name in names and code not in self._generic_skip
        )

    def evaluate_audit(self, ev: AuditEvent) -> None:
        """Run the k8s_audit rules on one audit event."""
        self.stats.evaluated += 1
        every = self.options.rule_matching == "all"
        plan = self._plan
        for rule in plan.audit_rules:
            if rule.match(ev):
                self._raise(rule, ev, plan)
                if not every:
                    return

    def _raise(self, rule: CompiledRule, ev: Record, plan: Plan | None = None) -> None:
        output: CompiledOutput = rule.output
        hold = self.hold
        if hold is not None and isinstance(ev, Event):
            key = hold.key(ev)
            if key is not None:
                self._hold(hold, key, rule, ev)
                return
        written_keys = False
        if rule.source != "k8s_audit":
            fields: dict[str, Any] = {self._time_field: ev.ts}
        elif (plan or self._plan).todays_audit_keys:
            fields = {self._time_field: ev.ts}
            written_keys = True
        else:
            fields = {self._audit_time.name: self._audit_time.extract(ev)}
        fields.update(output.field_values(ev, written_keys))
        alert = Alert(
            ev.ts,
            rule.name,
            rule.priority,
            output.render(ev),
            rule.source,
            fields,
            self.options.hostname,
            list(rule.tags),
            self.options.time_iso8601,
        )
        if self.explainer is not None:  # the clauses' values at this event (explain.py)
            alert.explain = self.explainer(rule, ev)
        self._count(rule)
        self.sink(alert)

    def _count(self, rule: CompiledRule) -> None:
        self.stats.alerts += 1
        self.stats.by_rule[rule.name] += 1
        self.stats.by_priority[rule.priority.label] += 1

    def _hold(self, hold: AlertHold, key: str, rule: CompiledRule, ev: Event) -> None:
        """Render the alert now but for its container fields, and let ``hold`` finish it
        once the container's metadata is known (or its wait is over)."""
        deferred = rule.output.defer(ev)
        ts, time_field, options = ev.ts, self._time_field, self.options

        def finish() -> Alert:
            text, values = deferred.complete()
            fields = {time_field: ts}
            fields.update(values)
            return Alert(
                ts,
                rule.name,
                rule.priority,
                text,
                rule.source,
                fields,
                options.hostname,
                list(rule.tags),
                options.time_iso8601,
            )

        self._count(rule)
        hold.add(key, finish)

    # -- the loop

    def run(
        self,
        source: RecordSource[Event] | RecordSource[AuditEvent],
        inspector: Inspector | None = None,
        on_event: Callable[[int], None] | None = None,
        demand: Demand | None = None,
    ) -> RunStats:
        """Drain ``source``; every syscall event goes through ``inspector`` first.

        ``source`` is first told what to deliver: ``demand``, by default what the ruleset
        and the inspector need (:meth:`demand`)."""
        stats = self.stats
        evaluate = self.evaluate
        process = inspector.process if inspector is not None else None
        push_down(source, demand if demand is not None else self.demand(inspector))
        for batch in source.batches():
            if not batch:
                continue
            stats.events += len(batch)
            if isinstance(batch[0], AuditEvent):  # a source's batches are of one kind
                for audit in cast("list[AuditEvent]", batch):
                    self.evaluate_audit(audit)
                continue
            events = cast("list[Event]", batch)
            if process is None:
                for ev in events:
                    if on_event is not None:
                        on_event(ev.ts)
                    if not ev.state_only:  # kept for state only (sysdig's fatfile mode)
                        evaluate(ev)
                continue
            # The common case, inlined: inspector, then the type's program if any.
            plan = self._plan  # one read: a reload swaps the plan whole
            for_type, dispatch = plan.ruleset.for_type, plan.dispatch
            raise_alert = self._raise
            evaluated = 0
            try:
                if on_event is None:
                    for ev in events:
                        process(ev)
                        program = dispatch[ev.type]
                        if program is not None and not ev.state_only:
                            index = program(ev)
                            if index >= -1:
                                evaluated += 1
                                if index >= 0:
                                    raise_alert(for_type[ev.type][index], ev)
                else:  # the same with on_event first (the live daemon's drop monitor)
                    for ev in events:
                        on_event(ev.ts)
                        process(ev)
                        program = dispatch[ev.type]
                        if program is not None and not ev.state_only:
                            index = program(ev)
                            if index >= -1:
                                evaluated += 1
                                if index >= 0:
                                    raise_alert(for_type[ev.type][index], ev)
            finally:  # also when on_event stops the run (a drop action: exit)
                stats.evaluated += evaluated
        return stats
