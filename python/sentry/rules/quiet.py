"""Quiet open paths: files whose opens no loaded rule can match, proved from the rules' ASTs.

The eBPF probe may leave out the open (and the matching close) of a file such as
``/dev/null`` when nothing is lost by it (``driver/bpf/probe_quiet.h`` says why the fd
state stays right). Whether a rule could see such an event is decided here, by a
three-valued partial evaluation of each selected syscall rule's condition (exceptions
folded in, macros and lists expanded: ``CompiledRule.filter.ast``):

* ``evt.type`` is one of the events the probe may leave out (open, openat, openat2 and
  close, enter and exit) or that another process makes on a held descriptor
  (pidfd_getfd). Every other event, read/write/dup/fcntl/mmap/fork/exec... on the
  descriptor included, is written unchanged and after the held open (the probe writes
  the open first), so rules see it as they would without the filter;
* the fields that name the file are bound, in joint *worlds*: the descriptor known
  (``fd.name``, ``fd.nameraw``, ``fd.directory``, ``fd.filename``, ``fd.type`` = file,
  ``fd.typechar`` = f) or missing (an enter event has no fd yet); the name argument
  (``evt.arg.name``, ``evt.rawarg.name``) there or not (a close has none); the open's
  flags there (not creating: ``evt.is_open_create`` false, ``evt.arg.flags`` without
  O_CREAT/O_TRUNC/O_TMPFILE) or not; ``evt.num`` is some number >= 0;
* every other field, transformer or ``val()`` comparison is unknown.

A comparison over a bound field is true (false) when it is true (false) for each of the
field's possible values, with the rules' own operator semantics (``scalar_test``; a missing
value makes any comparison false, as in Falco); anything else is unknown, and ``and``,
``or``, ``not`` combine in Kleene's logic. A path is quiet only when *every* rule evaluates
to false in every world: so a rule that mentions ``/dev/null`` (``fd.name = /dev/null``),
or looks at opens without naming a path (``evt.type = openat and proc.name = x``), keeps
it loud.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sentry.errors import SentryError
from sentry.log import log
from sentry.rules.ast import (
    And,
    BoolConst,
    Compare,
    Expr,
    FieldRef,
    Identifier,
    Not,
    Or,
    Value,
    ValueList,
)
from sentry.rules.operators import FieldType, convert_constant, scalar_test

if TYPE_CHECKING:
    from sentry.capture.source import LiveSource
    from sentry.rules.ruleset import Ruleset
    from sentry.service.config import Config

DEFAULT_CANDIDATES = (
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
)
"""Paths offered to the proof by default (config ``quiet_opens.paths``)."""

PATH_MAX = 30
"""Longest path the probe's quiet map holds (its key is 32 bytes: the NUL and one more byte fit)."""

MISSING = None
UNKNOWN = None  # the third truth value; True and False are themselves

OPEN_EVENTS = ("open", "openat", "openat2", "creat")


SUPPRESSED_EVENTS = ("open", "openat", "openat2", "close")
"""What the probe may leave out: these syscalls' enter and exit events, for a quiet path."""

OTHER_PROCESS_EVENTS = ("pidfd_getfd",)
"""Events of another process that read a held descriptor without the holder making an
event first (so the probe cannot emit the held open before them)."""


def file_event_types() -> frozenset[str]:
    """Names of the events a held (not yet written) open of a quiet path can change: the
    suppressed ones, and those of other processes that copy a held descriptor. Every other
    event is written as it would be, after the held open (``probe_quiet.h``)."""
    return frozenset(SUPPRESSED_EVENTS + OTHER_PROCESS_EVENTS)


Binding = tuple[tuple[Any, ...], FieldType]


class _Abstract:
    """A value known only by a property; ``decide(op, consts)`` is True, False or None."""

    def decide(self, op: str, consts: list[str]) -> bool | None:
        raise NotImplementedError


class _NonNegative(_Abstract):
    """``evt.num``: some event number, never negative."""

    def decide(self, op: str, consts: list[str]) -> bool | None:
        try:
            n = int(consts[0]) if len(consts) == 1 else None
        except ValueError:
            return None
        if n is None:
            return None
        known = {
            ">=": True if n <= 0 else None,
            ">": True if n < 0 else None,
            "<": False if n <= 0 else None,
            "<=": False if n < 0 else None,
            "=": False if n < 0 else None,
            "!=": True if n < 0 else None,
        }
        return known.get(op)


class _NoCreateFlags(_Abstract):
    """``evt.arg.flags`` of an open the probe leaves out: neither O_CREAT, O_TRUNC nor
    O_TMPFILE among them, the rest unknown."""

    def decide(self, op: str, consts: list[str]) -> bool | None:
        creating = {"O_CREAT", "O_TRUNC", "O_TMPFILE"}
        if op == "contains" and len(consts) == 1 and consts[0] in creating:
            return False
        return None


