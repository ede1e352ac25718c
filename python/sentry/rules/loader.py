"""Rules files -> definitions: lists, macros and rules, each located by file and line.

Reads Falco's rules format: a YAML sequence (one or more documents) of items keyed
``required_engine_version``, ``required_plugin_versions``, ``list``, ``macro`` or ``rule``.
Items accumulate across files in the order given (a directory loads its ``*.yaml``/``*.yml``
files in name order); a later item of the same name replaces an earlier one in place. The
``override:`` mapping (Falco 0.37+) appends to or replaces an earlier item key by key;
``append: true`` still works and is reported as deprecated, as Falco does.

Nothing here compiles conditions: that is :mod:`sentry.rules.ruleset`'s job. Problems are
collected, not raised, as :class:`Problem` records (error or warning, with file, line and
item) so that a person sees every one at once; :meth:`RuleDefinitions.raise_errors`
turns them into one :class:`~sentry.errors.RuleLoadError`. Rule items are read by
:mod:`sentry.rules.rule_items`, the YAML by :mod:`sentry.rules.yamlload`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sentry.errors import RuleLoadError
from sentry.rules import versions
from sentry.rules.definitions import (
    ListDef,
    Location,
    MacroDef,
    PluginRequirement,
    Problem,
    RuleDefinitions,
    Severity,
)
from sentry.rules.rule_items import RuleItems
from sentry.rules.schema import (
    ITEM_KEYS,
    PLUGIN_ALTERNATIVE_KEYS,
    PLUGIN_KEYS,
    kind_of,
    type_errors,
    unknown_keys,
)
from sentry.rules.yamlload import (
    MAX_RULES_FILE_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    YAMLMapping,
    parse_yaml_documents,
)

ENGINE_VERSION = versions.ENGINE_VERSION

DEPRECATED_APPEND = (
    "'append' is deprecated: put an 'append' entry under 'override' instead "
    "(e.g. 'override: {condition: append}')"
)

# Falco's names: a list name is a bare word, a macro name an identifier (others are warned
# about, as today's Falco does: a condition cannot name them).
_LIST_NAME = re.compile(r"[^()\"'\s=,]+")
_MACRO_NAME = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")


def rules_files(path: str | os.PathLike[str]) -> list[Path]:
    """A file as itself; a directory as its YAML files in name order."""
    p = Path(path)
    if p.is_dir():
        return sorted(
            (c for c in p.iterdir() if c.is_file() and c.suffix in (".yaml", ".yml")),
            key=lambda c: c.name,
        )
    return [p]


class RulesLoader(RuleItems):
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
                    path,
                    (doc.line or 1) if isinstance(doc, YAMLMapping) else 1,
                    None,
                )
                continue
            for entry in doc:
                self._load_item(entry, path)

    # -- problems

    def _error(self, msg: str, path: str | None, line: int | None, item: str | None) -> None:
        self.defs.problems.append(Problem(Severity.ERROR, msg, path, line, item))

    def _warn(self, msg: str, path: str | None, line: int | None, item: str | None) -> None:
        self.defs.problems.append(Problem(Severity.WARNING, msg, path, line, item))

    def _warn_unknown(
        self, entry: YAMLMapping, allowed: frozenset[str], path: str, item: str | None
    ) -> None:
        """Keys Falco's rules schema does not have: warned (as Falco's schema validation
        does) and ignored, so that a typo such as ``overide:`` is seen."""
        for key in unknown_keys(entry, allowed):
            self._warn(
                f"unknown key '{key}' ignored", path, entry.key_lines.get(key, entry.line), item
            )

    # -- items

    def _types_ok(self, entry: YAMLMapping, kind: str, path: str) -> bool:
        """Every known key of the item has the type it must have (else an error per key)."""
        name = entry.get(kind)
        item = f"{kind} '{name}'" if isinstance(name, str) else None
        errors = type_errors(entry, kind)
        for msg, line in errors:
            self._error(msg, path, line, item)
        return not errors

    def _load_item(self, entry: Any, path: str) -> None:
        if not isinstance(entry, YAMLMapping):
            if entry is None:
                return  # an empty item (a lone "-"), as Falco skips it
            kind = "list" if isinstance(entry, list) else type(entry).__name__
            self._error(
                f"each item must be a mapping (list, macro, rule or required_engine_version), "
                f"got a {kind} item",
                path,
                None,
                None,
            )
            return
        line = entry.line
        item_kind = next((k for k in ("list", "macro", "rule") if k in entry), None)
        typed = (
            item_kind is None
            or "required_engine_version" in entry
            or "required_plugin_versions" in entry
        )
        if not typed and not self._types_ok(entry, item_kind or "", path):
            return
        if "required_engine_version" in entry:
            self._warn_unknown(entry, ITEM_KEYS["required_engine_version"], path, None)
            self._engine_version(entry, path)
        elif "required_plugin_versions" in entry:
            self._warn_unknown(entry, ITEM_KEYS["required_plugin_versions"], path, None)
            self._plugin_versions(entry, path)
        elif item_kind is not None:
            name = self._name(entry, item_kind)
            item = f"{item_kind} '{name}'" if name is not None else None
            self._warn_unknown(entry, ITEM_KEYS[item_kind], path, item)
            if item_kind == "list":
                self._list(entry, path)
            elif item_kind == "macro":
                self._macro(entry, path)
            else:
                self._rule(entry, path)
        else:
            # As today's Falco: warned and skipped (a newer kind of item loads elsewhere).
            keys = ", ".join(sorted(entry)) or "none"
            self._warn(
                f"unknown item (keys: {keys}) ignored; expected list, macro, rule, "
                "required_engine_version or required_plugin_versions",
                path,
                line,
                None,
            )

    # -- versions

    def _engine_version(self, entry: YAMLMapping, path: str) -> None:
        value = entry["required_engine_version"]
        line = entry.key_lines.get("required_engine_version", entry.line)
        version = versions.parse_version(value) if isinstance(value, int | str) else None
        if version is None:
            self._error(
                f"required_engine_version must be a number or a semver string (x.y.z), "
                f"got '{value if isinstance(value, int | str) else kind_of(value)}'",
                path,
                line,
                None,
            )
            return
        if not versions.compatible(ENGINE_VERSION, version):
            self._error(
                f"rules require engine version {value}, but this engine's version is "
                f"{versions.text(ENGINE_VERSION)}",
                path,
                line,
                None,
            )
        self.defs.required_engine_version = max(self.defs.required_engine_version, version)

    def _plugin_versions(self, entry: YAMLMapping, path: str) -> None:
        value = entry["required_plugin_versions"]
        line = entry.key_lines.get("required_plugin_versions", entry.line)
        if not isinstance(value, list):
            self._error(
                f"required_plugin_versions must be a list, got {kind_of(value)}", path, line, None
            )
            return
        for plugin in value:
            pline = plugin.line if isinstance(plugin, YAMLMapping) else line
            if not isinstance(plugin, YAMLMapping):
                self._error(
                    "each required_plugin_versions entry must be a mapping "
                    "(name, version, alternatives)",
                    path,
                    pline,
                    None,
                )
                continue
            self._warn_unknown(plugin, PLUGIN_KEYS, path, None)
            alternatives = [plugin]
            alts = plugin.get("alternatives")
            if alts is not None:
                if not isinstance(alts, list) or not all(isinstance(a, YAMLMapping) for a in alts):
                    self._error(
                        "plugin 'alternatives' must be a list of mappings (name, version)",
                        path,
                        plugin.key_lines.get("alternatives", pline),
                        None,
                    )
                    continue
                for alt in alts:
                    self._warn_unknown(alt, PLUGIN_ALTERNATIVE_KEYS, path, None)
                alternatives += alts
            self._plugin_requirement(alternatives, path, pline)

    def _plugin_requirement(self, entries: list[YAMLMapping], path: str, line: int) -> None:
        wanted: list[tuple[str, str]] = []
        for e in entries:
            name, version = e.get("name"), e.get("version")
            where = e.line or line
            if not isinstance(name, str) or not name.strip():
                self._error("required plugin has no 'name'", path, where, None)
                return
            if (
                version is None
                or versions.parse_version(version) is None
                or isinstance(version, int)
            ):
                self._error(
                    f"invalid required version '{version}' for plugin '{name}' "
                    "(a semver string x.y.z)",
                    path,
                    where,
                    None,
                )
                return
            if any(n == name for n, _ in wanted):
                self._error(
                    f"plugin '{name}' is named twice among the alternatives of one requirement",
                    path,
                    where,
                    None,
                )
                return
            wanted.append((name, str(version)))
        self.defs.required_plugins.append(PluginRequirement(tuple(wanted), Location(path, line)))
        for name, version in wanted:
            have = versions.BUILTIN_PLUGINS.get(name)
            want = versions.parse_version(version)
            if have is not None and want is not None and versions.compatible(have, want):
                return
        names = " or ".join(f"'{n}' {v}" for n, v in wanted)
        known = [n for n, _ in wanted if n in versions.BUILTIN_PLUGINS]
        if known:
            reason = f"built in: {versions.builtin_summary()}"
            self._error(
                f"rules require plugin {names}, newer than Sentry's built-in support ({reason})",
                path,
                line,
                None,
            )
        else:
            self._error(
                f"rules require plugin {names}, which Sentry does not have (built "
                f"in: {versions.builtin_summary()})",
                path,
                line,
                None,
            )

    # -- shared by lists, macros and rules

    @staticmethod
    def _name(entry: YAMLMapping, kind: str) -> str | None:
        name = entry.get(kind)
        if name is None or (isinstance(name, str) and not name.strip()):
            return None
        return str(name)

    def _append_flag(self, entry: YAMLMapping, path: str, item: str) -> bool | None:
        """``append: true`` (deprecated: warned); None when malformed (error recorded)."""
        append = entry.get("append", False)
        if not isinstance(append, bool):
            self._error(
                f"append must be true or false, got '{append}'",
                path,
                entry.key_lines.get("append", entry.line),
                item,
            )
            return None
        if append:
            self._warn(DEPRECATED_APPEND, path, entry.key_lines.get("append", entry.line), item)
        return append

    def _mode(
        self, entry: YAMLMapping, kind: str, path: str, item: str
    ) -> tuple[bool, dict[str, str] | None] | None:
        """Read ``append`` / ``override``; None when they are malformed (error recorded)."""
        append = self._append_flag(entry, path, item)
        if append is None:
            return None
        override = entry.get("override")
        if override is None:
            return append, None
        oline = entry.key_lines.get("override", entry.line)
        if append:
            self._error(
                "'override' and 'append: true' cannot be used together: put an "
                "'append' entry under 'override' instead",
                path,
                oline,
                item,
            )
            return None
        if not isinstance(override, dict):
            self._error("override must be a mapping of key: append|replace", path, oline, item)
            return None
        return self._override_modes(entry, override, kind, path, item)

    # lists

    def _list(self, entry: YAMLMapping, path: str) -> None:
        name = self._name(entry, "list")
        if name is None:
            self._error("list name is empty", path, entry.line, None)
            return
        item = f"list '{name}'"
        if not _LIST_NAME.fullmatch(name):
            self._warn(
                "invalid list name: conditions can only name a list that is one word "
                "without quotes, parentheses, commas, '=' or spaces",
                path,
                entry.line,
                item,
            )
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
            self._error(
                "list 'items' must be a YAML list",
                path,
                entry.key_lines.get("items", entry.line),
                item,
            )
            return
        items = [self._scalar_text(v) for v in raw]
        existing = self.defs.lists.get(name)
        if append or (override and override.get("items") == "append"):
            if existing is None:
                self._error(
                    "append given but no list by that name exists yet", path, entry.line, item
                )
                return
            existing.items.extend(items)
            return
        # A definition, or an override that replaces: either way the list is (re)defined.
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

    def _macro(self, entry: YAMLMapping, path: str) -> None:
        name = self._name(entry, "macro")
        if name is None:
            self._error("macro name is empty", path, entry.line, None)
            return
        item = f"macro '{name}'"
        if not _MACRO_NAME.fullmatch(name):
            self._warn(
                "invalid macro name: conditions can only name a macro that is an "
                "identifier (a letter, then letters, digits or '_')",
                path,
                entry.line,
                item,
            )
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
                self._error(
                    "append given but no macro by that name exists yet", path, entry.line, item
                )
                return
            existing.condition = f"{existing.condition} {cond}"
            existing.loc = Location(path, entry.line)  # problems now show at the append
            return
        if existing is not None:
            existing.condition = cond
            existing.loc = Location(path, entry.line)
        else:
            self.defs.macros[name] = MacroDef(name, cond, Location(path, entry.line))


def load_rules(paths: Iterable[str | os.PathLike[str]]) -> RuleDefinitions:
    """Load files/directories in order; problems are collected in the result."""
    return RulesLoader().load_paths(paths)


__all__ = [
    "ENGINE_VERSION",
    "MAX_RULES_FILE_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "ListDef",
    "Location",
    "MacroDef",
    "PluginRequirement",
    "Problem",
    "RuleDefinitions",
    "RulesLoader",
    "Severity",
    "load_rules",
    "parse_yaml_documents",
    "rules_files",
]
