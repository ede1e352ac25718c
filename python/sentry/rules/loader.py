"""Rules files -> definitions: lists, macros and rules, each located by file and line.

Reads Falco's rules format: a YAML sequence (one or more documents) of items keyed
``required_engine_version``, ``list``, ``macro`` or ``rule``. Items accumulate across files
in the order given (a directory loads its ``*.yaml``/``*.yml`` files in name order); a
later item of the same name replaces an earlier one in place, ``append: true`` extends it
(list items, macro/rule condition, rule exceptions), and the newer ``override:`` mapping
appends or replaces key by key.

Nothing here compiles conditions: that is :mod:`sentry.rules.ruleset`'s job. Problems are
collected, not raised, as :class:`Problem` records (error or warning, with file, line and
item) so that a person sees every one at once; :meth:`RuleDefinitions.raise_errors`
turns them into one :class:`~sentry.errors.RuleLoadError`.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sentry.errors import RuleLoadError

ENGINE_VERSION = 9
"""The rules engine version we implement (Falco 0.28.1's rules ask for 7; exceptions are 8+)."""


class Priority(enum.IntEnum):
    """Alert priorities, most severe first (syslog order), as Falco names them."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @property
    def label(self) -> str:
        """The name Falco prints in alerts: ``Warning``, ``Informational`` ..."""
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Case-insensitive name; ``info`` is accepted for ``informational``."""
        key = str(text).strip().upper()
        if key == "INFO":
            key = "INFORMATIONAL"
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(p.label for p in cls)
            raise ValueError(f"invalid priority '{text}' (one of {names}, or Info)") from None


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning, located as precisely as the input allows."""

    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    item: str | None = None  # "rule 'foo'", "macro 'bar'", "list 'baz'"

    def __str__(self) -> str:
        loc = ""
        if self.path is not None:
            loc = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        what = f"{self.item}: " if self.item else ""
        tag = "warning: " if self.severity is Severity.WARNING else ""
        return f"{loc}{tag}{what}{self.message}"


@dataclass(slots=True)
class Location:
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(slots=True)
class ListDef:
    name: str
    items: list[str]
    loc: Location


@dataclass(slots=True)
class MacroDef:
    name: str
    condition: str
    loc: Location


@dataclass(slots=True)
class ExceptionDef:
    """A rule exception: ``fields`` (one name or a list), ``comps``, and ``values`` rows."""

    name: str
    fields: str | list[str]
    comps: str | list[str] | None
    values: list[Any]
    loc: Location


@dataclass(slots=True)
class RuleDef:
    name: str
    condition: str
    output: str
    desc: str
    priority: Priority
    loc: Location
    source: str = "syscall"
    enabled: bool = True
    tags: list[str] = field(default_factory=list)
    exceptions: list[ExceptionDef] = field(default_factory=list)
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False

    @property
    def item(self) -> str:
        return f"rule '{self.name}'"


@dataclass(slots=True)
class RuleDefinitions:
    """Everything loaded so far, in definition order, plus every problem found."""

    lists: dict[str, ListDef] = field(default_factory=dict)
    macros: dict[str, MacroDef] = field(default_factory=dict)
    rules: dict[str, RuleDef] = field(default_factory=dict)
    required_engine_version: int = 0
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    def raise_errors(self) -> None:
        """Raise one RuleLoadError naming the first error and listing them all."""
        errors = self.errors
        if not errors:
            return
        first = errors[0]
        err = RuleLoadError(first.message, path=first.path, line=first.line, item=first.item)
        if len(errors) > 1:
            err.args = ("\n".join(str(p) for p in errors),)
        raise err


# ---------------------------------------------------------------- YAML with line numbers


class _Mapping(dict[str, Any]):
    """A YAML mapping that remembers where it and each of its keys start (1-based lines)."""

    line: int = 0
    key_lines: dict[str, int]


MAX_RULES_FILE_BYTES = 64 << 20
"""A rules file larger than this is refused (Falco's own rules are ~150 KB)."""
MAX_YAML_DEPTH = 64
"""Nesting of YAML collections; rules need 4 or 5 levels."""
MAX_YAML_NODES = 4_000_000
"""YAML nodes a file may stand for once its aliases are expanded: an alias bomb (nested
aliases, a few hundred bytes standing for billions of nodes) is refused before anything
expands it. 20k rules are ~300k nodes."""


class _YAMLBudget(yaml.MarkedYAMLError):
    """A file over one of the limits above (reported like a YAML syntax error)."""


class _LineLoader(yaml.SafeLoader):
    """Safe YAML whose mappings carry line numbers, within a depth and node budget."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _YAMLBudget(None, None, f"collections nested deeper than "
                                  f"{MAX_YAML_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expanded_size(node)
        return super().construct_document(node)


def _check_expanded_size(root: yaml.Node) -> None:
    """Raise when ``root`` stands for more than MAX_YAML_NODES nodes with aliases expanded.

    Counted bottom-up once per distinct node (an alias is the same node object as its
    anchor), so the check is linear in the file however large the expansion.
    """
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in size and not done:
            continue
        if isinstance(node, yaml.ScalarNode):
            size[key] = 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(
            node, yaml.MappingNode) else list(node.value)
        if not done:
            size[key] = 0  # a node that contains itself (a recursive alias) counts once
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        total = 1 + sum(size.get(id(c), 1) for c in children)
        if total > MAX_YAML_NODES:
            raise _YAMLBudget(None, None, f"the document stands for more than "
                              f"{MAX_YAML_NODES:,} nodes once its aliases are expanded "
                              "(nested aliases?)", node.start_mark)
        size[key] = total


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        value = loader.construct_object(value_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first given at line "
                f"{mapping.key_lines[key]})", key_node.start_mark)
        mapping[key] = value
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_untagged(loader: _LineLoader, node: yaml.Node) -> Any:
    # Unknown tags (`desc: != after ...` parses as tag "!=") and the bare `=` (YAML 1.1's
    # "value" type, e.g. `comps: [=]`) are read as what they look like: plain values.
    if isinstance(node, yaml.MappingNode):
        return _construct_mapping(loader, node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)
_LineLoader.add_constructor("tag:yaml.org,2002:value", _construct_untagged)
_LineLoader.add_constructor(None, _construct_untagged)


def parse_yaml_documents(text: str, path: str) -> list[Any]:
    """Every document of ``text``; a YAML syntax error becomes a located RuleLoadError."""
    if len(text) > MAX_RULES_FILE_BYTES:
        raise RuleLoadError(f"file of {len(text):,} characters is over the limit of "
                            f"{MAX_RULES_FILE_BYTES:,}", path=path)
    try:
        return list(yaml.load_all(text, Loader=_LineLoader))
    except RecursionError:
        raise RuleLoadError("not valid YAML: nested too deeply", path=path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise RuleLoadError(f"not valid YAML: {reason}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise RuleLoadError(f"not valid YAML: {exc}", path=path) from None


# ---------------------------------------------------------------- the loader

_RULE_KEYS = {
    "rule", "condition", "output", "desc", "priority", "source", "enabled", "tags",
    "exceptions", "warn_evttypes", "skip-if-unknown-filter", "append", "override",
    "capture", "capture_duration",
}
_APPENDABLE = {
    "list": {"items"},
    "macro": {"condition"},
    "rule": {"condition", "output", "desc", "tags", "exceptions"},
}
_REPLACEABLE = {
    "list": {"items"},
    "macro": {"condition"},
    "rule": {
        "condition", "output", "desc", "priority", "tags", "exceptions", "enabled",
        "warn_evttypes", "skip-if-unknown-filter", "source",
    },
}
_SOURCES = {"syscall", "k8s_audit"}


_TEXT, _BOOL, _MAP, _SCALARS, _LIST, _INT = (
    "a string", "true or false", "a mapping", "a list of strings", "a list", "a number")
_SCHEMA: dict[str, dict[str, str]] = {
    "list": {"list": _TEXT, "items": _SCALARS, "append": _BOOL, "override": _MAP},
    "macro": {"macro": _TEXT, "condition": _TEXT, "append": _BOOL, "override": _MAP},
    "rule": {
        "rule": _TEXT, "condition": _TEXT, "output": _TEXT, "desc": _TEXT, "priority": _TEXT,
        "source": _TEXT, "enabled": _BOOL, "tags": _SCALARS, "exceptions": _LIST,
        "warn_evttypes": _BOOL, "skip-if-unknown-filter": _BOOL, "append": _BOOL,
        "override": _MAP, "capture": _BOOL, "capture_duration": _INT,
    },
}  # fmt: skip
_EXCEPTION_SCHEMA = {"name": _TEXT, "fields": _TEXT, "comps": _TEXT, "values": _LIST}


def _kind_of(value: Any) -> str:
    """What a YAML value is, in words (never the value itself: it may be huge)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__


def _type_ok(value: Any, want: str) -> bool:
    if value is None:
        return True  # absent or empty: the checks that need a value say so
    if want == _TEXT:
        return isinstance(value, str)
    if want == _BOOL:
        return isinstance(value, bool)
    if want == _MAP:
        return isinstance(value, dict)
    if want == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if want == _SCALARS:
        return isinstance(value, list) and all(
            isinstance(v, str | int | float) or v is None for v in value)
    return isinstance(value, list)


def rules_files(path: str | os.PathLike[str]) -> list[Path]:
    """A file as itself; a directory as its YAML files in name order."""
    p = Path(path)
    if p.is_dir():
        return sorted(
            (c for c in p.iterdir() if c.is_file() and c.suffix in (".yaml", ".yml")),
            key=lambda c: c.name,
        )
    return [p]


class RulesLoader:
    """Accumulates items from several files, in order, into one :class:`RuleDefinitions`."""

    def __init__(self) -> None:
        self.defs = RuleDefinitions()

    # -- entry points

    def load_paths(self, paths: Iterable[str | os.PathLike[str]]) -> RuleDefinitions:
        for path in paths:
            p = Path(path)
            if not p.exists():
                self._error(f"no such file or directory: {p}", str(p), None, None)
                continue
            for f in rules_files(p):
                self.load_file(f)
        return self.defs

    def load_file(self, path: str | os.PathLike[str]) -> None:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._error(f"cannot read: {exc}", name, None, None)
            return
        self.load_text(text, name)

    def load_text(self, text: str, path: str = "<string>") -> None:
        self.defs.files.append(path)
        try:
            docs = parse_yaml_documents(text, path)
        except RuleLoadError as err:
            self._error(err.reason, path, err.line, None)
            return
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, list):
                what = type(doc).__name__ if not isinstance(doc, dict) else "a mapping"
                self._error(
                    f"rules content must be a YAML list of items, got {what}",
                    path, getattr(doc, "line", 1) or 1, None,
                )
                continue
            for entry in doc:
                self._load_item(entry, path)

    # -- problems

    def _error(self, msg: str, path: str | None, line: int | None, item: str | None) -> None:
        self.defs.problems.append(Problem(Severity.ERROR, msg, path, line, item))

    def _warn(self, msg: str, path: str | None, line: int | None, item: str | None) -> None:
        self.defs.problems.append(Problem(Severity.WARNING, msg, path, line, item))

    # -- items

    def _types_ok(self, entry: _Mapping, kind: str, path: str) -> bool:
        """Every known key of the item has the type it must have (else an error per key)."""
        ok = True
        name = entry.get(kind)
        item = f"{kind} '{name}'" if isinstance(name, str) else None
        for key, want in _SCHEMA[kind].items():
            value = entry.get(key)
            if key in entry and not _type_ok(value, want):
                if key == "fields" or key == "comps":
                    continue
                self._error(f"'{key}' must be {want}, got {_kind_of(value)}", path,
                            entry.key_lines.get(key, entry.line), item)
                ok = False
        for ex in entry.get("exceptions") or () if kind == "rule" else ():
            if not isinstance(ex, _Mapping):
                continue
            for key, want in _EXCEPTION_SCHEMA.items():
                value = ex.get(key)
                if key in ("fields", "comps"):
                    good = value is None or isinstance(value, str) or (
                        isinstance(value, list) and all(isinstance(v, str) for v in value))
                    want = "a string or a list of strings"
                else:
                    good = _type_ok(value, want)
                if not good:
                    self._error(f"exception '{key}' must be {want}, got {_kind_of(value)}",
                                path, ex.key_lines.get(key, ex.line), item)
                    ok = False
        return ok

    def _load_item(self, entry: Any, path: str) -> None:
        if not isinstance(entry, _Mapping):
            kind = "list" if isinstance(entry, list) else type(entry).__name__
            if entry is None:
                kind = "empty"
            self._error(
                f"each item must be a mapping (list, macro, rule or required_engine_version), "
                f"got a {kind} item",
                path, None, None,
            )
            return
        line = entry.line
        item_kind = next((k for k in ("list", "macro", "rule") if k in entry), None)
        typed = item_kind is None or "required_engine_version" in entry
        if not typed and not self._types_ok(entry, item_kind or "", path):
            return
        if "required_engine_version" in entry:
            self._engine_version(entry, path)
        elif "list" in entry:
            self._list(entry, path)
        elif "macro" in entry:
            self._macro(entry, path)
        elif "rule" in entry:
            self._rule(entry, path)
        else:
            keys = ", ".join(sorted(entry)) or "none"
            self._error(
                f"unknown item (keys: {keys}); expected list, macro, rule or "
                "required_engine_version", path, line, None,
            )

    def _engine_version(self, entry: _Mapping, path: str) -> None:
        value = entry["required_engine_version"]
        line = entry.key_lines.get("required_engine_version", entry.line)
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = int(str(value))
            except ValueError:
                self._error(
                    f"required_engine_version must be a number, got '{value}'", path, line, None
                )
                return
        version = int(value)
        if version > ENGINE_VERSION:
            self._error(
                f"rules require engine version {version}, but this engine's version is "
                f"{ENGINE_VERSION}", path, line, None,
            )
        self.defs.required_engine_version = max(self.defs.required_engine_version, version)

    @staticmethod
    def _name(entry: _Mapping, kind: str) -> str | None:
        name = entry.get(kind)
        if name is None or (isinstance(name, str) and not name.strip()):
            return None
        return str(name)

    def _mode(
        self, entry: _Mapping, kind: str, path: str, item: str
    ) -> tuple[bool, dict[str, str] | None] | None:
        """Read ``append`` / ``override``; None when they are malformed (error recorded)."""
        append = entry.get("append", False)
        if not isinstance(append, bool):
            self._error(f"append must be true or false, got '{append}'", path,
                        entry.key_lines.get("append", entry.line), item)
            return None
        override = entry.get("override")
        if override is None:
            return append, None
        oline = entry.key_lines.get("override", entry.line)
        if append:
            self._error("cannot have both append and override", path, oline, item)
            return None
        if not isinstance(override, dict):
            self._error("override must be a mapping of key: append|replace", path, oline, item)
            return None
        modes: dict[str, str] = {}
        for key, mode in override.items():
            if mode not in ("append", "replace"):
                self._error(f"override of '{key}' must be append or replace, got '{mode}'",
                            path, oline, item)
                return None
            allowed = _APPENDABLE[kind] if mode == "append" else _REPLACEABLE[kind]
            if key not in allowed:
                self._error(f"key '{key}' cannot be overridden with {mode} in a {kind}",
                            path, oline, item)
                return None
            if key not in entry:
                self._error(f"override names '{key}' but the item does not give it",
                            path, oline, item)
                return None
            modes[key] = mode
        return False, modes

    # lists

    def _list(self, entry: _Mapping, path: str) -> None:
        name = self._name(entry, "list")
        if name is None:
            self._error("list name is empty", path, entry.line, None)
            return
        item = f"list '{name}'"
        mode = self._mode(entry, "list", path, item)
        if mode is None:
            return
        append, override = mode
        loc = Location(path, entry.line)
        if "items" not in entry:
            self._error("list has no 'items'", path, entry.line, item)
            return
        raw = entry["items"]
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            self._error("list 'items' must be a YAML list", path,
                        entry.key_lines.get("items", entry.line), item)
            return
        items = [self._scalar_text(v) for v in raw]
        existing = self.defs.lists.get(name)
        if append or (override and override.get("items") == "append"):
            if existing is None:
                self._error("append given but no list by that name exists yet", path,
                            entry.line, item)
                return
            existing.items.extend(items)
            return
        if override and existing is None:
            self._error("override given but no list by that name exists yet", path,
                        entry.line, item)
            return
        if existing is not None:
            existing.items = items
            existing.loc = loc
        else:
            self.defs.lists[name] = ListDef(name, items, loc)

    @staticmethod
    def _scalar_text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    # macros

    def _macro(self, entry: _Mapping, path: str) -> None:
        name = self._name(entry, "macro")
        if name is None:
            self._error("macro name is empty", path, entry.line, None)
            return
        item = f"macro '{name}'"
        mode = self._mode(entry, "macro", path, item)
        if mode is None:
            return
        append, override = mode
        cond = entry.get("condition")
        if cond is None or not str(cond).strip():
            self._error("macro has no 'condition'", path, entry.line, item)
            return
        cond = str(cond)
        existing = self.defs.macros.get(name)
        if append or (override and override.get("condition") == "append"):
            if existing is None:
                self._error("append given but no macro by that name exists yet", path,
                            entry.line, item)
                return
            existing.condition = f"{existing.condition} {cond}"
            existing.loc = Location(path, entry.line)  # problems now show at the append
            return
        if override and existing is None:
            self._error("override given but no macro by that name exists yet", path,
                        entry.line, item)
            return
        if existing is not None:
            existing.condition = cond
            existing.loc = Location(path, entry.line)
        else:
            self.defs.macros[name] = MacroDef(name, cond, Location(path, entry.line))

    # rules

    def _rule(self, entry: _Mapping, path: str) -> None:
        name = self._name(entry, "rule")
        if name is None:
            self._error("rule name is empty", path, entry.line, None)
            return
        item = f"rule '{name}'"
        for key in entry:
            if key not in _RULE_KEYS:
                self._warn(f"unknown key '{key}' ignored", path,
                           entry.key_lines.get(key, entry.line), item)
        mode = self._mode(entry, "rule", path, item)
        if mode is None:
            return
        append, override = mode
        existing = self.defs.rules.get(name)
        if append:
            self._append_rule(entry, path, item, existing)
        elif override is not None:
            self._override_rule(entry, path, item, existing, override)
        elif existing is not None and set(entry) <= {"rule", "enabled"} and "enabled" in entry:
            # `- rule: X / enabled: false` switches an existing rule on or off.
            enabled = self._bool(entry, "enabled", path, item)
            if enabled is not None:
                existing.enabled = enabled
        else:
            self._new_rule(entry, path, item, name)

    def _bool(self, entry: _Mapping, key: str, path: str, item: str) -> bool | None:
        value = entry.get(key)
        if isinstance(value, bool):
            return value
        self._error(f"'{key}' must be true or false, got '{value}'", path,
                    entry.key_lines.get(key, entry.line), item)
        return None

    def _new_rule(self, entry: _Mapping, path: str, item: str, name: str) -> None:
        missing = [k for k in ("condition", "output", "desc", "priority")
                   if entry.get(k) is None or (k != "output" and str(entry.get(k)).strip() == "")]
        if missing:
            self._error(f"rule has no '{missing[0]}'" + (
                f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""),
                path, entry.line, item)
            return
        try:
            priority = Priority.parse(entry["priority"])
        except ValueError as exc:
            self._error(str(exc), path, entry.key_lines.get("priority", entry.line), item)
            return
        rule = RuleDef(
            name=name,
            condition=str(entry["condition"]),
            output=str(entry["output"]).strip(),
            desc=str(entry["desc"]).strip(),
            priority=priority,
            loc=Location(path, entry.line),
        )
        if not self._rule_options(entry, path, item, rule):
            return
        exceptions = self._exceptions(entry, path, item, None)
        if exceptions is None:
            return
        rule.exceptions = exceptions
        # A redefinition replaces the rule but keeps its place in the order (dict semantics).
        self.defs.rules[name] = rule

    def _rule_options(self, entry: _Mapping, path: str, item: str, rule: RuleDef) -> bool:
        if "source" in entry:
            source = str(entry["source"])
            if source not in _SOURCES:
                self._error(f"unknown source '{source}' (one of {', '.join(sorted(_SOURCES))})",
                            path, entry.key_lines.get("source", entry.line), item)
                return False
            rule.source = source
        for key, attr in (("enabled", "enabled"), ("warn_evttypes", "warn_evttypes"),
                          ("skip-if-unknown-filter", "skip_if_unknown_filter")):
            if key in entry:
                value = self._bool(entry, key, path, item)
                if value is None:
                    return False
                setattr(rule, attr, value)
        if "tags" in entry:
            tags = entry["tags"]
            if tags is None:
                tags = []
            if not isinstance(tags, list):
                self._error("'tags' must be a YAML list", path,
                            entry.key_lines.get("tags", entry.line), item)
                return False
            rule.tags = [str(t) for t in tags]
        if "priority" in entry and entry["priority"] is not None:
            try:
                rule.priority = Priority.parse(entry["priority"])
            except ValueError as exc:
                self._error(str(exc), path, entry.key_lines.get("priority", entry.line), item)
                return False
        return True

    def _exceptions(self, entry: _Mapping, path: str, item: str,
                    base: RuleDef | None) -> list[ExceptionDef] | None:
        """Parse the ``exceptions`` key; ``base`` set for appends (fields may be omitted)."""
        raw = entry.get("exceptions")
        if raw is None:
            return []
        line = entry.key_lines.get("exceptions", entry.line)
        if not isinstance(raw, list):
            self._error("'exceptions' must be a YAML list", path, line, item)
            return None
        out: list[ExceptionDef] = []
        for ex in raw:
            exline = ex.line if isinstance(ex, _Mapping) else line
            if not isinstance(ex, dict):
                self._error("each exception must be a mapping", path, exline, item)
                return None
            exname = ex.get("name")
            if exname is None or not str(exname).strip():
                self._error("exception has no 'name'", path, exline, item)
                return None
            exname = str(exname)
            values = ex.get("values") or []
            if not isinstance(values, list):
                self._error(f"exception '{exname}': 'values' must be a YAML list", path,
                            exline, item)
                return None
            known = None
            if base is not None:
                known = next((e for e in base.exceptions if e.name == exname), None)
            fields = ex.get("fields")
            comps = ex.get("comps")
            if fields is None and known is None:
                if base is not None:
                    # Appending values to an exception the rule does not define.
                    self._warn(f"append: rule has no exception named '{exname}'; ignored",
                               path, exline, item)
                    continue
                self._error(f"exception '{exname}' has no 'fields'", path, exline, item)
                return None
            if known is not None and (fields is not None or comps is not None):
                self._error(
                    f"exception '{exname}': an append may only add values, not fields or comps",
                    path, exline, item)
                return None
            if fields is not None:
                if not isinstance(fields, str | list) or (
                    isinstance(fields, list) and not all(isinstance(f, str) for f in fields)
                ):
                    self._error(f"exception '{exname}': 'fields' must be a field name or a "
                                "list of field names", path, exline, item)
                    return None
                if comps is not None and not isinstance(comps, str | list):
                    self._error(f"exception '{exname}': 'comps' must be an operator or a list",
                                path, exline, item)
                    return None
                if isinstance(fields, list) and comps is not None and (
                    not isinstance(comps, list) or len(comps) != len(fields)
                ):
                    self._error(f"exception '{exname}': 'fields' and 'comps' must have the "
                                "same length", path, exline, item)
                    return None
            shape = fields if fields is not None else (known.fields if known else None)
            if isinstance(shape, list):
                for row in values:
                    if not isinstance(row, list) or len(row) != len(shape):
                        self._error(f"exception '{exname}': each value must be a list as long "
                                    f"as 'fields' ({len(shape)})", path, exline, item)
                        return None
            out.append(ExceptionDef(
                exname,
                fields if fields is not None else known.fields,  # type: ignore[union-attr]
                comps if fields is not None else (known.comps if known else None),
                list(values),
                Location(path, exline),
            ))
        return out

    def _append_rule(self, entry: _Mapping, path: str, item: str,
                     existing: RuleDef | None) -> None:
        if "condition" not in entry and "exceptions" not in entry:
            self._error("append needs a 'condition' or 'exceptions' to add", path, entry.line,
                        item)
            return
        if existing is None:
            self._error("append given but no rule by that name exists yet", path, entry.line,
                        item)
            return
        if entry.get("condition") is not None:
            existing.condition = f"{existing.condition} {entry['condition']}"
            existing.loc = Location(path, entry.line)  # problems now show at the append
        self._merge_exceptions(entry, path, item, existing, append_values=True)
        if "enabled" in entry:
            enabled = self._bool(entry, "enabled", path, item)
            if enabled is not None:
                existing.enabled = enabled

    def _merge_exceptions(self, entry: _Mapping, path: str, item: str, existing: RuleDef,
                          append_values: bool) -> None:
        added = self._exceptions(entry, path, item, existing)
        if added is None:
            return
        for ex in added:
            known = next((e for e in existing.exceptions if e.name == ex.name), None)
            if known is not None and append_values:
                known.values.extend(ex.values)
            else:
                existing.exceptions.append(ex)

    def _override_rule(self, entry: _Mapping, path: str, item: str,
                       existing: RuleDef | None, override: dict[str, str]) -> None:
        if existing is None:
            self._error("override given but no rule by that name exists yet", path, entry.line,
                        item)
            return
        for key, mode in override.items():
            value = entry[key]
            if key == "exceptions":
                if mode == "replace":
                    existing.exceptions = []
                self._merge_exceptions(entry, path, item, existing, append_values=True)
            elif key == "tags":
                tags = [str(t) for t in (value or [])]
                existing.tags = existing.tags + tags if mode == "append" else tags
            elif key in ("condition", "output", "desc"):
                old = getattr(existing, key)
                setattr(existing, key, f"{old} {value}" if mode == "append" else str(value))
            else:
                if not self._rule_options(_only(entry, key), path, item, existing):
                    return


def _only(entry: _Mapping, key: str) -> _Mapping:
    sub = _Mapping({key: entry[key]})
    sub.line = entry.line
    sub.key_lines = {key: entry.key_lines.get(key, entry.line)}
    return sub


def load_rules(paths: Iterable[str | os.PathLike[str]]) -> RuleDefinitions:
    """Load files/directories in order; problems are collected in the result."""
    return RulesLoader().load_paths(paths)
