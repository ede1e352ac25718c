"""``fd.*`` fields: the file descriptor the event is about (``event.fdinfo``).

sysdig's naming for inet sockets: ``fd.cip``/``fd.cport`` are the client end and
``fd.sip``/``fd.sport`` the server end; ``fd.lip``/``fd.rip`` the local and remote ends as
seen from this machine. ``fd.net``, ``fd.cnet``, ``fd.snet``, ``fd.lnet``, ``fd.rnet`` are
for ``in`` tests against networks. For a failed open the name comes from the event itself.
"""

from __future__ import annotations

import ipaddress
import posixpath
from collections.abc import Callable
from typing import Any

from sentry.events.event import Event
from sentry.events.table import EventFlags, EventInfo
from sentry.fields import state
from sentry.fields.registry import AnyOf, FieldType, register_simple, specialised_by
from sentry.inspect.containers import HOST_ID
from sentry.inspect.fds import INET_TYPES, FdInfo, FdType, IpAddress, Role

_OPEN_EVENTS = frozenset({"open", "openat", "openat2", "creat"})


def _with_fd(get: Callable[[FdInfo], Any]) -> Callable[[Any], Any]:
    def extract(ev: Event) -> Any:
        info = ev.fdinfo
        return None if info is None else get(info)

    return extract


def _opened_path(ev: Event) -> str | None:
    """The absolute path an open-family exit names (used when no fd was created)."""
    if ev.info.name not in _OPEN_EVENTS or ev.info.direction != "<":
        return None
    name = ev.param_by_name("name")
    if not isinstance(name, str):
        return None
    if name.startswith("/") or ev.thread is None:
        return posixpath.normpath(name) if name.startswith("/") else name
    dirfd = ev.param_by_name("dirfd")
    base = ev.thread.main_thread().cwd
    if dirfd is not None and dirfd != -100:
        dinfo = ev.thread.fds.get(dirfd)
        base = dinfo.name if dinfo is not None else ""
    return posixpath.normpath(posixpath.join(base, name)) if base else name


def _unknown_fd_exit(ev: Event) -> bool:
    # sysdig gives the exit of a call on an fd it never saw an empty name.
    return (
        ev.info.direction == "<"
        and bool(ev.info.flags & EventFlags.USES_FD)
        and _num(ev) is not None
    )


def _fd_only(info: EventInfo) -> bool:
    """Whether fd fields of events of type ``info`` come from their fd alone: neither the exit
    of a call on an fd (named even when the state does not know it) nor of an open (named
    from the event)."""
    return not (
        info.direction == "<"
        and (bool(info.flags & EventFlags.USES_FD) or info.name in _OPEN_EVENTS)
    )


def _fd_name(ev: Event) -> str | None:
    info = ev.fdinfo
    return None if info is None else info.name


def _fd_directory(ev: Event) -> str | None:
    info = ev.fdinfo
    if info is None:
        return None
    if info.type is FdType.DIRECTORY:
        return info.name
    if info.type is FdType.FILE:
        return _split(info.name)[0]
    return None


@specialised_by(lambda info: _fd_name if _fd_only(info) else _name)
def _name(ev: Event) -> str | None:
    info = ev.fdinfo
    if info is not None:
        return info.name
    if _unknown_fd_exit(ev):
        return ""
    return _opened_path(ev)


def _name_raw(ev: Event) -> str | None:
    # libs: the path as the open passed it, repeated separators squeezed ("" for non-files).
    info = ev.fdinfo
    if info is None:
        return None
    raw = info.name_raw
    while "//" in raw:
        raw = raw.replace("//", "/")
    return raw


@specialised_by(lambda info: _fd_directory if _fd_only(info) else _directory)
def _directory(ev: Event) -> str | None:
    info = ev.fdinfo
    if info is None:
        if _unknown_fd_exit(ev):
            return "/"
        path = _opened_path(ev)
        return None if path is None else posixpath.dirname(path)
    if info.type is FdType.DIRECTORY:
        return info.name
    if info.type is FdType.FILE:
        return _split(info.name)[0]
    return None


def _filename(ev: Event) -> str | None:
    info = ev.fdinfo
    if info is None:
        return None
    if info.type is FdType.FILE:
        return _split(info.name)[1]
    return None


