"""Fd and network events: open/creat, socket/socketpair, connect/accept/bind and the
datagram calls that name a peer, dup, pipe, close, and the calls that make special fds
(eventfd, signalfd, timerfd, inotify, epoll, userfaultfd, io_uring, memfd)."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from sentry.events.wire import SCAP_VALUES as _SCAP
from sentry.inspect.fds import INET_TYPES, FdInfo, FdType, IpAddress, Role
from sentry.inspect.handler_base import AT_FDCWD, Handler, HandlerBase, join_path
from sentry.inspect.threads import NA_NAME, ThreadInfo

# scap's open flags (PPM_O_*): the values the drivers write (events/wire.py).
O_WRONLY = _SCAP["SCAP_O_WRONLY"]
O_CREAT = _SCAP["SCAP_O_CREAT"]
O_TRUNC = _SCAP["SCAP_O_TRUNC"]
O_DIRECTORY = _SCAP["SCAP_O_DIRECTORY"]
EINPROGRESS = 115

_FAMILY_TYPES = {1: FdType.UNIX, 2: FdType.IPV4, 10: FdType.IPV6, 16: FdType.NETLINK}
_SOCK_L4 = {1: "tcp", 2: "udp", 3: "raw"}  # SOCK_STREAM, SOCK_DGRAM, SOCK_RAW


class FdEvents(HandlerBase):
    """Handlers of the events that open, name, copy and close fds."""

    def _fd_exits(self) -> dict[str, Handler]:
        """This module's exit handlers, by syscall name (the datagram calls, chosen by their
        parameters, are Inspector._build_dispatch's)."""
        simple = self._simple_fd
        return {
            "open": self._on_open_exit,
            "openat": self._on_open_exit,
            "openat2": self._on_open_exit,
            "creat": self._on_open_exit,
            "open_by_handle_at": self._on_open_exit,
            "socket": self._on_socket_exit,
            "socketpair": self._on_socketpair_exit,
            "connect": self._on_connect_exit,
            "accept": self._on_accept_exit,
            "accept4": self._on_accept_exit,
            "bind": self._on_bind_exit,
            "dup": self._on_dup_exit,
            "dup2": self._on_dup_exit,
            "dup3": self._on_dup_exit,
            "pipe": self._on_pipe_exit,
            "pipe2": self._on_pipe_exit,
            "close": self._on_close_exit,
            "eventfd": simple(FdType.EVENT),
            "eventfd2": simple(FdType.EVENT),
            "signalfd": simple(FdType.SIGNALFD),
            "signalfd4": simple(FdType.SIGNALFD),
            "timerfd_create": simple(FdType.TIMERFD),
            "inotify_init": simple(FdType.INOTIFY),
            "inotify_init1": simple(FdType.INOTIFY),
            "epoll_create": simple(FdType.EVENTPOLL),
            "epoll_create1": simple(FdType.EVENTPOLL),
            "userfaultfd": simple(FdType.USERFAULTFD),
            "io_uring_setup": simple(FdType.IO_URING),
            "memfd_create": self._on_memfd_create_exit,
        }

    def _on_open_exit(self, ev: Any, th: ThreadInfo) -> None:
        param = ev.param_by_name
        fd = param("fd")
        if fd is None or fd < 0:
            return
        name = param("name")
        if name is None:
            name = param("path")
        flags = ev.flags()  # decoded once: the evt.is_open_* fields read it again
        # Old open exits carry only the fd: the rest is what their enter said.
        enter = self._entered(ev, th) if name is None or flags is None else None
        if enter is not None:
            if name is None:
                name = enter.get("name")
            if flags is None:
                flags = enter.get("flags")
        if ev.type in self._creat:
            flags = O_CREAT | O_WRONLY | O_TRUNC
        name = name if isinstance(name, str) else ""
        if not name:
            # The driver could not read the path: unknown, not the cwd that joining "" to
            # it would give (sysdig 0.29 shows the cwd, and a write "below /" follows).
            path = NA_NAME
        elif name[:1] == "/":
            # join_path's own shortcut, inlined: most opens name a normal absolute path
            normal = "//" not in name and "/." not in name and name[-1] != "/"
            path = name if normal else join_path("", name)
        else:
            dirfd = param("dirfd")
            if dirfd is None:
                dirfd = (enter or self._entered(ev, th)).get("dirfd", AT_FDCWD)
            path = join_path(self._dir_of(th, dirfd), name)
        flags = flags or 0
        kind = FdType.DIRECTORY if flags & O_DIRECTORY else FdType.FILE
        info = FdInfo(
            fd, kind, path, flags, dev=param("dev") or 0, renamed_at=ev.num, name_raw=name
        )
        th.fds.fds[fd] = ev.fdinfo = info
        th.last_fd = fd

    def _on_socket_exit(self, ev: Any, th: ThreadInfo) -> None:
        fd = ev.param_by_name("fd")
        if fd is None or fd < 0:
            return
        enter = self._entered(ev, th)
        domain = enter.get("domain")
        kind = _FAMILY_TYPES.get(domain, FdType.UNKNOWN) if domain is not None else FdType.UNKNOWN
        socktype = (enter.get("type") or 0) & 0xF
        ev.fdinfo = th.fds.add(FdInfo(fd, kind, "", socktype=socktype))
        th.last_fd = fd

    def _on_socketpair_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        enter = self._entered(ev, th)
        socktype = (enter.get("type") or 0) & 0xF
        for name in ("fd1", "fd2"):
            fd = ev.param_by_name(name)
            if fd is not None and fd >= 0:
                ev.fdinfo = th.fds.add(FdInfo(fd, FdType.UNIX, "", socktype=socktype))

    def _on_connect_enter(self, ev: Any, th: ThreadInfo) -> None:
        if ev.fdinfo is not None and ev.fdinfo.role is Role.NONE:
            ev.fdinfo.role = Role.CLIENT  # sysdig takes the client's side at connect()

    def _on_connect_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or (res < 0 and res != -EINPROGRESS):
            return
        fd = ev.param_by_name("fd")
        info = th.fds.get(fd) if fd is not None else ev.fdinfo
        if info is None:
            return
        ev.fdinfo = info
        self._apply_tuple(info, ev.param_by_name("tuple"), Role.CLIENT, ev.num)
        info.connected = True  # sysdig counts an EINPROGRESS connect as connected too

    def _on_accept_exit(self, ev: Any, th: ThreadInfo) -> None:
        fd = ev.param_by_name("fd")
        if fd is None or fd < 0:
            return
        tup = ev.param_by_name("tuple")
        family = getattr(tup, "family", None)
        kind = _FAMILY_TYPES.get(family, FdType.UNKNOWN) if family is not None else FdType.UNKNOWN
        info = FdInfo(fd, kind, "", socktype=1, connected=True)
        self._apply_tuple(info, tup, Role.SERVER, ev.num)
        ev.fdinfo = th.fds.add(info)
        th.last_fd = fd

    def _apply_tuple(self, info: FdInfo, tup: Any, role: Role, num: int) -> None:
        """Fill an fd from a socktuple: inet addresses and ports, or a unix path."""
        if tup is None:
            return
        info.role = role
        family = getattr(tup, "family", None)
        if family in (2, 10):
            src, dst = _ip(getattr(tup, "sip", None)), _ip(getattr(tup, "dip", None))
            sport, dport = getattr(tup, "sport", None), getattr(tup, "dport", None)
            if info.type not in (FdType.IPV4, FdType.IPV6):
                info.type = FdType.IPV4 if family == 2 else FdType.IPV6
            # scap's tuple is client -> server for both connect and accept.
            info.cip, info.cport, info.sip, info.sport = src, sport, dst, dport
            if info.l4proto is None:
                info.l4proto = _SOCK_L4.get(info.socktype, "tcp" if role is Role.SERVER else None)
            info.set_name(f"{_ipstr(src)}:{sport}->{_ipstr(dst)}:{dport}", num)
        elif family == 1:
            info.type = FdType.UNIX
            path = getattr(tup, "path", None) or getattr(tup, "dest_path", None) or ""
            info.set_name(str(path), num)

    def _on_send_enter(self, ev: Any, th: ThreadInfo) -> None:
        # sendto/sendmsg name their peer; sysdig adopts it when the call returns.
        info = ev.fdinfo
        if info is not None and info.type in INET_TYPES and info.sip is None:
            th.enter = {"tuple": ev.param_by_name("tuple")}
        else:
            th.enter = None

    def _on_datagram_exit(self, ev: Any, th: ThreadInfo) -> None:
        """sendto/sendmsg/recvfrom/recvmsg on an unnamed inet socket give it its peer."""
        info = ev.fdinfo
        if info is None or info.type not in INET_TYPES or info.sip is not None:
            return
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        if ev.info.name in ("sendto", "sendmsg"):
            tup, role = self._entered(ev, th).get("tuple"), Role.CLIENT
        else:
            tup, role = ev.param_by_name("tuple"), Role.SERVER
        if tup is None or getattr(tup, "family", None) not in (2, 10):
            return
        if info.l4proto is None:
            info.l4proto = _SOCK_L4.get(info.socktype, "udp")
        self._apply_tuple(info, tup, role, ev.num)
        info.connected = True

    def _on_bind_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        info = ev.fdinfo
        if res is None or res < 0 or info is None:
            return
        addr = ev.param_by_name("addr")
        family = getattr(addr, "family", None)
        if family in (2, 10):
            ip, port = _ip(getattr(addr, "addr", None)), getattr(addr, "port", None)
            # A bound socket becomes a server socket: one address, no client end.
            info.sip, info.sport, info.role = ip, port, Role.SERVER
            info.cip, info.cport, info.listening = None, 0, True
            info.l4proto = info.l4proto or _SOCK_L4.get(info.socktype)
            info.set_name(f"{_ipstr(ip)}:{port}", ev.num)
        elif family == 1:
            info.set_name(str(getattr(addr, "path", "") or ""), ev.num)

    def _on_dup_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        old = ev.param_by_name("oldfd")
        if old is None and th.last_type == ev.type - 1:
            old = th.last_fd  # dup's enter names the fd it copies
        if old is None or old == res:
            return
        src = th.fds.get(old)
        if src is None:
            th.fds.remove(res)
            return
        ev.fdinfo = th.fds.add(src.copy(res))

    def _on_pipe_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is None or res < 0:
            return
        ino = ev.param_by_name("ino") or 0
        for name in ("fd1", "fd2"):
            fd = ev.param_by_name(name)
            if fd is not None and fd >= 0:
                ev.fdinfo = th.fds.add(FdInfo(fd, FdType.PIPE, "", ino=ino))

    def _on_close_exit(self, ev: Any, th: ThreadInfo) -> None:
        res = ev.param_by_name("res")
        if res is not None and res >= 0 and th.last_type == ev.type - 1:
            # event.fdinfo keeps the closed fd for this event's fields, as in sysdig.
            th.fds.remove(th.last_fd)

    def _simple_fd(self, kind: FdType) -> Handler:
        def handler(ev: Any, th: ThreadInfo) -> None:
            fd = ev.param_by_name("res")
            if fd is None:
                fd = ev.param_by_name("fd")
            if fd is not None and fd >= 0:
                ev.fdinfo = th.fds.add(FdInfo(fd, kind, ""))

        return handler

    def _on_memfd_create_exit(self, ev: Any, th: ThreadInfo) -> None:
        # The fd is named as the kernel names the file ("memfd:" + the name given), which
        # an exec through it (fexecve) then shows as proc.exepath.
        fd = ev.param_by_name("fd")
        if fd is None:
            fd = ev.param_by_name("res")  # a generic event carries neither
        if fd is not None and fd >= 0:
            name = ev.param_by_name("name")
            label = f"memfd:{name}" if isinstance(name, str) else ""
            ev.fdinfo = th.fds.add(FdInfo(fd, FdType.MEMFD, label, ev.param_by_name("flags") or 0))


@functools.lru_cache(maxsize=4096)
def _ip(value: Any) -> IpAddress | None:
    if value is None:
        return None
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _ipstr(ip: IpAddress | None) -> str:
    return "" if ip is None else str(ip)
