"""Event arguments as sysdig shows them: the text of ``evt.args`` and ``evt.arg.NAME``.

:func:`render_arg` gives one argument's raw text and its resolved text (an fd's
``<f>/etc/passwd``, a pid's process name, flag names, a signal's name, a uid's user name),
:func:`args_text` the whole ``name=value `` list. Every rule here was checked against sysdig
0.29 reading the same capture (tests/unit/capture/test_scap_writer.py and the conformance
suite); the state (threads, fds, users) comes from the event's thread when it has one.
"""

from __future__ import annotations

import dataclasses
import errno as errno_names
import functools
import posixpath
from typing import Any, Protocol

from sentry.events.event import FdList, SockAddr, SockTuple
from sentry.events.syscalls import PPM_SC_NAMES
from sentry.events.table import EventInfo, ParamInfo, ParamType, PrintFormat
from sentry.fields import state
from sentry.inspect.fds import FdInfo

GENERIC_EVENT = "syscall"  # the name of scap's generic syscall events
_MAX_BUFFER_TEXT = 80


class ArgEvent(Protocol):
    """What rendering reads of an event: an :class:`~sentry.events.event.Event`, or the
    enter event an exit's thread kept (:class:`sentry.fields.evt.Entered`)."""

    info: EventInfo
    nparams: int
    thread: Any  # the inspector's Thread (events/ knows nothing of inspect/), or None

    def param(self, i: int) -> Any: ...

    def raw(self, i: int) -> bytes | memoryview: ...


def errno_name(code: int) -> str:
    """``ENOENT`` for -2 (or 2); the number itself for a code Linux does not name."""
    return errno_names.errorcode.get(-code if code < 0 else code, str(code))


def printable(data: bytes) -> str:
    """Bytes as sysdig prints a buffer: printable ASCII kept, every other byte a dot."""
    return "".join(chr(b) if 32 <= b < 127 else "." for b in data)


# Flag texts already worked out, by id of a flags table (kept alive here) and value.
_FLAG_TEXTS: dict[int, tuple[tuple[tuple[str, int], ...], dict[int, str]]] = {}
_FLAG_TEXTS_PER_TABLE = 4096


def flag_names(pinfo: ParamInfo, value: int) -> str:
    """A flags argument's names (``O_RDWR|O_CREAT``), remembered per table and value."""
    table = pinfo.flags
    known = _FLAG_TEXTS.get(id(table))
    if known is None or known[0] is not table:
        known = _FLAG_TEXTS[id(table)] = (table, {})
    text = known[1].get(value)
    if text is None:
        text = walk_flags(table, value)
        if len(known[1]) < _FLAG_TEXTS_PER_TABLE:
            known[1][value] = text
    return text


def walk_flags(table: tuple[tuple[str, int], ...], value: int) -> str:
    # sysdig's walk: in table order, name each entry whose bits are all still set (and clear
    # them), stopping at an entry equal to the whole value, which is named too. So enumerated
    # values (ptrace requests) print as one name, and O_RDWR does not also print O_WRONLY.
    names = []
    rest = value
    for name, bit in table:
        if bit == value:
            names.append(name)
            break
        if bit != 0 and rest != 0 and rest & bit == bit:
            names.append(name)
            rest &= ~bit
    return "|".join(names)


_buffer_limit: list[int | None] = [_MAX_BUFFER_TEXT]


def set_buffer_text_limit(limit: int | None) -> None:
    """How long buffer arguments may print (None: whole). sysdig shortens them to 80
    characters on its text output and keeps them whole in JSON (and with -v)."""
    _buffer_limit[0] = limit


def _bytes_text(data: bytes) -> str:
    text = printable(data)
    limit = _buffer_limit[0]
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


_L4_CHARS = {"tcp": "t", "udp": "u", "icmp": "i", "raw": "r"}
_AT_FDCWD = -100
_NO_ID = 0xFFFFFFFF  # a uid/gid argument of -1


def fd_tag(info: FdInfo) -> str:
    """How sysdig tags an fd in arguments: ``<f>``, ``<4t>`` (a connected TCP socket) ..."""
    l4 = _L4_CHARS.get(info.l4proto or "", "") if info.sip is not None else ""
    return f"<{info.type.char}{l4}>{info.name}"


def _relpath(ev: ArgEvent, pinfo: ParamInfo, value: str) -> str | None:
    # FSRELPATH: a relative path resolved against its dirfd (or the cwd), FSPATH against the
    # cwd, as sysdig shows it (mkdir's path=d(/cwd/d)).
    if value.startswith("/") or ev.thread is None:
        return None
    base = ev.thread.main_thread().cwd
    if pinfo.dirfd >= 0 and pinfo.dirfd < ev.nparams:
        dirfd = ev.param(pinfo.dirfd)
        if isinstance(dirfd, int) and dirfd != _AT_FDCWD:
            dinfo = ev.thread.fds.get(dirfd)
            base = dinfo.name + "/" if dinfo is not None else ""
    return posixpath.normpath(base + value) if base else value


# Linux's signal names by number (x86_64), as sysdig prints a SIGTYPE argument.
SIGNAL_NAMES = (
    "",
    *(  # noqa: SIM905
        "SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGUSR1 SIGSEGV "
        "SIGUSR2 SIGPIPE SIGALRM SIGTERM SIGSTKFLT SIGCHLD SIGCONT SIGSTOP SIGTSTP SIGTTIN "
        "SIGTTOU SIGURG SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPWR SIGSYS"
    ).split(),
)


