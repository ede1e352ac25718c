"""A per-event memo of field values, shared by every rule of a ruleset.

The rules compiler resolves every field reference through one :class:`FieldMemo`, so the
rules indexed under one event type read each field once per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sentry.fields.registry import BoundField, resolve


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
