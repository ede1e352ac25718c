"""The starting state a capture file describes: its process list, fd lists and interfaces
(read into an Inspector, and written from one: :func:`host_threads`, :func:`host_fds`).

Entries come from :class:`sentry.capture.scapreader.ScapReader` (``threads``, ``fds``,
``interfaces``). Threads of one process share its fd table, as in sysdig. fd-list types are
scap's (``scap_fd_type``); socket entries become inet fds with client/server ends set.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from sentry.inspect.containers import container_id_from_cgroups
from sentry.inspect.fds import FdInfo, FdTable, FdType, IpAddress, Role
from sentry.inspect.threads import ThreadInfo, dir_path

if TYPE_CHECKING:
    from sentry.capture.scapreader import ScapReader
    from sentry.inspect.inspector import Inspector

# scap_fd_type -> our fd kinds.
_SCAP_FD_TYPES = {
    1: FdType.FILE,
    2: FdType.DIRECTORY,
    3: FdType.IPV4,
    4: FdType.IPV6,
    5: FdType.IPV4,
    6: FdType.IPV6,
    7: FdType.PIPE,
    8: FdType.UNIX,
    9: FdType.EVENT,
    10: FdType.UNKNOWN,
    11: FdType.SIGNALFD,
    12: FdType.EVENTPOLL,
    13: FdType.INOTIFY,
    14: FdType.TIMERFD,
    15: FdType.NETLINK,
    16: FdType.FILE,
    17: FdType.BPF,
    18: FdType.USERFAULTFD,
    19: FdType.IO_URING,
    20: FdType.MEMFD,
    21: FdType.UNKNOWN,
}
_SERVER_SOCKS = frozenset({5, 6})
_CLIENT_SOCKS = frozenset({3, 4})
_L4 = {2: "tcp", 3: "udp", 4: "icmp", 5: "raw"}  # scap_l4_proto


def _ip(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


def fd_from_entry(entry: Any) -> FdInfo:
    """One fd-list entry as an :class:`FdInfo`."""
    kind = _SCAP_FD_TYPES.get(entry.type, FdType.UNKNOWN)
    info = FdInfo(entry.fd, kind, entry.name, flags=entry.open_flags, ino=entry.ino, dev=entry.dev)
    if entry.type in _CLIENT_SOCKS:
        info.cip, info.cport = _ip(entry.sip), entry.sport
        info.sip, info.sport = _ip(entry.dip), entry.dport
        info.l4proto = _L4.get(entry.l4proto)
        info.role, info.connected = Role.CLIENT, True
        info.name = f"{entry.sip}:{entry.sport}->{entry.dip}:{entry.dport}"
    elif entry.type in _SERVER_SOCKS:
        info.sip, info.sport = _ip(entry.sip), entry.sport
        info.l4proto = _L4.get(entry.l4proto)
        info.role = Role.SERVER
        info.cport, info.listening = 0, True
        info.name = f"{entry.sip}:{entry.sport}"
    return info


def thread_from_entry(entry: Any, inspector: Inspector) -> ThreadInfo:
    """One process-list entry as a :class:`ThreadInfo`."""
    th = ThreadInfo(entry.tid, inspector.threads)
    th.pid, th.ptid, th.sid, th.vpgid = entry.pid, entry.ptid, entry.sid, entry.vpgid
    th.comm, th.exe, th.exepath = entry.comm, entry.exe, entry.exepath
    th.args, th.env, th.cwd = list(entry.args), list(entry.env), dir_path(entry.cwd)
    th.fdlimit, th.flags = entry.fdlimit, entry.flags
    th.uid, th.gid = entry.uid & 0xFFFFFFFF, entry.gid & 0xFFFFFFFF
    th.loginuid = entry.loginuid & 0xFFFFFFFF
    th.vtid, th.vpid, th.tty = entry.vtid, entry.vpid, entry.tty
    th.exe_writable = bool(getattr(entry, "exe_writable", False))
    th.cgroups = list(entry.cgroups)
    th.container_id = container_id_from_cgroups(th.cgroups)
    return th


def load_capture_state(inspector: Inspector, reader: ScapReader) -> None:
    """Fill ``inspector`` from a reader's metadata blocks."""
    table = inspector.threads
    for entry in (getattr(reader, "threads", None) or {}).values():
        table.add(thread_from_entry(entry, inspector))  # a full table counts the rest
    # Threads share their process's fd table (the main thread's).
    for th in table.threads.values():
        if th.tid != th.pid:
            main = table.threads.get(th.pid)
            if main is not None:
                th.fds = main.fds
    for entry in getattr(reader, "fds", None) or ():
        owner = table.threads.get(entry.tid)
        fds: FdTable = owner.fds if owner is not None else table.get_or_placeholder(entry.tid).fds
        fds.add(fd_from_entry(entry))
    for iface in getattr(reader, "interfaces", None) or ():
        ip = _ip(getattr(iface, "addr", ""))
        if ip is not None:
            inspector.local_addresses.add(ip)


# ---- the other way: the inspector's state as a capture's process and fd lists


def host_threads(inspector: Inspector) -> list[Any]:
    """The inspector's threads as process-list entries (live capture's snapshot)."""
    from sentry.capture.scapmeta import ThreadEntry

    return [
        ThreadEntry(
            th.tid,
            th.pid,
            th.ptid,
            comm=th.comm,
            exe=th.exe,
            exepath=th.exepath,
            args=list(th.args),
            cwd=th.cwd,
            fdlimit=th.fdlimit,
            flags=th.flags,
            uid=th.uid,
            gid=th.gid,
            env=list(th.env),
            vtid=th.vtid,
            vpid=th.vpid,
            cgroups=list(th.cgroups),
            sid=th.sid,
            vpgid=th.vpgid,
            loginuid=th.loginuid,
            tty=th.tty,
        )
        for th in inspector.threads
    ]


def host_fds(inspector: Inspector) -> list[Any]:
    """The files and directories each process has open, as fd-list entries (so a file
    replays with the names of fds opened before its window). Sockets and the rest are left
    out; their next connect/accept names them again."""
    from sentry.capture.scapmeta import FD_DIRECTORY, FD_FILE_V2, FdEntry
    from sentry.inspect.fds import FdType

    kinds = {FdType.FILE: FD_FILE_V2, FdType.DIRECTORY: FD_DIRECTORY}
    out = []
    for th in inspector.threads:
        table = getattr(getattr(th, "fds", None), "fds", None)
        if th.tid != th.pid or not isinstance(table, dict):
            continue
        for num, fd in table.items():
            kind = kinds.get(fd.type)
            if kind is not None and 0 <= num < 1 << 63 and fd.name:
                out.append(
                    FdEntry(
                        th.tid,
                        num,
                        fd.ino & (1 << 64) - 1,
                        kind,
                        fd.name,
                        fd.flags & 0xFFFFFFFF,
                        fd.dev & 0xFFFFFFFF,
                    )
                )
    return out