@functools.cache
def _dynamic_info(pinfo: ParamInfo, index: int) -> ParamInfo:
    if index >= len(pinfo.dynamic):
        return pinfo
    ptype, fmt = pinfo.dynamic[index]
    return dataclasses.replace(pinfo, type=ptype, fmt=fmt, dynamic=())


def render_arg(ev: ArgEvent, i: int) -> tuple[str, str | None]:
    """Argument ``i`` as sysdig shows it: (raw text, resolved text or None)."""
    pinfo = ev.info.params[i] if i < len(ev.info.params) else None
    value = ev.param(i)
    if value is None:
        if pinfo is not None and pinfo.type in (ParamType.SOCKTUPLE, ParamType.SOCKADDR):
            return "NULL", None
        return "", None
    if pinfo is None:
        return printable(bytes(value)), None
    if pinfo.type is ParamType.DYN:  # rendered as the type its index byte selects
        pinfo = _dynamic_info(pinfo, ev.raw(i)[0])
    ptype = pinfo.type
    if ptype is ParamType.FD:
        if value == _AT_FDCWD:
            return str(value), "AT_FDCWD"
        if value < 0:
            return str(value), errno_name(value)
        th = ev.thread
        info = th.fds.get(value) if th is not None else None
        if info is None:
            return str(value), None
        return str(value), fd_tag(info)
    if ptype is ParamType.SYSCALLID:
        name = PPM_SC_NAMES[value] if 0 <= value < len(PPM_SC_NAMES) else None
        return str(value), name
    if ptype is ParamType.ERRNO:
        return str(value), (errno_name(value) if value < 0 else None)
    if ptype is ParamType.RELTIME and isinstance(value, int):  # sysdig: 1500000000(1.5s)
        return str(value), f"{value / 1e9:g}s"
    if ptype is ParamType.SIGTYPE:  # sysdig: sig=9(SIGKILL)
        return str(value), (SIGNAL_NAMES[value] if 0 < value < len(SIGNAL_NAMES) else None)
    if ptype is ParamType.SIGSET and isinstance(value, int):  # sysdig: SIGHUP SIGTERM
        return " ".join(SIGNAL_NAMES[b + 1] for b in range(31) if value >> b & 1), None
    if ptype is ParamType.FDLIST and isinstance(value, FdList):
        return _fdlist_text(ev, value), None
    if ptype is ParamType.PID:
        th = ev.thread
        other = th.table.get(value) if th is not None and th.table is not None else None
        return str(value), (other.comm if other is not None else None)
    if ptype in (ParamType.FSRELPATH, ParamType.FSPATH) and isinstance(value, str):
        return value, _relpath(ev, pinfo, value)
    if ptype in (ParamType.FLAGS8, ParamType.FLAGS16, ParamType.FLAGS32, ParamType.MODE):
        names = flag_names(pinfo, value) if pinfo.flags else ""
        # sysdig 0.29 prints flags in decimal whatever their table's format says.
        raw = _number(pinfo, value) if ptype is ParamType.MODE else str(value)
        return raw, (names or None)
    if ptype in (ParamType.UID, ParamType.GID):
        # sysdig prints an id as a signed 32-bit number and resolves it to a name: "<NONE>"
        # for -1 (setresuid's "leave unchanged"), "<NA>" for an id it cannot name.
        if value == _NO_ID:
            return "-1", "<NONE>"
        th = ev.thread
        entry = state.user(th, value) if ptype is ParamType.UID else state.group(th, value)
        raw = str(value - (1 << 32) if value >= 1 << 31 else value)
        return raw, (entry.name if entry is not None else "<NA>")
    if isinstance(value, bytes):
        return _bytes_text(value), None
    if isinstance(value, int):
        return _number(pinfo, value), None
    if isinstance(value, list):
        return ",".join(value), None
    if isinstance(value, SockAddr | SockTuple):
        return _render_sock(value), None
    return str(value), None


def _fdlist_text(ev: ArgEvent, value: FdList) -> str:
    # sysdig: "fd:<type char><events>" per entry, the events a sign-extended 16-bit hex
    # number, '?' for an fd the thread does not have.
    th = ev.thread
    parts = []
    for fd, events in value.entries:
        info = th.fds.get(fd) if th is not None else None
        char = info.type.char if info is not None else "?"
        signed = events - 0x10000 if events & 0x8000 else events
        parts.append(f"{fd}:{char}{signed & 0xFFFFFFFF:x}")
    return " ".join(parts)


def _number(pinfo: ParamInfo, value: int) -> str:
    if pinfo.fmt == PrintFormat.HEX:
        return f"{value:X}"
    if pinfo.fmt == PrintFormat.OCT:
        return f"0{value:o}" if value else "0"
    return str(value)


def _render_sock(value: SockAddr | SockTuple) -> str:
    if isinstance(value, SockTuple):
        if value.family in (2, 10):
            return f"{value.sip}:{value.sport}->{value.dip}:{value.dport}"
        if value.family == 1:
            return f"{value.source or 0:x}->{value.dest or 0:x} {value.path or ''}"
    else:
        if value.family in (2, 10):
            return f"{value.addr}:{value.port}"
        if value.family == 1:
            return value.path or ""
    return ""


def args_text(ev: ArgEvent) -> str:
    """``evt.args``: every argument as ``name=value `` (``value(resolved)`` when resolved)."""
    if ev.info.name == GENERIC_EVENT:
        return ""  # sysdig shows the syscall's name as the type and no arguments
    parts = []
    for i in range(min(ev.nparams, len(ev.info.params))):
        raw, resolved = render_arg(ev, i)
        text = f"{raw}({resolved})" if resolved is not None else raw
        parts.append(f"{ev.info.params[i].name}={text} ")
    return "".join(parts)
