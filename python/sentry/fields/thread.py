"""``thread.*`` fields: the thread that made the event."""

from __future__ import annotations

from typing import Any

from sentry.fields.registry import FieldType, register_simple


def _tid(ev: Any) -> int | None:
    return ev.tid


def _vtid(ev: Any) -> int | None:
    th = ev.thread
    return None if th is None or th.vtid == -1 else th.vtid


def _ismain(ev: Any) -> bool | None:
    th = ev.thread
    return None if th is None else th.tid == th.pid


register_simple("thread.tid", FieldType.INT, "id of the thread", _tid)
register_simple("thread.vtid", FieldType.INT, "id of the thread in its pid namespace", _vtid)
register_simple("thread.ismain", FieldType.BOOL, "whether the thread is the process's main one",
                _ismain)
