"""What the inspector's event handlers share: the state they update, the enter an exit
follows, paths as sysdig resolves them.

The handlers live in one module per kind of state (``process_events``, ``fd_events``,
``identity_events``, ``container_events``), each a mixin of :class:`HandlerBase`;
:class:`sentry.inspect.inspector.Inspector` inherits them all and binds each handler once,
into its table by event type, so an event costs no more calls than one class would.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from sentry.inspect.containers import ContainerTable
from sentry.inspect.threads import ThreadInfo, ThreadTable

AT_FDCWD = -100

Handler = Callable[[Any, Any], None]  # (event, its ThreadInfo, None for internal events)


def split_nul(value: Any) -> list[str]:
    """execve/clone BYTEBUF lists (``a\\0b\\0``) or already-split lists, as strings."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="surrogateescape")
    else:
        text = str(value)
    parts = text.split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def join_path(base: str, name: str) -> str:
    """``name`` resolved against directory ``base`` and normalised, as sysdig prints paths."""
    if not name:
        return base
    if name[0] == "/" and "//" not in name and "/." not in name and name[-1] != "/":
        return name  # absolute and normal already: nothing normpath() would change
    path = name if name.startswith("/") or not base else base.rstrip("/") + "/" + name
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/") if norm.startswith("//") else norm


class HandlerBase:
    """The inspector's state as its handlers see it (set by ``Inspector.__init__``)."""

    threads: ThreadTable
    containers: ContainerTable
    _created: ThreadInfo | None  # placeholder thread made for the current event
    _callers: dict[int, ThreadInfo]  # clone callers by child tid (see Inspector.__init__)
    _creat: set[int]  # creat's event types

    def _entered(self, ev: Any, th: ThreadInfo) -> dict[str, Any]:
        """What this exit's enter event said (empty when the enter was not seen)."""
        if th.last_type == ev.type - 1 and th.enter is not None:
            return th.enter
        return {}

    def _dir_of(self, th: ThreadInfo, dirfd: int | None) -> str:
        if dirfd is None or dirfd == AT_FDCWD:
            return th.main_thread().cwd
        base = th.fds.get(dirfd)
        return base.name if base is not None else ""
