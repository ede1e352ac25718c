"""Rule tests: a YAML file of cases, each a capture or a syscall story and the alerts expected.

A test file (``NAME.tests.yaml``, see the README's "Testing rules") is one mapping::

    rules: [../sentry_rules.yaml]        # rules files, relative to this file, in order
    tests:
      - name: vi writes a file below /
        processes:                        # threads alive when the capture starts
          - {id: bash, comm: bash, tty: 34816}
          - {id: vi, comm: vi, args: [hoge.sh], parent: bash}
        events:                           # syscalls, in order: PROC + one action
          - {proc: vi, open: /hoge.sh, flags: O_WRONLY|O_CREAT|O_TRUNC}
        alerts:                           # exactly these alerts (order free)
          - rule: File Written Below Root Or Root Home
            priority: Error
            output_fields: {fd.name: /hoge.sh, proc.name: vi}
      - name: a capture
        capture: ../../tests/data/some.scap
        alerts: []                        # no alert at all

An action is a :class:`~sentry.rules.story.Story` method (``open``, ``execve``, ``connect``,
``setuid``, ``generic``, ``syscall`` ...): its value is the first argument (a list: the
positional arguments; a mapping: keyword arguments), the event's other keys its keyword
arguments. ``execve`` makes a new
process, named by ``as`` for later events. Flag values may be written by name
(``O_WRONLY|O_CREAT``, ``S_ISUID``, ``PTRACE_ATTACH`` ...), users by name (``uid: alice``),
containers by a tag (``container: web``) or a 64-hex id.

This module reads the files (every problem is a :class:`~sentry.errors.RuleLoadError` with
FILE:LINE) and judges a case's alerts; ``sentry rules test`` runs them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentry.errors import RuleLoadError
from sentry.rules import story as story_mod
from sentry.rules.definitions import Priority
from sentry.rules.story import USERS, Proc, Story, container_id
from sentry.rules.yamlload import YAMLMapping, parse_yaml_documents

TEST_SUFFIXES = (".tests.yaml", ".tests.yml")
PROC_KEYS = ("id", "comm", "args", "parent", "exe", "uid", "loginuid", "cwd", "tty", "container")
CASE_KEYS = ("name", "capture", "processes", "events", "alerts", "other_alerts", "no_alerts")
ALERT_KEYS = ("rule", "priority", "output_fields", "count")
# Story methods usable as actions (their first parameter is the acting process).
ACTIONS = (
    "open",
    "execve",
    "execveat",
    "socket",
    "connect",
    "connect_unix",
    "listen",
    "dup",
    "unlink",
    "rename",
    "mkdir",
    "chmod",
    "symlink",
    "setuid",
    "setresuid",
    "ptrace",
    "setns",
    "unshare",
    "mount",
    "bpf",
    "generic",
    "syscall",
)
# Symbolic names a flag value may use: the portable (scap) values story.py defines.
CONSTANTS: dict[str, int] = {
    name: value
    for name, value in vars(story_mod).items()
    if re.fullmatch(r"(O|S|PTRACE|CLONE|AT)_[A-Z_]+|EPERM|ENOENT|EINPROGRESS", name)
    and isinstance(value, int)
}
_SYMBOLIC = re.compile(r"[A-Z][A-Z0-9_]*(\s*\|\s*[A-Z][A-Z0-9_]*)*")


@dataclass(slots=True)
class ExpectedAlert:
    rule: str
    line: int
    priority: Priority | None = None
    output_fields: dict[str, Any] = field(default_factory=dict)
    count: int = 1

    def describe(self) -> str:
        parts = [f"priority {self.priority.label}"] if self.priority is not None else []
        parts += [f"{k}={v}" for k, v in self.output_fields.items()]
        return f"'{self.rule}'" + (f" ({', '.join(parts)})" if parts else "")


@dataclass(slots=True)
class TestCase:
    """One case: where it is, what it runs on, what it expects."""

    __test__ = False  # not a pytest class

    name: str
    path: Path
    line: int
    rules: list[Path]
    capture: Path | None = None
    story: Story | None = None
    alerts: list[ExpectedAlert] = field(default_factory=list)
    other_alerts: bool = False  # True: alerts beyond the expected ones are allowed
    no_alerts: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def find_test_files(paths: Iterable[Path]) -> list[Path]:
    """The test files named, and those below the directories named (by path), in order."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(
                c for c in p.rglob("*") if c.is_file() and c.name.endswith(TEST_SUFFIXES)
            )
        elif p.exists():
            found.append(p)
        else:
            raise RuleLoadError("no such file or directory", path=str(p))
    return found


