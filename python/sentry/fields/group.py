"""``group.*`` fields: the group the event's thread runs as."""

from __future__ import annotations

from typing import Any

from sentry.fields import state
from sentry.fields.registry import FieldType, register_simple


def _gid(ev: Any) -> int | None:
    th = ev.thread
    return None if th is None else th.gid


def _name(ev: Any) -> str | None:
    th = ev.thread
    group = state.group(th, th.gid) if th is not None else None
    return None if group is None else group.name


register_simple("group.gid", FieldType.INT, "group id", _gid)
register_simple("group.name", FieldType.STRING, "group name", _name)