def _split(name: str) -> tuple[str, str]:
    # sysdig's split of a file fd's name; a name without a slash gives "/" for both parts.
    parts = _SPLITS.get(name)
    if parts is None:
        if len(_SPLITS) >= _SPLITS_MAX:
            _SPLITS.clear()
        pos = name.rfind("/")
        if name == "<NA>":  # a path the driver could not read: no directory, no file name
            parts = _SPLITS[name] = (name, name)
        elif pos < 0:
            parts = _SPLITS[name] = ("/", "/")
        else:
            parts = _SPLITS[name] = ((name[:pos] or "/"), name[pos + 1 :])
    return parts


# Splits made lately, by name: rules test fd.directory and fd.filename of the same few paths.
_SPLITS: dict[str, tuple[str, str]] = {}
_SPLITS_MAX = 4096


def _num(ev: Event) -> int | None:
    # sysdig: the fd an fd-using event names (known or not), -1 on the enter of an event that
    # creates one, nothing for events without fds.
    info = ev.fdinfo
    if info is not None:
        return info.num
    th = ev.thread
    flags = ev.info.flags
    if th is None:
        return None
    if flags & EventFlags.USES_FD:
        if ev.info.direction == ">":
            value = ev.param(0) if ev.nparams else None
            return value if isinstance(value, int) else None
        return th.last_fd
    if flags & EventFlags.CREATES_FD:
        return -1
    return None


# The letter sysdig shows for the fd an event is about to create (no fd exists yet).
_CREATED_CHARS = {
    "open": "f",
    "openat": "f",
    "openat2": "f",
    "creat": "f",
    "open_by_handle_at": "f",
    "pipe": "p",
    "pipe2": "p",
    "socket": "4",
    "accept": "4",
    "accept4": "4",
    "eventfd": "e",
    "eventfd2": "e",
    "signalfd": "s",
    "signalfd4": "s",
    "timerfd_create": "t",
    "inotify_init": "i",
    "inotify_init1": "i",
    "epoll_create": "l",
    "epoll_create1": "l",
    "userfaultfd": "u",
    "memfd_create": "m",
}


def _typechar(ev: Event) -> str | None:
    info = ev.fdinfo
    if info is not None:
        return info.type.char
    flags = ev.info.flags
    if flags & EventFlags.USES_FD:
        return "o" if _num(ev) is not None else None  # an fd the state does not know
    if flags & EventFlags.CREATES_FD:
        return _CREATED_CHARS.get(ev.info.name, "o")
    return None


def _connected(info: FdInfo) -> bool:
    return info.type in INET_TYPES and (info.sip is not None or info.cip is not None)


def _inet(get: Callable[[FdInfo], Any]) -> Callable[[Any], Any]:
    def extract(ev: Event) -> Any:
        info = ev.fdinfo
        if info is None or info.type not in INET_TYPES:
            return None
        return get(info)

    return extract


def _is_local(ev: Event, ip: IpAddress | None) -> bool:
    return state.is_local(ev.thread, ip)


def _local_is_client(ev: Event, info: FdInfo) -> bool:
    return _is_local(ev, info.cip) if ev.thread else True


def _end(local: bool, what: str) -> Callable[[Any], Any]:
    def extract(ev: Event) -> Any:
        info = ev.fdinfo
        if info is None or not _connected(info) or info.listening:
            return None
        client = _local_is_client(ev, info) == local
        if what == "ip":
            return info.cip if client else info.sip
        return info.cport if client else info.sport

    return extract


def _is_server(ev: Event) -> bool | None:
    info = ev.fdinfo
    if info is None:
        return None
    if info.type not in INET_TYPES:
        return False
    if info.listening or info.role is Role.SERVER:
        return True
    if info.role is Role.CLIENT:
        return _is_local(ev, info.sip)
    # Not connected yet: sysdig answers true inside a container, false on the host.
    th = ev.thread
    return th is not None and th.container_id != HOST_ID


def _sockfamily(info: FdInfo) -> str | None:
    if info.type in INET_TYPES:
        return "ip"
    if info.type is FdType.UNIX:
        return "unix"
    return None


def _connect_addr(ev: Event) -> Any:
    # A connect enter names its destination before the fd has one; sysdig matches it.
    if ev.info.name == "connect" and ev.info.direction == ">":
        addr = ev.param_by_name("addr")
        if addr is not None and addr.family in (2, 10) and addr.addr:
            return addr
    return None


def _both_ips(ev: Event) -> AnyOf | None:
    info = ev.fdinfo
    if info is None or info.type not in INET_TYPES:
        return None
    ips = [ip for ip in (info.cip, info.sip) if ip is not None]
    addr = _connect_addr(ev)
    if addr is not None:
        ips.append(ipaddress.ip_address(addr.addr))
    return AnyOf(ips) or None


