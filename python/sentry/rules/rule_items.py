"""Rule items: new rules, ``override:`` (append/replace per key), ``append: true``, exceptions.

What Falco 0.37+ does, which the loader follows:

- ``override:`` names, per key, ``append`` (condition, output, desc, tags, exceptions) or
  ``replace`` (those and priority, enabled, warn_evttypes, skip-if-unknown-filter). Every key
  it names must be given, and every such key given must be named (``Unexpected key``); the
  rule must exist already.
- ``append: true`` (deprecated, warned) adds to the condition and exceptions; ``enabled``
  beside it is ignored.
- An item with ``enabled`` and none of condition/output/desc/priority switches an earlier
  rule on or off (deprecated too: ``override: {enabled: replace}``).
- Appending to exceptions adds values to an exception the rule has (fields and comps may
  not change); an exception it lacks is added, so it needs ``fields`` and ``values``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentry.rules.definitions import ExceptionDef, Location, Priority, RuleDef
from sentry.rules.schema import APPENDABLE, EXCEPTION_KEYS, REPLACEABLE
from sentry.rules.yamlload import YAMLMapping

if TYPE_CHECKING:
    from sentry.rules.definitions import RuleDefinitions

_SOURCES = {"syscall", "k8s_audit"}
_DEFINING = ("condition", "output", "desc", "priority")
DEPRECATED_ENABLED = (
    "a standalone 'enabled' is deprecated: add 'override: {enabled: replace}' beside it"
)


class RuleItems:
    """The rule half of :class:`~sentry.rules.loader.RulesLoader` (a mixin)."""

    defs: RuleDefinitions

    if TYPE_CHECKING:

        def _error(
            self, msg: str, path: str | None, line: int | None, item: str | None
        ) -> None: ...

        def _warn(self, msg: str, path: str | None, line: int | None, item: str | None) -> None: ...

        def _warn_unknown(
            self, entry: YAMLMapping, allowed: frozenset[str], path: str, item: str | None
        ) -> None: ...

        def _mode(
            self, entry: YAMLMapping, kind: str, path: str, item: str
        ) -> tuple[bool, dict[str, str] | None] | None: ...

        @staticmethod
        def _name(entry: YAMLMapping, kind: str) -> str | None: ...

    def _override_modes(
        self, entry: YAMLMapping, override: dict[str, Any], kind: str, path: str, item: str
    ) -> tuple[bool, dict[str, str]] | None:
        oline = entry.key_lines.get("override", entry.line)
        lines = override.key_lines if isinstance(override, YAMLMapping) else {}
        modes: dict[str, str] = {}
        for key, mode in override.items():
            kline = lines.get(key, oline)
            if mode not in ("append", "replace"):
                allowed = [
                    m
                    for m, keys in (("append", APPENDABLE[kind]), ("replace", REPLACEABLE[kind]))
                    if key in keys
                ]
                self._error(
                    f"invalid override operation for '{key}': '{mode}' (allowed: "
                    f"{', '.join(allowed) or 'none'})",
                    path,
                    kline,
                    item,
                )
                return None
            if mode == "append" and key not in APPENDABLE[kind]:
                hint = ", use 'replace' instead" if key in REPLACEABLE[kind] else ""
                self._error(f"key '{key}' cannot be appended to{hint}", path, kline, item)
                return None
            if mode == "replace" and key not in REPLACEABLE[kind]:
                self._error(f"key '{key}' cannot be replaced", path, kline, item)
                return None
            if key not in entry:
                self._error(
                    f"an {mode} override for '{key}' was given but '{key}' is not defined",
                    path,
                    kline,
                    item,
                )
                return None
            modes[key] = mode
        if kind == "rule":
            for key in entry:
                if key in APPENDABLE[kind] | REPLACEABLE[kind] and key not in modes:
                    self._error(
                        f"unexpected key '{key}': no entry for it under 'override'",
                        path,
                        entry.key_lines.get(key, entry.line),
                        item,
                    )
                    return None
        return False, modes

    def _rule(self, entry: YAMLMapping, path: str) -> None:
        name = self._name(entry, "rule")
        if name is None:
            self._error("rule name is empty", path, entry.line, None)
            return
        item = f"rule '{name}'"
        mode = self._mode(entry, "rule", path, item)
        if mode is None:
            return
        append, override = mode
        existing = self.defs.rules.get(name)
        if override is not None:
            self._override_rule(entry, path, item, existing, override)
        elif append:
            self._append_rule(entry, path, item, existing)
        elif "enabled" in entry and not any(k in entry for k in _DEFINING):
            self._warn(DEPRECATED_ENABLED, path, entry.key_lines.get("enabled", entry.line), item)
            if existing is None:
                self._error(
                    "'enabled' given but no rule by that name exists yet", path, entry.line, item
                )
                return
            enabled = self._bool(entry, "enabled", path, item)
            if enabled is not None:
                existing.enabled = enabled
        else:
            self._new_rule(entry, path, item, name, existing)

    def _bool(self, entry: YAMLMapping, key: str, path: str, item: str) -> bool | None:
        value = entry.get(key)
        if isinstance(value, bool):
            return value
        self._error(
            f"'{key}' must be true or false, got '{value}'",
            path,
            entry.key_lines.get(key, entry.line),
            item,
        )
        return None

    def _new_rule(
        self, entry: YAMLMapping, path: str, item: str, name: str, existing: RuleDef | None
    ) -> None:
        missing = [
            k
            for k in _DEFINING
            if entry.get(k) is None or (k != "output" and str(entry.get(k)).strip() == "")
        ]
        if missing:
            self._error(
                f"rule has no '{missing[0]}'"
                + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""),
                path,
                entry.line,
                item,
            )
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
        if existing is not None and existing.source != rule.source:
            self._error(
                f"rule redefined with another source ({rule.source}; it was {existing.source})",
                path,
                entry.key_lines.get("source", entry.line),
                item,
            )
            return
        exceptions = self._exceptions(entry, path, item, None)
        if exceptions is None:
            return
        rule.exceptions = exceptions
        # A redefinition replaces the rule but keeps its place in the order (dict semantics).
        self.defs.rules[name] = rule

    def _rule_options(self, entry: YAMLMapping, path: str, item: str, rule: RuleDef) -> bool:
        if "source" in entry:
            source = str(entry["source"])
            if source not in _SOURCES:
                self._error(
                    f"unknown source '{source}' (one of {', '.join(sorted(_SOURCES))})",
                    path,
                    entry.key_lines.get("source", entry.line),
                    item,
                )
                return False
            rule.source = source
        for key, attr in (
            ("enabled", "enabled"),
            ("warn_evttypes", "warn_evttypes"),
            ("skip-if-unknown-filter", "skip_if_unknown_filter"),
        ):
            if key in entry:
                value = self._bool(entry, key, path, item)
                if value is None:
                    return False
                setattr(rule, attr, value)
        if "tags" in entry:
            tags = self._tags(entry, path, item)
            if tags is None:
                return False
            rule.tags = tags
        if "priority" in entry and entry["priority"] is not None:
            try:
                rule.priority = Priority.parse(entry["priority"])
            except ValueError as exc:
                self._error(str(exc), path, entry.key_lines.get("priority", entry.line), item)
                return False
        return True

    def _tags(self, entry: YAMLMapping, path: str, item: str) -> list[str] | None:
        tags = entry["tags"]
        if tags is None:
            return []
        if not isinstance(tags, list):
            self._error(
                "'tags' must be a YAML list", path, entry.key_lines.get("tags", entry.line), item
            )
            return None
        return list(dict.fromkeys(str(t) for t in tags))  # a set, as Falco's, in given order

    def _exceptions(
        self, entry: YAMLMapping, path: str, item: str, base: RuleDef | None
    ) -> list[ExceptionDef] | None:
        """Parse the ``exceptions`` key; ``base`` is the rule appended to (else None)."""
        raw = entry.get("exceptions")
        if raw is None:
            return []
        line = entry.key_lines.get("exceptions", entry.line)
        if not isinstance(raw, list):
            self._error("'exceptions' must be a YAML list", path, line, item)
            return None
        out: list[ExceptionDef] = []
        seen: set[str] = set()
        for ex in raw:
            exline = ex.line if isinstance(ex, YAMLMapping) else line
            if not isinstance(ex, dict):
                self._error("each exception must be a mapping", path, exline, item)
                return None
            if isinstance(ex, YAMLMapping):
                self._warn_unknown(ex, EXCEPTION_KEYS, path, item)
            exname = ex.get("name")
            if exname is None or not str(exname).strip():
                self._error("exception has no 'name'", path, exline, item)
                return None
            exname = str(exname)
            if exname in seen:  # as Falco: a warning, and both exceptions apply
                self._warn(
                    f"exception '{exname}' is given twice in one item (names should be unique)",
                    path,
                    exline,
                    item,
                )
            seen.add(exname)
            parsed = self._exception(ex, exname, path, exline, item, base)
            if parsed is None:
                return None
            out.append(parsed)
        return out

    def _exception(
        self,
        ex: dict[str, Any],
        exname: str,
        path: str,
        exline: int,
        item: str,
        base: RuleDef | None,
    ) -> ExceptionDef | None:
        if "values" not in ex and base is not None:
            self._warn(f"exception '{exname}': appended with no values", path, exline, item)
        values = ex.get("values") or []
        if not isinstance(values, list):
            self._error(f"exception '{exname}': 'values' must be a YAML list", path, exline, item)
            return None
        known = None
        if base is not None:
            known = next((e for e in base.exceptions if e.name == exname), None)
        fields = ex.get("fields")
        comps = ex.get("comps")
        if fields is None and known is None:
            if base is not None:
                self._error(
                    f"exception '{exname}': the rule has no exception by that name, "
                    "and a new exception must have 'fields' (a list of fields)",
                    path,
                    exline,
                    item,
                )
            else:
                self._error(f"exception '{exname}' has no 'fields'", path, exline, item)
            return None
        if base is not None and known is None and not values:
            self._error(
                f"exception '{exname}': a new exception appended to a rule must have 'values'",
                path,
                exline,
                item,
            )
            return None
        if known is not None and (fields is not None or comps is not None):
            self._error(
                f"exception '{exname}': an append may only add values, not fields or comps",
                path,
                exline,
                item,
            )
            return None
        if fields is not None:
            if not isinstance(fields, str | list) or (
                isinstance(fields, list) and not all(isinstance(f, str) for f in fields)
            ):
                self._error(
                    f"exception '{exname}': 'fields' must be a field name or a list of field names",
                    path,
                    exline,
                    item,
                )
                return None
            if comps is not None and not isinstance(comps, str | list):
                self._error(
                    f"exception '{exname}': 'comps' must be an operator or a list",
                    path,
                    exline,
                    item,
                )
                return None
            if (
                isinstance(fields, list)
                and comps is not None
                and (not isinstance(comps, list) or len(comps) != len(fields))
            ):
                self._error(
                    f"exception '{exname}': 'fields' and 'comps' must have the same length",
                    path,
                    exline,
                    item,
                )
                return None
        shape = fields if fields is not None else (known.fields if known else None)
        if isinstance(shape, list):
            for row in values:
                if not isinstance(row, list) or len(row) != len(shape):
                    self._error(
                        f"exception '{exname}': each value must be a list as long "
                        f"as 'fields' ({len(shape)})",
                        path,
                        exline,
                        item,
                    )
                    return None
        return ExceptionDef(
            exname,
            fields if fields is not None else known.fields,  # type: ignore[union-attr]
            comps if fields is not None else (known.comps if known else None),
            list(values),
            Location(path, exline),
        )

    def _append_rule(
        self, entry: YAMLMapping, path: str, item: str, existing: RuleDef | None
    ) -> None:
        if "condition" not in entry and "exceptions" not in entry:
            self._error("append needs a 'condition' or 'exceptions' to add", path, entry.line, item)
            return
        if existing is None:
            self._error("append given but no rule by that name exists yet", path, entry.line, item)
            return
        if "enabled" in entry:
            self._warn(
                "'enabled' is ignored beside 'append: true' (use 'override: {enabled: replace}')",
                path,
                entry.key_lines.get("enabled", entry.line),
                item,
            )
        added = self._exceptions(entry, path, item, existing)
        if added is None:
            return
        if entry.get("condition") is not None:
            existing.condition = f"{existing.condition} {entry['condition']}"
            existing.loc = Location(path, entry.line)  # problems now show at the append
        self._merge_exceptions(existing, added)

    @staticmethod
    def _merge_exceptions(rule: RuleDef, added: list[ExceptionDef]) -> None:
        for ex in added:
            known = next((e for e in rule.exceptions if e.name == ex.name), None)
            if known is not None:
                known.values.extend(ex.values)
            else:
                rule.exceptions.append(ex)

    def _override_rule(
        self,
        entry: YAMLMapping,
        path: str,
        item: str,
        existing: RuleDef | None,
        override: dict[str, str],
    ) -> None:
        if existing is None:
            how = "append" if "append" in override.values() else "replace"
            self._error(
                f"override ({how}) given but no rule by that name exists yet",
                path,
                entry.line,
                item,
            )
            return
        appends = [k for k, m in override.items() if m == "append"]
        replaces = [k for k, m in override.items() if m == "replace"]
        # Check every value first, so that a bad override leaves the rule as it was.
        scratch = RuleDef(
            existing.name,
            existing.condition,
            existing.output,
            existing.desc,
            existing.priority,
            existing.loc,
            existing.source,
            existing.enabled,
            list(existing.tags),
            [],
            existing.warn_evttypes,
            existing.skip_if_unknown_filter,
        )
        opts = {
            k: entry[k] for k in replaces if k not in ("condition", "output", "desc", "exceptions")
        }
        if opts and not self._rule_options(_only(entry, opts), path, item, scratch):
            return
        new_tags = self._tags(entry, path, item) if "tags" in entry else []
        if new_tags is None:
            return
        exceptions = None
        if "exceptions" in override:
            base = existing if override["exceptions"] == "append" else None
            exceptions = self._exceptions(entry, path, item, base)
            if exceptions is None:
                return
        for key in appends:
            if key in ("condition", "output", "desc"):
                text = (
                    str(entry[key] or "").strip() if key != "condition" else str(entry[key] or "")
                )
                if text.strip():
                    setattr(existing, key, f"{getattr(existing, key)} {text}")
            elif key == "tags":
                existing.tags = list(dict.fromkeys([*existing.tags, *new_tags]))
            elif key == "exceptions" and exceptions is not None:
                self._merge_exceptions(existing, exceptions)
        for key in replaces:
            if key in ("condition", "output", "desc"):
                text = str(entry[key] or "")
                setattr(existing, key, text if key == "condition" else text.strip())
            elif key == "exceptions" and exceptions is not None:
                existing.exceptions = exceptions
            elif key == "tags":
                existing.tags = new_tags
        existing.priority, existing.enabled = scratch.priority, scratch.enabled
        existing.warn_evttypes = scratch.warn_evttypes
        existing.skip_if_unknown_filter = scratch.skip_if_unknown_filter
        if "condition" in override:
            existing.loc = Location(path, entry.line)  # problems now show at the override


def _only(entry: YAMLMapping, values: dict[str, Any]) -> YAMLMapping:
    sub = YAMLMapping(values)
    sub.line = entry.line
    sub.key_lines = {k: entry.key_lines.get(k, entry.line) for k in values}
    return sub
