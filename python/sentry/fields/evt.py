"""``evt.*`` fields: the event itself (number, time, type, direction, arguments, result).

Argument text follows sysdig: ``evt.args``/``evt.info`` are ``name=value `` pairs, where an
fd shows as ``3(<f>/etc/passwd)`` and a pid as ``42(bash)`` when the state knows them;
``evt.arg.NAME`` (or ``evt.arg[N]``) is one argument's resolved text and ``evt.rawarg.NAME``
its raw value. ``evt.res`` is ``SUCCESS`` or the errno name of a failed call.
"""

from __future__ import annotations

import dataclasses
import errno as errno_names
import functools
import posixpath
import time
from collections.abc import Callable
from typing import Any

from sentry.events.event import FdList
from sentry.events.syscalls import PPM_SC_NAMES
from sentry.events.table import EVENTS, EventFlags, ParamInfo, ParamType, PrintFormat
from sentry.events.wire import SCAP_VALUES
from sentry.fields.registry import (
    ArgKind,
    Extractor,
    FieldType,
    Known,
    register,
    register_simple,
    specialised_by,
)

_NS = 1_000_000_000
_OPEN_EVENTS = frozenset({"open", "openat", "openat2", "creat"})
# the open flags the drivers write (events/wire.py)
_O_RDONLY, _O_WRONLY, _O_CREAT = (SCAP_VALUES[f"SCAP_O_{n}"] for n in ("RDONLY", "WRONLY", "CREAT"))
_O_F_CREATED = SCAP_VALUES["SCAP_O_F_CREATED"]
_EXEC_BITS = 0o111
_MAX_BUFFER_TEXT = 80
_GENERIC = "syscall"


# ---- argument rendering ------------------------------------------------------------------


def errno_name(code: int) -> str:
    return errno_names.errorcode.get(-code if code < 0 else code, str(code))


def _printable(data: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 else "." for b in data)


# Flag texts already worked out, by id of a flags table (kept alive here) and value.
_FLAG_TEXTS: dict[int, tuple[Any, dict[int, str]]] = {}
_FLAG_TEXTS_PER_TABLE = 4096


def _flag_names(pinfo: ParamInfo, value: int) -> str:
    table = pinfo.flags
    known = _FLAG_TEXTS.get(id(table))
    if known is None or known[0] is not table:
        known = _FLAG_TEXTS[id(table)] = (table, {})
    text = known[1].get(value)
    if text is None:
        text = _walk_flags(table, value)
        if len(known[1]) < _FLAG_TEXTS_PER_TABLE:
            known[1][value] = text
    return text


def _walk_flags(table: Any, value: int) -> str:
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
    text = _printable(data)
    limit = _buffer_limit[0]
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


_L4_CHARS = {"tcp": "t", "udp": "u", "icmp": "i", "raw": "r"}
_AT_FDCWD = -100
_NO_ID = 0xFFFFFFFF  # a uid/gid argument of -1


def fd_tag(info: Any) -> str:
    """How sysdig tags an fd in arguments: ``<f>``, ``<4t>`` (a connected TCP socket) ..."""
    l4 = _L4_CHARS.get(info.l4proto or "", "") if info.sip is not None else ""
    return f"<{info.type.char}{l4}>{info.name}"


def _relpath(ev: Any, pinfo: ParamInfo, value: str) -> str | None:
    # FSRELPATH: a relative path resolved against its dirfd (or the cwd), as sysdig shows it.
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


