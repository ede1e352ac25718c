"""Users and groups by id, for ``user.*`` and ``group.*`` fields.

A capture file carries its own user and group lists (what the capturing host knew); live
capture reads ``/etc/passwd`` and ``/etc/group``. Unknown ids resolve to nothing (``<NA>``),
as in sysdig.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class UserInfo:
    uid: int
    gid: int
    name: str
    homedir: str
    shell: str


@dataclass(frozen=True, slots=True)
class GroupInfo:
    gid: int
    name: str


class UserTable:
    """Users and groups known to the inspector."""

    __slots__ = ("groups", "users")

    def __init__(self, users: Iterable[UserInfo] = (), groups: Iterable[GroupInfo] = ()) -> None:
        self.users: dict[int, UserInfo] = {u.uid: u for u in users}
        self.groups: dict[int, GroupInfo] = {g.gid: g for g in groups}

    def user(self, uid: int | None) -> UserInfo | None:
        return None if uid is None else self.users.get(uid)

    def group(self, gid: int | None) -> GroupInfo | None:
        return None if gid is None else self.groups.get(gid)

    @classmethod
    def from_capture(cls, users: Iterable[Any], groups: Iterable[Any]) -> UserTable:
        """From a capture's user/group list entries (objects with uid, gid, name, ...)."""
        return cls(
            (
                UserInfo(
                    int(u.uid),
                    int(getattr(u, "gid", 0)),
                    str(u.name),
                    str(getattr(u, "homedir", "")),
                    str(getattr(u, "shell", "")),
                )
                for u in users
            ),
            (GroupInfo(int(g.gid), str(g.name)) for g in groups),
        )

    @classmethod
    def from_host(cls, root: Path = Path("/")) -> UserTable:
        """From ``etc/passwd`` and ``etc/group`` under ``root``; missing files give no entries."""
        return cls(_read_passwd(root / "etc/passwd"), _read_group(root / "etc/group"))


def _lines(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def _read_passwd(path: Path) -> list[UserInfo]:
    users = []
    for f in _lines(path):
        if len(f) >= 7 and f[2].isdigit() and f[3].isdigit():
            users.append(UserInfo(int(f[2]), int(f[3]), f[0], f[5], f[6]))
    return users


def _read_group(path: Path) -> list[GroupInfo]:
    return [GroupInfo(int(f[2]), f[0]) for f in _lines(path) if len(f) >= 3 and f[2].isdigit()]
