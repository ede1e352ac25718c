"""Warnings today's Falco gives about a rule's compiled condition (libs' filter compiler),
and about lists and macros nothing uses.

A constant that names a field (``proc.name = proc.pname``, also quoted or with stray spaces)
is compared as text, not as the field: the author most likely meant ``val(proc.pname)``.
Likewise a constant shaped as a transformer call (``"toupper( proc.pname)"``), and an audit
or JSON field compared with ``<NA>``, which a missing value also reads. Both load,
with a warning, as in Falco; exceptions' values are constants too, so they are checked once
they become part of the condition.
"""

from __future__ import annotations

import functools
import re
from collections import Counter

from sentry.errors import FieldArgumentError, UnknownFieldError
from sentry.fields.registry import resolve
from sentry.rules.ast import TRANSFORMERS, Compare, Expr, Value, ValueList, base_field, walk
from sentry.rules.definitions import Problem, RuleDefinitions, Severity

# Falco's LOAD_UNSAFE_NA_CHECK: the audit and JSON fields whose missing values read <NA>.
_NA_UNSAFE = ("ka.", "jevt.")
_FIELD_SHAPE = re.compile(r"^([a-zA-Z_]\w*(?:\.\w+)+)(?:\[([^\]]+)\])?$")


@functools.lru_cache(maxsize=4096)
def _names_field(text: str) -> bool:
    m = _FIELD_SHAPE.match(text)
    if m is None:
        return False
    try:
        resolve(m.group(1), m.group(2))
    except (UnknownFieldError, FieldArgumentError):
        return False
    return True


def _value_warning(value: Value) -> str | None:
    stripped = "".join(value.text.split())
    if _names_field(stripped):
        return f"'{value.text}' may be a valid field misused as a const string value"
    for func in TRANSFORMERS:
        if stripped.startswith(f"{func}(") and stripped.endswith(")"):
            return (
                f"'{value.text}' may be a valid field transformer misused as a const string value"
            )
    return None


def value_warnings(expr: Expr) -> list[str]:
    """The warnings for the constants of ``expr`` (macros and lists expanded), each once."""
    out: list[str] = []
    for node in walk(expr):
        if not isinstance(node, Compare):
            continue
        values = (
            node.rhs.items
            if isinstance(node.rhs, ValueList)
            else (node.rhs,)
            if isinstance(node.rhs, Value)
            else ()
        )
        for value in values:
            msg = _value_warning(value)
            if msg is not None and msg not in out:
                out.append(msg)
        field = base_field(node.lhs).name
        if field.startswith(_NA_UNSAFE) and any(v.text == "<NA>" for v in values):
            msg = (
                f"comparing {field} with <NA> is unsafe (a missing value and the text <NA> "
                f"look alike): test '{field} exists' instead"
            )
            if msg not in out:
                out.append(msg)
    return out


_TOKEN = re.compile(r"[^\s(),=!<>\"']+")


def unused_items(defs: RuleDefinitions) -> list[Problem]:
    """A warning for each list and macro no rule, macro or (for lists) other list names, as
    Falco's LOAD_UNUSED_LIST / LOAD_UNUSED_MACRO: usually a typo in the name or a leftover.

    Names are looked for as words of the texts (conditions, exception values, list items),
    so a name in an unusual place counts as a use rather than risk a false warning.
    """
    rule_words: set[str] = set()
    for rule in defs.rules.values():
        rule_words.update(_TOKEN.findall(rule.condition))
        for ex in rule.exceptions:
            rule_words.update(_TOKEN.findall(str(ex.values)))
    macro_words = {n: set(_TOKEN.findall(m.condition)) for n, m in defs.macros.items()}
    list_words = {
        n: {w for i in lst.items for w in _TOKEN.findall(str(i))} for n, lst in defs.lists.items()
    }
    in_macros = Counter(w for words in macro_words.values() for w in words)
    in_lists = Counter(w for words in list_words.values() for w in words)
    out = []
    for name, macro in defs.macros.items():
        if name in rule_words or in_macros[name] > (name in macro_words[name]):
            continue
        out.append(
            Problem(
                Severity.WARNING,
                "macro not used by any rule or macro",
                macro.loc.path,
                macro.loc.line,
                f"macro '{name}'",
            )
        )
    for name, lst in defs.lists.items():
        if name in rule_words or in_macros[name] or in_lists[name] > (name in list_words[name]):
            continue
        out.append(
            Problem(
                Severity.WARNING,
                "list not used by any rule, macro or list",
                lst.loc.path,
                lst.loc.line,
                f"list '{name}'",
            )
        )
    return out