def render_arg(ev: Any, i: int) -> tuple[str, str | None]:
    """Argument ``i`` as sysdig shows it: (raw text, resolved text or None)."""
    pinfo = ev.info.params[i] if i < len(ev.info.params) else None
    value = ev.param(i)
    if value is None:
        if pinfo is not None and pinfo.type in (ParamType.SOCKTUPLE, ParamType.SOCKADDR):
            return "NULL", None
        return "", None
    if pinfo is None:
        return _printable(bytes(value)), None
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
    if ptype is ParamType.FSRELPATH and isinstance(value, str):
        return value, _relpath(ev, pinfo, value)
    if ptype in (ParamType.FLAGS8, ParamType.FLAGS16, ParamType.FLAGS32, ParamType.MODE):
        names = _flag_names(pinfo, value) if pinfo.flags else ""
        # sysdig 0.29 prints flags in decimal whatever their table's format says.
        raw = _number(pinfo, value) if ptype is ParamType.MODE else str(value)
        return raw, (names or None)
    if ptype in (ParamType.UID, ParamType.GID):
        # sysdig prints an id as a signed 32-bit number and resolves it to a name: "<NONE>"
        # for -1 (setresuid's "leave unchanged"), "<NA>" for an id it cannot name.
        if value == _NO_ID:
            return "-1", "<NONE>"
        th = ev.thread
        users = th.table.inspector.users if th is not None and th.table is not None else None
        entry = None
        if users is not None:
            entry = users.user(value) if ptype is ParamType.UID else users.group(value)
        raw = str(value - (1 << 32) if value >= 1 << 31 else value)
        return raw, (entry.name if entry is not None else "<NA>")
    if isinstance(value, bytes):
        return _bytes_text(value), None
    if isinstance(value, int):
        return _number(pinfo, value), None
    if isinstance(value, list):
        return ",".join(value), None
    family = getattr(value, "family", None)
    if family is not None:
        return _render_sock(value), None
    return str(value), None


def _fdlist_text(ev: Any, value: FdList) -> str:
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


def _render_sock(value: Any) -> str:
    if hasattr(value, "dip"):
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


def args_text(ev: Any) -> str:
    if ev.info.name == _GENERIC:
        return ""  # sysdig shows the syscall's name as the type and no arguments
    parts = []
    for i in range(min(ev.nparams, len(ev.info.params))):
        raw, resolved = render_arg(ev, i)
        text = f"{raw}({resolved})" if resolved is not None else raw
        parts.append(f"{ev.info.params[i].name}={text} ")
    return "".join(parts)


def event_type(ev: Any) -> str:
    """The event's name; for generic syscall events, the syscall's name (as sysdig)."""
    name: str = ev.info.name
    if name == _GENERIC:
        code = ev.param(0) if ev.nparams else None
        if isinstance(code, int) and 0 <= code < len(PPM_SC_NAMES):
            return PPM_SC_NAMES[code]
    return name


# ---- time --------------------------------------------------------------------------------


# The last second _clock() rendered: [second, time.tzname then, "HH:MM:SS"]; events come in
# time order, so most share their second with the one before.
_LAST_SECOND: list[Any] = [None, None, ""]


def _clock(ts: int) -> str:
    sec = ts // _NS
    last = _LAST_SECOND
    if sec != last[0] or time.tzname != last[1]:
        last[:] = sec, time.tzname, time.strftime("%H:%M:%S", time.localtime(sec))
    return f"{last[2]}.{ts % _NS:09d}"


