"""What fields read of the state beyond an event's own thread: users and groups, containers,
the capture's first timestamp, the host's addresses.

Every field family asks here, so the way to the state is written once: today through the
thread's table to the Python inspector that owns it (``thread.table.inspector``). The
StateView of the target design (docs/ARCHITECTURE.md, "Seams") would change this module's
body, not its callers. Each answer is None (or False) for an event without a thread, or a
thread in no inspector's table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentry.inspect.containers import ContainerInfo
    from sentry.inspect.fds import IpAddress
    from sentry.inspect.inspector import Inspector
    from sentry.inspect.threads import ThreadInfo
    from sentry.inspect.users import GroupInfo, UserInfo


def _inspector(th: ThreadInfo | None) -> Inspector | None:
    if th is None or th.table is None:
        return None
    inspector: Inspector | None = th.table.inspector
    return inspector


def user(th: ThreadInfo | None, uid: int | None) -> UserInfo | None:
    """The user ``uid`` names on this thread's host (or container image's passwd)."""
    inspector = _inspector(th)
    return None if inspector is None else inspector.users.user(uid)


def group(th: ThreadInfo | None, gid: int | None) -> GroupInfo | None:
    """The group ``gid`` names."""
    inspector = _inspector(th)
    return None if inspector is None else inspector.users.group(gid)


def container(th: ThreadInfo | None) -> ContainerInfo | None:
    """The thread's container (None on the host or while its metadata is unknown)."""
    inspector = _inspector(th)
    return None if inspector is None or th is None else inspector.containers.get(th.container_id)


def capture_start(th: ThreadInfo | None) -> int | None:
    """The first event's timestamp (ns), what ``evt.reltime`` counts from."""
    inspector = _inspector(th)
    return None if inspector is None else inspector.first_ts


def is_local(th: ThreadInfo | None, ip: IpAddress | None) -> bool:
    """Whether ``ip`` is one of this host's addresses."""
    inspector = _inspector(th)
    return inspector is not None and inspector.is_local(ip)
