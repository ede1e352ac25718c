"""``user.*`` fields: the user the event's thread runs as (and its login user)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sentry.events.event import Event
from sentry.fields import state
from sentry.fields.registry import FieldType, register_simple
from sentry.inspect.threads import NO_ID
from sentry.inspect.users import UserInfo


def _by_uid(attr: str, get: Callable[[UserInfo], Any]) -> Callable[[Any], Any]:
    def extract(ev: Event) -> Any:
        th = ev.thread
        user = state.user(th, getattr(th, attr)) if th is not None else None
        return None if user is None else get(user)

    return extract


def _uid(ev: Event) -> int | None:
    th = ev.thread
    return None if th is None else th.uid


def _loginuid(ev: Event) -> int | None:
    th = ev.thread
    if th is None:
        return None
    # sysdig shows the "unset" login uid as -1.
    return -1 if th.loginuid == NO_ID else th.loginuid


register_simple("user.uid", FieldType.INT, "user id", _uid)
register_simple("user.name", FieldType.STRING, "user name", _by_uid("uid", lambda u: u.name))
register_simple(
    "user.homedir", FieldType.STRING, "home directory", _by_uid("uid", lambda u: u.homedir)
)
register_simple("user.shell", FieldType.STRING, "login shell", _by_uid("uid", lambda u: u.shell))
register_simple("user.loginuid", FieldType.INT, "audit login uid (-1 if unset)", _loginuid)
register_simple(
    "user.loginname",
    FieldType.STRING,
    "name of the login user",
    _by_uid("loginuid", lambda u: u.name),
)