def worlds(path: str) -> list[dict[str, Binding]]:
    """The bound fields in each kind of event the probe may leave out for ``path``: the
    descriptor known or not (an enter has none yet), the name argument there or not (a
    close has none), the open's flags there or not. Fields of one world agree with one
    another; a rule must be false in every world."""
    directory, filename = posixpath.split(path)
    text = FieldType.STRING
    fd_known = {
        "fd.name": ((path,), text),
        "fd.nameraw": ((path,), text),
        "fd.directory": ((directory,), text),
        "fd.filename": ((filename,), text),
        "fd.type": (("file",), text),
        "fd.typechar": (("f",), text),
    }
    fd_missing = {k: ((MISSING,), t) for k, (_, t) in fd_known.items()}
    name_there = {
        "evt.arg.name": ((path,), text),
        "evt.rawarg.name": ((path,), text),
    }
    name_missing = {k: ((MISSING,), t) for k, (_, t) in name_there.items()}
    # Only opens that neither create nor truncate are left out.
    flags_there = {
        "evt.is_open_create": ((False,), FieldType.BOOL),
        "evt.arg.flags": ((_NoCreateFlags(),), text),
    }
    flags_missing = {k: ((MISSING,), t) for k, (_, t) in flags_there.items()}
    common = {
        "evt.type": (tuple(sorted(file_event_types())), text),
        "evt.num": ((_NonNegative(),), FieldType.INT),
    }
    return [
        {**fd, **name, **flags, **common}
        for fd in (fd_known, fd_missing)
        for name in (name_there, name_missing)
        for flags in (flags_there, flags_missing)
    ]


def _field_key(ref: FieldRef) -> str | None:
    if ref.arg is None:
        return ref.name
    if ref.name in ("evt.arg", "evt.rawarg") and ref.arg in ("name", "flags"):
        return f"{ref.name}.{ref.arg}"
    return None


def _one(node: Compare, value: Any, ftype: FieldType, key: str) -> bool | None:
    """The comparison for one possible value of its field."""
    if value is MISSING:
        return False  # a missing field makes every comparison false, exists too
    if node.op == "exists":
        return value != ""
    if not isinstance(node.rhs, Value | ValueList):
        return UNKNOWN  # val(other.field)
    items = node.rhs.items if isinstance(node.rhs, ValueList) else (node.rhs,)
    if isinstance(value, _Abstract):
        return value.decide(node.op, [v.text for v in items])
    try:
        consts = [convert_constant(v.text, ftype, node.op, key, 0) for v in items]
        return bool(scalar_test(node.op, ftype, consts)(value))
    except (AssertionError, SentryError, ValueError, TypeError):
        return UNKNOWN


def _compare(node: Compare, bound: dict[str, Binding]) -> bool | None:
    if not isinstance(node.lhs, FieldRef):
        return UNKNOWN  # a transformer: not modelled
    key = _field_key(node.lhs)
    binding = bound.get(key) if key is not None else None
    if binding is None or key is None:
        return UNKNOWN
    values, ftype = binding
    outcomes = {_one(node, v, ftype, key) for v in values}
    return outcomes.pop() if len(outcomes) == 1 else UNKNOWN


def evaluate(expr: Expr, bound: dict[str, Binding]) -> bool | None:
    """``expr`` with the bound fields' values: True, False or None (unknown)."""
    if isinstance(expr, BoolConst):
        return expr.value
    if isinstance(expr, Compare):
        return _compare(expr, bound)
    if isinstance(expr, Not):
        inner = evaluate(expr.arg, bound)
        return None if inner is None else not inner
    if isinstance(expr, And | Or):
        # Kleene logic: False decides an and, True an or; else unknown if any is unknown.
        decides = isinstance(expr, Or)
        result: bool | None = not decides
        for arg in expr.args:
            v = evaluate(arg, bound)
            if v is decides:
                return decides
            if v is None:
                result = None
        return result
    if isinstance(expr, Identifier):
        return UNKNOWN  # an unexpanded macro: never after compile_rules
    return UNKNOWN


def blocking_rules(rules: Iterable[Any], path: str) -> list[str]:
    """Names of the syscall rules that might match an event about ``path``."""
    cases = worlds(path)
    return [
        rule.name
        for rule in rules
        if rule.source == "syscall"
        and any(evaluate(rule.filter.ast, bound) is not False for bound in cases)
    ]


def quiet_paths(rules: Iterable[Any], candidates: Sequence[str] = DEFAULT_CANDIDATES) -> list[str]:
    """The candidates no rule can match an event about (absolute paths the probe can hold)."""
    rules = [r for r in rules if r.source == "syscall"]
    return [
        p
        for p in candidates
        if p.startswith("/") and len(p.encode()) <= PATH_MAX and not blocking_rules(rules, p)
    ]


def quiet_paths_for(ruleset: Ruleset, cfg: Config) -> list[str]:
    """The quiet paths for a ruleset under the configuration's ``quiet_opens`` section
    (none when disabled)."""
    if not cfg.get("quiet_opens.enabled"):
        return []
    return quiet_paths(ruleset.rules, tuple(cfg.get("quiet_opens.paths")))


def push_quiet(source: LiveSource, ruleset: Ruleset, cfg: Config) -> list[str]:
    """Hand a live source the quiet paths of ``ruleset``; returns the paths it took (the
    kernel module takes none: it has no quiet filter yet)."""
    taken = source.set_quiet(quiet_paths_for(ruleset, cfg))
    log(f"quiet opens: {', '.join(taken) if taken else 'none'} (quiet_opens)", "info")
    return taken


__all__ = [
    "DEFAULT_CANDIDATES",
    "blocking_rules",
    "evaluate",
    "file_event_types",
    "push_quiet",
    "quiet_paths",
    "quiet_paths_for",
    "worlds",
]