def _datetime(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts // _NS)) + f".{ts % _NS:09d}"


def _reltime(ev: Any) -> int | None:
    th = ev.thread
    first = th.table.inspector.first_ts if th is not None else None
    return None if first is None else ev.ts - first


def _latency(ev: Any) -> int:
    th = ev.thread
    if ev.info.direction == "<" and th is not None and th.last_type == ev.type - 1:
        return ev.ts - th.last_ts
    return 0


# ---- results -----------------------------------------------------------------------------


def _res_value(ev: Any) -> int | None:
    # sysdig's result: the first parameter of an exit event, when it is a number.
    params = ev.info.params
    if ev.info.direction != "<" or ev.nparams == 0 or not params:
        return None
    if params[0].type is ParamType.SYSCALLID:
        return None  # generic syscall events carry no result
    value = ev.param(0)
    return value if isinstance(value, int) else None


def _exit_res_value(ev: Any) -> int | None:
    # _res_value on an exit type whose first parameter is a result
    if not ev.nparams:
        return None
    value = ev.param(0)
    return value if isinstance(value, int) else None


def _res_value_for(info: Any) -> Extractor | Known:
    params = info.params
    if info.direction != "<" or not params or params[0].type is ParamType.SYSCALLID:
        return Known(None)
    return _exit_res_value


def _res_for(info: Any) -> Extractor | Known:
    if isinstance(_res_value_for(info), Known):
        return Known(None)

    def res(ev: Any) -> str | None:
        value = _exit_res_value(ev)
        if value is None:
            return None
        return errno_name(value) if value < 0 else "SUCCESS"

    return res


def _failed_for(info: Any) -> Extractor | Known:
    if isinstance(_res_value_for(info), Known):
        return Known(False)

    def failed(ev: Any) -> bool:
        value = _exit_res_value(ev)
        return value is not None and value < 0

    return failed


@specialised_by(_res_for)
def _res(ev: Any) -> str | None:
    value = _res_value(ev)
    if value is None:
        return None
    return errno_name(value) if value < 0 else "SUCCESS"


@specialised_by(_failed_for)
def _failed(ev: Any) -> bool:
    value = _res_value(ev)
    return value is not None and value < 0


specialised_by(_res_value_for)(_res_value)


def _open_flags(ev: Any) -> int | None:
    info = ev.info
    if info.direction != "<" or info.name not in _OPEN_EVENTS:
        return None
    if info.name == "creat":
        return _O_CREAT | _O_WRONLY
    flags = ev.flags()  # decoded once per event for is_open_read/_write/_exec
    if flags is None and ev.fdinfo is not None:
        flags = ev.fdinfo.flags
    return flags


def _known_open_flags(info: Any) -> Known | None:
    """The open flags every event of type ``info`` has (None when each event says)."""
    if info.direction != "<" or info.name not in _OPEN_EVENTS:
        return Known(None)
    if info.name == "creat":
        return Known(_O_CREAT | _O_WRONLY)
    return None


def _is_open(bit: int) -> Extractor:
    def extract(ev: Any) -> bool:
        flags = _open_flags(ev)
        return flags is not None and bool(flags & bit)

    def open_exit(ev: Any) -> bool:
        flags = ev.flags()
        if flags is None and ev.fdinfo is not None:
            flags = ev.fdinfo.flags
        return flags is not None and bool(flags & bit)

    def specialiser(info: Any) -> Extractor | Known:
        known = _known_open_flags(info)
        if known is None:
            return open_exit
        return Known(known.value is not None and bool(known.value & bit))

    return specialised_by(specialiser)(extract)


def _is_open_exec_for(info: Any) -> Extractor | Known:
    known = _known_open_flags(info)
    if known is None:
        return _open_exit_exec
    return Known(False) if known.value is None else _is_open_exec


def _open_exit_exec(ev: Any) -> bool:
    # _is_open_exec on an open exit that carries its flags
    flags = ev.flags()
    if flags is None and ev.fdinfo is not None:
        flags = ev.fdinfo.flags
    if flags is None or not flags & _O_CREAT:
        return False
    mode = ev.param_by_name("mode")
    return mode is not None and bool(mode & _EXEC_BITS)


@specialised_by(_is_open_exec_for)
def _is_open_exec(ev: Any) -> bool:
    flags = _open_flags(ev)
    if flags is None or not flags & _O_CREAT:
        return False
    mode = ev.param_by_name("mode")
    return mode is not None and bool(mode & _EXEC_BITS)


def _buffer(ev: Any) -> bytes | None:
    for i, p in enumerate(ev.info.params[: ev.nparams]):
        if p.name == "data" and p.type is ParamType.BYTEBUF:
            value = ev.param(i)
            return value if value is not None else b""
    return None


def _flag_test(flag: EventFlags) -> Extractor:
    return specialised_by(lambda info: Known(bool(info.flags & flag)))(
        lambda ev: bool(ev.info.flags & flag)
    )


# ---- arguments by name or index -------------------------------------------------------------


def _arg_index(ev: Any, key: str) -> int:
    if key.isdigit():
        i = int(key)
        return i if i < ev.nparams else -1
    i = ev.info.param_index(key)
    return i if 0 <= i < ev.nparams else -1


class _Entered:
    """The enter event of an exit, as its thread kept it: what :func:`render_arg` reads."""

    __slots__ = ("info", "nparams", "thread", "values")

    def __init__(self, info: Any, thread: Any, values: list[Any]) -> None:
        self.info, self.thread, self.values = info, thread, values
        self.nparams = len(values)

    def param(self, i: int) -> Any:
        return self.values[i]


def _enter_info(info: Any, key: str) -> Any:
    """The enter type whose parameter ``key`` an exit of type ``info`` lacks (else None)."""
    if key.isdigit() or info.direction != "<":
        return None
    enter = EVENTS.get(info.code - 1)
    if enter is None or enter.name != info.name or enter.param_index(key) < 0:
        return None
    return enter


def entered(ev: Any) -> _Entered | None:
    """The enter event of exit ``ev`` as its thread kept it, when it was seen (else None).

    Today's drivers put the enter's parameters on the exit event itself (libs' "drop enter
    events", Falco 0.42); ours still send them on the enter, so an exit's ``evt.arg.X`` and
    ``evt.rawarg.X`` that the exit lacks read the enter's, as today's Falco reads them."""
    from sentry.inspect.inspector import ENTER_ARGS

    th = ev.thread
    code = ev.type - 1
    if th is None or th.last_type != code:
        return None
    info = EVENTS.get(code)
    if info is None:
        return None
    params = info.params
    if code in ENTER_ARGS and th.enter is not None:
        kept = th.enter
        return _Entered(info, th, [kept.get(p.name) for p in params])
    if params and params[0].type is ParamType.FD:
        # Calls whose enter is not kept (I/O): their fd is the thread's last fd.
        return _Entered(info, th, [th.last_fd] + [None] * (len(params) - 1))
    return None


def _enter_arg(ev: Any, key: str, raw: bool) -> Any:
    en = entered(ev)
    if en is None:
        return None
    i = en.info.param_index(key)
    if i < 0:
        return None
    value = en.values[i]
    if value is None:
        return None
    if raw:
        return _printable(value) if isinstance(value, bytes) else value
    text, resolved = render_arg(en, i)
    return resolved if resolved is not None else text


def _type_arg_index(info: Any, key: str) -> int:
    """_arg_index's answer for every event of type ``info`` that has all its parameters."""
    if key.isdigit():
        return int(key)
    return info.param_index(key)


def _make_arg(key: str | None) -> Extractor:
    assert key is not None

    def extract(ev: Any) -> str | None:
        i = _arg_index(ev, key)
        if i < 0:
            return _enter_arg(ev, key, False) if ev.info.param_index(key) < 0 else None
        raw, resolved = render_arg(ev, i)
        return resolved if resolved is not None else raw

    def from_enter(ev: Any) -> str | None:
        return _enter_arg(ev, key, False)

    def specialiser(info: Any) -> Extractor | Known:
        i = _type_arg_index(info, key)
        if i < 0:
            return from_enter if _enter_info(info, key) is not None else Known(None)
        pinfo = info.params[i] if i < len(info.params) else None
        if (
            pinfo is not None
            and pinfo.flags
            and pinfo.type in (ParamType.FLAGS8, ParamType.FLAGS16, ParamType.FLAGS32)
        ):

            def flags_arg(ev: Any) -> str | None:
                # render_arg of a flags parameter, inlined
                if i >= ev.nparams:
                    return None
                value = ev.param(i)
                if value is None:
                    return ""
                return _flag_names(pinfo, value) or str(value)

            return flags_arg

        def arg(ev: Any) -> str | None:
            if i >= ev.nparams:
                return None
            raw, resolved = render_arg(ev, i)
            return resolved if resolved is not None else raw

        return arg

    return specialised_by(specialiser)(extract)


def _make_rawarg(key: str | None) -> Extractor:
    assert key is not None

    def extract(ev: Any) -> Any:
        i = _arg_index(ev, key)
        if i < 0:
            return _enter_arg(ev, key, True) if ev.info.param_index(key) < 0 else None
        value = ev.param(i)
        if isinstance(value, bytes):
            return _printable(value)
        return value

    def from_enter(ev: Any) -> Any:
        return _enter_arg(ev, key, True)

    def specialiser(info: Any) -> Extractor | Known:
        i = _type_arg_index(info, key)
        if i < 0:
            return from_enter if _enter_info(info, key) is not None else Known(None)

        def rawarg(ev: Any) -> Any:
            if i >= ev.nparams:
                return None
            value = ev.param(i)
            if isinstance(value, bytes):
                return _printable(value)
            return value

        return rawarg

    return specialised_by(specialiser)(extract)


def _simple(name: str, ftype: FieldType, desc: str, get: Callable[[Any], Any]) -> None:
    register_simple(name, ftype, desc, get)


_simple("evt.num", FieldType.INT, "event number", lambda ev: ev.num)
_simple("evt.time", FieldType.STRING, "time of day (local), ns precision", lambda ev: _clock(ev.ts))
_simple(
    "evt.time.s", FieldType.STRING, "time of day (local), seconds", lambda ev: _clock(ev.ts)[:8]
)
_simple(
    "evt.outputtime",
    FieldType.STRING,
    "time as sysdig prints it by default",
    lambda ev: _clock(ev.ts),
)
_simple("evt.datetime", FieldType.STRING, "date and time (local)", lambda ev: _datetime(ev.ts))
_simple("evt.rawtime", FieldType.ABSTIME, "ns since the epoch", lambda ev: ev.ts)
_simple("evt.rawtime.s", FieldType.INT, "seconds since the epoch", lambda ev: ev.ts // _NS)
_simple("evt.rawtime.ns", FieldType.INT, "ns part of the time", lambda ev: ev.ts % _NS)
_simple("evt.reltime", FieldType.RELTIME, "ns since the capture started", _reltime)
_simple(
    "evt.reltime.s",
    FieldType.INT,
    "seconds since the capture started",
    lambda ev: None if (r := _reltime(ev)) is None else r // _NS,
)
_simple(
    "evt.reltime.ns",
    FieldType.INT,
    "ns part of evt.reltime",
    lambda ev: None if (r := _reltime(ev)) is None else r % _NS,
)
_simple("evt.latency", FieldType.RELTIME, "ns between enter and exit (0 on enter)", _latency)
_simple(
    "evt.latency.s", FieldType.INT, "seconds part of evt.latency", lambda ev: _latency(ev) // _NS
)
_simple("evt.latency.ns", FieldType.INT, "ns part of evt.latency", lambda ev: _latency(ev) % _NS)
_simple("evt.type", FieldType.STRING, "event name (open, execve ...)", event_type)
_simple("evt.dir", FieldType.STRING, "'>' enter, '<' exit", lambda ev: ev.info.direction)
_simple("evt.cpu", FieldType.INT, "CPU the event happened on", lambda ev: ev.cpu)
_simple("evt.args", FieldType.STRING, "all arguments as text", args_text)
_simple("evt.info", FieldType.STRING, "all arguments as text (as evt.args)", args_text)
_simple("evt.res", FieldType.STRING, "SUCCESS or the errno name (exit events)", _res)
_simple("evt.rawres", FieldType.INT, "return value (exit events)", _res_value)
_simple("evt.failed", FieldType.BOOL, "whether the call returned an error", _failed)
_simple("evt.is_open_read", FieldType.BOOL, "an open for reading", _is_open(_O_RDONLY))
_simple("evt.is_open_write", FieldType.BOOL, "an open for writing", _is_open(_O_WRONLY))
_simple("evt.is_open_exec", FieldType.BOOL, "an open creating an executable file", _is_open_exec)
# The drivers set bit 14 of an open exit's flags (libs' PPM_O_F_CREATED) when the open
# created the file (the kernel's FMODE_CREATED): O_CREAT alone also opens existing files
# (a shell's `> /dev/null`). As libs' evt.is_open_create; sysdig 0.29 prints the bit unnamed.
_simple(
    "evt.is_open_create", FieldType.BOOL, "an open that created the file", _is_open(_O_F_CREATED)
)
_simple("evt.buffer", FieldType.BYTES, "the data buffer of I/O events", _buffer)
_simple(
    "evt.is_io",
    FieldType.BOOL,
    "reads or writes an fd",
    _flag_test(EventFlags.READS_FROM_FD | EventFlags.WRITES_TO_FD),
)
_simple("evt.is_io_read", FieldType.BOOL, "reads an fd", _flag_test(EventFlags.READS_FROM_FD))
_simple("evt.is_io_write", FieldType.BOOL, "writes an fd", _flag_test(EventFlags.WRITES_TO_FD))
_simple("evt.is_wait", FieldType.BOOL, "waits", _flag_test(EventFlags.WAITS))
_simple("evt.count", FieldType.INT, "1 for every event", lambda ev: 1)

register(
    "evt.arg",
    FieldType.STRING,
    "one argument's text, by name or index",
    arg=ArgKind.KEY,
    dotted_arg=True,
)(_make_arg)
register(
    "evt.rawarg",
    FieldType.INT,
    "one argument's raw value, by name or index",
    arg=ArgKind.KEY,
    dotted_arg=True,
)(_make_rawarg)