def _both_ports(ev: Event) -> AnyOf | None:
    info = ev.fdinfo
    if info is None or info.type not in INET_TYPES:
        return None
    ports = [p for p in (info.cport, info.sport) if p is not None]
    addr = _connect_addr(ev)
    if addr is not None and addr.port is not None:
        ports.append(addr.port)
    return AnyOf(ports) or None


def _name_changed(ev: Event) -> bool | None:
    info = ev.fdinfo
    return None if info is None else info.renamed_at == ev.num


def _containername(ev: Event) -> str | None:
    name = _name(ev)
    if name is None or ev.thread is None:
        return None
    # sysdig keeps the host's container id empty; only container.id shows it as "host".
    cid = ev.thread.container_id
    return f"{'' if cid == HOST_ID else cid}:{name}"


register_simple("fd.num", FieldType.INT, "fd number (-1 when the event has none)", _num)
register_simple(
    "fd.type",
    FieldType.STRING,
    "file, directory, ipv4, ipv6, unix, pipe ...",
    _with_fd(lambda i: i.type.label),
)
register_simple(
    "fd.typechar", FieldType.STRING, "type as one letter (f, 4, 6, u, p ...)", _typechar
)
register_simple("fd.name", FieldType.STRING, "path, or connection tuple for sockets", _name)
register_simple(
    "fd.nameraw",
    FieldType.STRING,
    "path of a file as the open named it (relative paths stay relative)",
    _name_raw,
)
register_simple("fd.directory", FieldType.STRING, "directory of a file fd", _directory)
register_simple("fd.filename", FieldType.STRING, "base name of a file fd", _filename)
register_simple("fd.containername", FieldType.STRING, "container id and fd name", _containername)
register_simple("fd.dev", FieldType.INT, "device number of a file", _with_fd(lambda i: i.dev))
register_simple("fd.ino", FieldType.INT, "inode of a file or pipe", _with_fd(lambda i: i.ino))
register_simple("fd.sip", FieldType.IPADDR, "server ip", _inet(lambda i: i.sip))
register_simple("fd.cip", FieldType.IPADDR, "client ip", _inet(lambda i: i.cip))
register_simple("fd.sport", FieldType.PORT, "server port", _inet(lambda i: i.sport))
register_simple("fd.cport", FieldType.PORT, "client port", _inet(lambda i: i.cport))
register_simple("fd.lip", FieldType.IPADDR, "local ip", _end(True, "ip"))
register_simple("fd.rip", FieldType.IPADDR, "remote ip", _end(False, "ip"))
register_simple("fd.lport", FieldType.PORT, "local port", _end(True, "port"))
register_simple("fd.rport", FieldType.PORT, "remote port", _end(False, "port"))
register_simple("fd.ip", FieldType.IPADDR, "either ip (filter only)", _both_ips)
register_simple("fd.port", FieldType.PORT, "either port (filter only)", _both_ports)
register_simple("fd.net", FieldType.IPNET, "either ip, for 'in' network tests", _both_ips)
register_simple("fd.cnet", FieldType.IPNET, "client ip, for network tests", _inet(lambda i: i.cip))
register_simple("fd.snet", FieldType.IPNET, "server ip, for network tests", _inet(lambda i: i.sip))
register_simple("fd.lnet", FieldType.IPNET, "local ip, for network tests", _end(True, "ip"))
register_simple("fd.rnet", FieldType.IPNET, "remote ip, for network tests", _end(False, "ip"))
register_simple(
    "fd.l4proto",
    FieldType.STRING,
    "tcp, udp, icmp or raw",
    _inet(lambda i: i.l4proto if _connected(i) else None),
)
register_simple("fd.sockfamily", FieldType.STRING, "ip or unix", _with_fd(_sockfamily))
register_simple(
    "fd.is_server", FieldType.BOOL, "whether this process is the server end", _is_server
)
register_simple(
    "fd.connected", FieldType.BOOL, "whether a socket is connected", _with_fd(lambda i: i.connected)
)
register_simple(
    "fd.name_changed", FieldType.BOOL, "whether this event changed the fd name", _name_changed
)


def _no_dns(_ev: Any) -> None:
    return None


# sysdig resolves the domain names of these fields' constants through its own DNS queries.
# Sentry makes no DNS queries from the event path, so they hold no value (never match).
for _end_name in ("sip", "cip", "lip", "rip"):
    register_simple(
        f"fd.{_end_name}.name",
        FieldType.STRING,
        f"domain name of fd.{_end_name} (not resolved by Sentry: <NA>)",
        _no_dns,
    )
