"""The keys each rules item may have, their types, and which keys ``override:`` may touch.

Mirrors Falco's rules schema (``falco --rule-schema``): a key outside it is warned about and
ignored, a known key of the wrong type is an error naming the key and its line.
"""

from __future__ import annotations

from typing import Any

from sentry.rules.yamlload import YAMLMapping

_TEXT, _BOOL, _MAP, _SCALARS, _LIST, _INT = (
    "a string",
    "true or false",
    "a mapping",
    "a list of strings",
    "a list",
    "a number",
)

SCHEMA: dict[str, dict[str, str]] = {
    "list": {"list": _TEXT, "items": _SCALARS, "append": _BOOL, "override": _MAP},
    "macro": {"macro": _TEXT, "condition": _TEXT, "append": _BOOL, "override": _MAP},
    "rule": {
        "rule": _TEXT, "condition": _TEXT, "output": _TEXT, "desc": _TEXT, "priority": _TEXT,
        "source": _TEXT, "enabled": _BOOL, "tags": _SCALARS, "exceptions": _LIST,
        "warn_evttypes": _BOOL, "skip-if-unknown-filter": _BOOL, "append": _BOOL,
        "override": _MAP, "capture": _BOOL, "capture_duration": _INT,
    },
}  # fmt: skip
EXCEPTION_SCHEMA = {"name": _TEXT, "fields": _TEXT, "comps": _TEXT, "values": _LIST}

ITEM_KEYS: dict[str, frozenset[str]] = {
    **{kind: frozenset(keys) for kind, keys in SCHEMA.items()},
    "required_engine_version": frozenset({"required_engine_version"}),
    "required_plugin_versions": frozenset({"required_plugin_versions"}),
}
EXCEPTION_KEYS = frozenset(EXCEPTION_SCHEMA)
PLUGIN_KEYS = frozenset({"name", "version", "alternatives"})
PLUGIN_ALTERNATIVE_KEYS = frozenset({"name", "version"})

# What ``override:`` may do to each key (Falco 0.37+).
APPENDABLE = {
    "list": frozenset({"items"}),
    "macro": frozenset({"condition"}),
    "rule": frozenset({"condition", "output", "desc", "tags", "exceptions"}),
}
REPLACEABLE = {
    "list": frozenset({"items"}),
    "macro": frozenset({"condition"}),
    "rule": frozenset(
        {
            "condition",
            "output",
            "desc",
            "priority",
            "tags",
            "exceptions",
            "enabled",
            "warn_evttypes",
            "skip-if-unknown-filter",
        }
    ),
}


def kind_of(value: Any) -> str:
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
            isinstance(v, str | int | float) or v is None for v in value
        )
    return isinstance(value, list)


def unknown_keys(entry: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    return [k for k in entry if k not in allowed]


def type_errors(entry: Any, kind: str) -> list[tuple[str, int]]:
    """(message, line) for every known key of ``entry`` whose value has the wrong type."""
    out: list[tuple[str, int]] = []
    for key, want in SCHEMA[kind].items():
        value = entry.get(key)
        if key in entry and not _type_ok(value, want):
            out.append(
                (
                    f"'{key}' must be {want}, got {kind_of(value)}",
                    entry.key_lines.get(key, entry.line),
                )
            )
    for ex in entry.get("exceptions") or () if kind == "rule" else ():
        if not isinstance(ex, YAMLMapping):
            continue
        for key, want in EXCEPTION_SCHEMA.items():
            value = ex.get(key)
            if key in ("fields", "comps"):
                good = (
                    value is None
                    or isinstance(value, str)
                    or (isinstance(value, list) and all(isinstance(v, str) for v in value))
                )
                want = "a string or a list of strings"
            else:
                good = _type_ok(value, want)
            if not good:
                out.append(
                    (
                        f"exception '{key}' must be {want}, got {kind_of(value)}",
                        ex.key_lines.get(key, ex.line),
                    )
                )
    return out
