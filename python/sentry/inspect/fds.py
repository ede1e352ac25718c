"""File descriptor state: one :class:`FdTable` per process, one :class:`FdInfo` per open fd.

Follows sysdig's model: an fd has a type (file, directory, ipv4/ipv6/unix socket, pipe, ...)
shown as a one-letter type char, a name (the path, or the connection tuple for sockets), the
open flags for files, and for inet sockets the client/server addresses and ports. Tables are
shared between threads of a process (``CLONE_FILES``) and copied on fork.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass


class FdType(enum.Enum):
    """Kinds of fd, with sysdig's type name and type char."""

    FILE = ("file", "f")
    DIRECTORY = ("directory", "d")
    IPV4 = ("ipv4", "4")
    IPV6 = ("ipv6", "6")
    UNIX = ("unix", "u")
    PIPE = ("pipe", "p")
    EVENT = ("event", "e")
    SIGNALFD = ("signalfd", "s")
    EVENTPOLL = ("eventpoll", "l")
    INOTIFY = ("inotify", "i")
    TIMERFD = ("timerfd", "t")
    NETLINK = ("netlink", "n")
    BPF = ("bpf", "b")
    USERFAULTFD = ("userfaultfd", "u")
    IO_URING = ("io_uring", "r")
    MEMFD = ("memfd", "m")
    UNKNOWN = ("unknown", "o")

    def __init__(self, label: str, char: str) -> None:
        # Plain attributes: fields read them per event (an Enum's .value is a property).
        self.label = label
        self.char = char


SOCKET_TYPES = frozenset({FdType.IPV4, FdType.IPV6, FdType.UNIX, FdType.NETLINK})
INET_TYPES = frozenset({FdType.IPV4, FdType.IPV6})

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Role(enum.Enum):
    """Which end of a connection this process holds."""

    NONE = 0
    CLIENT = 1
    SERVER = 2


@dataclass(slots=True)
class FdInfo:
    """One open file descriptor.

    For inet sockets ``cip``/``cport`` are the client end and ``sip``/``sport`` the server
    end of the connection (sysdig's naming), whatever side this process is on.
    """

    num: int
    type: FdType
    name: str = ""
    flags: int = 0  # open flags (scap PPM_O_*) for files
    ino: int = 0
    dev: int = 0
    cip: IpAddress | None = None
    sip: IpAddress | None = None
    cport: int | None = None
    sport: int | None = None
    l4proto: str | None = None  # "tcp", "udp", "icmp", "raw"
    socktype: int = 0  # SOCK_STREAM, SOCK_DGRAM... as given to socket()
    role: Role = Role.NONE
    renamed_at: int = -1  # number of the event that last changed the name
    listening: bool = False  # a bound server socket (sysdig's ipv4/ipv6 "servsock")
    connected: bool = False  # connect() succeeded, or accepted
    name_raw: str = ""  # a file's path as the open named it (not made absolute)

    def copy(self, num: int | None = None) -> FdInfo:
        """A duplicate (dup, fork), optionally under another number."""
        twin = FdInfo(
            self.num if num is None else num,
            self.type,
            self.name,
            self.flags,
            self.ino,
            self.dev,
            self.cip,
            self.sip,
            self.cport,
            self.sport,
            self.l4proto,
            self.socktype,
            self.role,
            -1,
            self.listening,
            self.connected,
            self.name_raw,
        )
        return twin

    def set_name(self, name: str, event_num: int) -> None:
        """Rename (connect, accept, bind), remembering on which event the name changed."""
        if name != self.name:
            self.renamed_at = event_num
        self.name = name

    @property
    def is_socket(self) -> bool:
        return self.type in SOCKET_TYPES


class FdTable:
    """The fds of one process, by number."""

    __slots__ = ("fds",)

    def __init__(self, fds: dict[int, FdInfo] | None = None) -> None:
        self.fds: dict[int, FdInfo] = fds if fds is not None else {}

    def get(self, num: int) -> FdInfo | None:
        return self.fds.get(num)

    def add(self, info: FdInfo) -> FdInfo:
        self.fds[info.num] = info
        return info

    def remove(self, num: int) -> None:
        self.fds.pop(num, None)

    def copy(self) -> FdTable:
        """The table a forked child starts with (fds are copied, not shared)."""
        return FdTable({num: info.copy() for num, info in self.fds.items()})

    def __len__(self) -> int:
        return len(self.fds)

    def __contains__(self, num: object) -> bool:
        return num in self.fds