def load_test_file(path: Path, rules: list[Path] | None = None) -> list[TestCase]:
    """The cases of one test file (``rules``, when given, replaces the file's ``rules``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleLoadError(f"cannot read: {exc}", path=str(path)) from None
    docs = [d for d in parse_yaml_documents(text, str(path)) if d is not None]
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise RuleLoadError(
            "a test file is one mapping with 'rules' and 'tests'", path=str(path), line=1
        )
    doc = docs[0]
    loc = _Locator(path, doc)
    loc.only(doc, ("rules", "tests"), "the test file")
    if rules is None:
        names = doc.get("rules")
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise loc.error(
                doc, "rules", "'rules' is a list of rules files (relative to this file)"
            )
        rules = [path.parent / n for n in names]
    tests = doc.get("tests")
    if not isinstance(tests, list) or not tests:
        raise loc.error(doc, "tests", "'tests' is a non-empty list of cases")
    cases = [_case(loc, item, rules, i) for i, item in enumerate(tests)]
    seen: dict[str, int] = {}
    for c in cases:
        if c.name in seen:
            raise RuleLoadError(
                f"test '{c.name}' is given twice (first at line {seen[c.name]})",
                path=str(path),
                line=c.line,
            )
        seen[c.name] = c.line
    return cases


def _line(value: object, key: str | None = None) -> int | None:
    """Where a YAML mapping (or its ``key``) starts; None for a value that is no mapping."""
    if not isinstance(value, YAMLMapping):
        return None
    return value.key_lines.get(key, value.line) if key is not None else value.line


class _Locator:
    """Builds located errors for one file."""

    def __init__(self, path: Path, doc: Any):
        self.path = path
        self.doc = doc

    def error(self, mapping: Any, key: str | None, message: str) -> RuleLoadError:
        return RuleLoadError(message, path=str(self.path), line=_line(mapping, key))

    def only(self, mapping: dict[str, Any], keys: Iterable[str], what: str) -> None:
        unknown = [k for k in mapping if k not in keys]
        if unknown:
            raise self.error(
                mapping,
                unknown[0],
                f"{what}: unknown key '{unknown[0]}' (known: {', '.join(keys)})",
            )


def _case(loc: _Locator, item: Any, rules: list[Path], index: int) -> TestCase:
    if not isinstance(item, dict):
        raise RuleLoadError(
            f"test #{index + 1} is not a mapping",
            path=str(loc.path),
            line=_line(loc.doc, "tests"),
        )
    loc.only(item, CASE_KEYS, "test")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise loc.error(item, "name", "a test needs a 'name'")
    case = TestCase(name=name, path=loc.path, line=_line(item) or 0, rules=rules)
    if "capture" in item:
        if "processes" in item or "events" in item:
            raise loc.error(
                item, "capture", f"test '{name}': 'capture' or 'processes'/'events', not both"
            )
        if not isinstance(item["capture"], str):
            raise loc.error(item, "capture", f"test '{name}': 'capture' is a file path")
        case.capture = loc.path.parent / item["capture"]
    elif "events" in item:
        case.story = _story(loc, item, name)
    else:
        raise loc.error(item, None, f"test '{name}': give a 'capture' or 'events'")
    if "alerts" not in item:
        raise loc.error(item, None, f"test '{name}': give the 'alerts' expected ([] for none)")
    alerts = item["alerts"] or []
    if not isinstance(alerts, list):
        raise loc.error(item, "alerts", f"test '{name}': 'alerts' is a list")
    case.alerts = [_expected(loc, a, name) for a in alerts]
    other = item.get("other_alerts", "fail")
    if other not in ("fail", "ignore"):
        raise loc.error(item, "other_alerts", "'other_alerts' is 'fail' (the default) or 'ignore'")
    case.other_alerts = other == "ignore"
    no_alerts = item.get("no_alerts", [])
    if not isinstance(no_alerts, list) or not all(isinstance(r, str) for r in no_alerts):
        raise loc.error(item, "no_alerts", "'no_alerts' is a list of rule names")
    case.no_alerts = no_alerts
    return case


def _expected(loc: _Locator, a: Any, name: str) -> ExpectedAlert:
    if isinstance(a, str):
        return ExpectedAlert(rule=a, line=0)
    if not isinstance(a, dict) or not isinstance(a.get("rule"), str):
        raise RuleLoadError(
            f"test '{name}': an expected alert is a rule name or a mapping with 'rule'",
            path=str(loc.path),
            line=_line(a),
        )
    loc.only(a, ALERT_KEYS, "expected alert")
    exp = ExpectedAlert(rule=a["rule"], line=_line(a) or 0)
    if "priority" in a:
        try:
            exp.priority = Priority.parse(a["priority"])
        except Exception:
            raise loc.error(a, "priority", f"unknown priority '{a['priority']}'") from None
    fields = a.get("output_fields", {})
    if not isinstance(fields, dict):
        raise loc.error(a, "output_fields", "'output_fields' maps field names to values")
    exp.output_fields = dict(fields)
    count = a.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise loc.error(a, "count", "'count' is a positive number")
    exp.count = count
    return exp


# ---------------------------------------------------------------------------- stories


def _value(key: str, value: Any) -> Any:
    """Symbolic flags (``O_WRONLY|O_CREAT``) and user names as the numbers they stand for."""
    if isinstance(value, str) and _SYMBOLIC.fullmatch(value.strip()):
        parts = [p.strip() for p in value.split("|")]
        if all(p in CONSTANTS for p in parts):
            total = 0
            for p in parts:
                total |= CONSTANTS[p]
            return total
    if key in ("uid", "loginuid") and isinstance(value, str):
        by_name = {n: u for u, n in USERS.items()}
        if value in by_name:
            return by_name[value]
        raise ValueError(f"unknown user '{value}' (known: {', '.join(by_name)})")
    if isinstance(value, dict):
        return {k: _value(k, v) for k, v in value.items()}
    return value


def _container(value: Any) -> str | None:
    if value in (None, "host"):
        return None
    text = str(value)
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else container_id(text)


def _story(loc: _Locator, item: dict[str, Any], name: str) -> Story:
    s = Story()
    procs: dict[str, Proc] = {}
    for p in item.get("processes") or []:
        if not isinstance(p, dict) or "comm" not in p:
            raise RuleLoadError(
                f"test '{name}': a process is a mapping with 'comm'",
                path=str(loc.path),
                line=_line(p) or _line(item),
            )
        loc.only(p, PROC_KEYS, "process")
        pid = str(p.get("id", p["comm"]))
        if pid in procs:
            raise loc.error(
                p, "id", f"test '{name}': process id '{pid}' is given twice (give each an 'id')"
            )
        kw = {
            k: _value(k, v) for k, v in p.items() if k in ("exe", "uid", "loginuid", "cwd", "tty")
        }
        if "parent" in p:
            if p["parent"] not in procs:
                raise loc.error(
                    p,
                    "parent",
                    f"test '{name}': unknown parent '{p['parent']}' (list parents first)",
                )
            kw["parent"] = procs[p["parent"]]
        if "container" in p:
            kw["container"] = _container(p["container"])
        args = p.get("args", [])
        if isinstance(args, str):
            args = [args]
        try:
            procs[pid] = s.proc(str(p["comm"]), *[str(a) for a in args], **kw)
        except (TypeError, ValueError) as exc:
            raise loc.error(p, None, f"test '{name}': {exc}") from None
    for ev in item.get("events") or []:
        _action(loc, s, procs, ev, name)
    return s


def _action(loc: _Locator, s: Story, procs: dict[str, Proc], ev: Any, name: str) -> None:
    line = _line(ev)
    if not isinstance(ev, dict) or "proc" not in ev:
        raise RuleLoadError(
            f"test '{name}': an event is a mapping with 'proc' and one "
            f"action ({', '.join(ACTIONS)})",
            path=str(loc.path),
            line=line,
        )
    acts = [k for k in ev if k in ACTIONS]
    if len(acts) > 1 and "syscall" in acts:  # `open: PATH, syscall: open`: a keyword there
        acts.remove("syscall")
    if len(acts) != 1:
        raise loc.error(
            ev,
            None,
            f"test '{name}': an event has one action of "
            f"{', '.join(ACTIONS)} (it has {', '.join(acts) or 'none'})",
        )
    act = acts[0]
    who = str(ev["proc"])
    if who not in procs:
        raise loc.error(
            ev,
            "proc",
            f"test '{name}': unknown process '{who}' (known: {', '.join(procs) or 'none'})",
        )
    first = ev[act]
    kwargs = {k: v for k, v in ev.items() if k not in ("proc", act, "as")}
    if first is None or isinstance(first, dict):  # `bpf: {}`, `setns: {nstype: 0}`
        positional = []
        kwargs.update(first or {})
    else:
        positional = list(first) if isinstance(first, list) else [first]
    if act == "connect" and len(positional) == 1 and isinstance(first, str):
        ip, _, port = first.rpartition(":")
        positional = [ip.strip("[]"), int(port)] if port.isdigit() else positional
    method: Callable[..., Any] = getattr(s, act)
    if "args" in kwargs and act == "execve":  # execve(parent, comm, *args)
        more = kwargs.pop("args")
        positional += [str(a) for a in (more if isinstance(more, list) else [more])]
    try:
        positional = [_value(act, v) for v in positional]
        kwargs = {k: _value(k, v) for k, v in kwargs.items()}
        inspect.signature(method).bind(procs[who], *positional, **kwargs)
        result = method(procs[who], *positional, **kwargs)
    except (TypeError, ValueError) as exc:
        raise loc.error(ev, act, f"test '{name}': {act}: {exc}") from None
    if "as" in ev:
        if not isinstance(result, Proc):
            raise loc.error(ev, "as", f"test '{name}': only execve makes a process to name")
        procs[str(ev["as"])] = result
    elif isinstance(result, Proc):  # execve: the new program's name, unless taken
        procs.setdefault(str(positional[0]), result)


# ---------------------------------------------------------------------------- judging


def _same(actual: Any, expected: Any) -> bool:
    if actual is None:
        return expected in (None, "<NA>")
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(actual).lower() == str(expected).lower()
    return actual == expected or str(actual) == str(expected)


def _mismatch(exp: ExpectedAlert, alert: Any) -> list[str]:
    """What differs between ``exp`` and an alert of its rule (empty: it matches)."""
    diffs = []
    if exp.priority is not None and alert.priority != exp.priority:
        diffs.append(f"priority is {alert.priority.label}, expected {exp.priority.label}")
    for key, want in exp.output_fields.items():
        if key not in alert.output_fields:
            diffs.append(f"{key} is not an output field of the rule")
        elif not _same(alert.output_fields[key], want):
            diffs.append(f"{key} is {alert.output_fields[key]!r}, expected {want!r}")
    return diffs


def judge(case: TestCase, alerts: list[Any]) -> list[str]:
    """What went wrong in ``case`` given the alerts its run raised (empty: it passed)."""
    left = list(alerts)
    problems: list[str] = []
    for exp in case.alerts:
        for n in range(exp.count):
            match = next((a for a in left if a.rule == exp.rule and not _mismatch(exp, a)), None)
            if match is not None:
                left.remove(match)
                continue
            nth = f" (#{n + 1} of {exp.count})" if exp.count > 1 else ""
            near = next((a for a in left if a.rule == exp.rule), None)
            if near is not None:
                left.remove(near)  # reported here, not again as unexpected
                problems.append(
                    f"expected alert {exp.describe()}{nth}: " + "; ".join(_mismatch(exp, near))
                )
            else:
                problems.append(f"expected alert {exp.describe()}{nth}: the rule did not alert")
    for rule in case.no_alerts:
        hits = [a for a in alerts if a.rule == rule]
        if hits:
            problems.append(f"rule '{rule}' alerted {len(hits)} time(s), expected none")
    if not case.other_alerts:
        for a in left:
            if a.rule not in case.no_alerts:
                problems.append(f"unexpected alert '{a.rule}' ({a.priority.label}): {a.message}")
    return problems
