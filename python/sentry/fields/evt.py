"""``evt.*`` fields: the event itself (number, time, type, direction, arguments, result).

Argument text follows sysdig (:mod:`sentry.fields.argtext` renders it): ``evt.args``/
``evt.info`` are ``name=value `` pairs, where an fd shows as ``3(<f>/etc/passwd)`` and a pid
as ``42(bash)`` when the state knows them; ``evt.arg.NAME`` (or ``evt.arg[N]``) is one
argument's resolved text and ``evt.rawarg.NAME`` its raw value; an exit lacking the argument
reads its enter's, as its thread kept it (:func:`entered`). ``evt.res`` is ``SUCCESS`` or
the errno name of a failed call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sentry.events.event import Event
from sentry.events.syscalls import PPM_SC_NAMES
from sentry.events.table import EVENTS, EventFlags, EventInfo, ParamType
from sentry.events.wire import SCAP_VALUES
from sentry.fields import state
from sentry.fields.argtext import (
    GENERIC_EVENT,
    args_text,
    errno_name,
    flag_names,
    printable,
    render_arg,
)
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


def event_type(ev: Event) -> str:
    """The event's name; for generic syscall events, the syscall's name (as sysdig)."""
    name: str = ev.info.name
    if name == GENERIC_EVENT:
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


def _reltime(ev: Event) -> int | None:
    first = state.capture_start(ev.thread)
    return None if first is None else ev.ts - first


def _latency(ev: Event) -> int:
    th = ev.thread
    if ev.info.direction == "<" and th is not None and th.last_type == ev.type - 1:
        return ev.ts - th.last_ts
    return 0


# ---- results -----------------------------------------------------------------------------


def _res_value(ev: Event) -> int | None:
    # sysdig's result: the first parameter of an exit event, when it is a number.
    params = ev.info.params
    if ev.info.direction != "<" or ev.nparams == 0 or not params:
        return None
    if params[0].type is ParamType.SYSCALLID:
        return None  # generic syscall events carry no result
    value = ev.param(0)
    return value if isinstance(value, int) else None


def _exit_res_value(ev: Event) -> int | None:
    # _res_value on an exit type whose first parameter is a result
    if not ev.nparams:
        return None
    value = ev.param(0)
    return value if isinstance(value, int) else None


def _res_value_for(info: EventInfo) -> Extractor | Known:
    params = info.params
    if info.direction != "<" or not params or params[0].type is ParamType.SYSCALLID:
        return Known(None)
    return _exit_res_value


def _res_for(info: EventInfo) -> Extractor | Known:
    if isinstance(_res_value_for(info), Known):
        return Known(None)

    def res(ev: Event) -> str | None:
        value = _exit_res_value(ev)
        if value is None:
            return None
        return errno_name(value) if value < 0 else "SUCCESS"

    return res


def _failed_for(info: EventInfo) -> Extractor | Known:
    if isinstance(_res_value_for(info), Known):
        return Known(False)

    def failed(ev: Event) -> bool:
        value = _exit_res_value(ev)
        return value is not None and value < 0

    return failed


@specialised_by(_res_for)
def _res(ev: Event) -> str | None:
    value = _res_value(ev)
    if value is None:
        return None
    return errno_name(value) if value < 0 else "SUCCESS"


@specialised_by(_failed_for)
def _failed(ev: Event) -> bool:
    value = _res_value(ev)
    return value is not None and value < 0


specialised_by(_res_value_for)(_res_value)


def _open_flags(ev: Event) -> int | None:
    info = ev.info
    if info.direction != "<" or info.name not in _OPEN_EVENTS:
        return None
    if info.name == "creat":
        return _O_CREAT | _O_WRONLY
    flags = ev.flags()  # decoded once per event for is_open_read/_write/_exec
    if flags is None and ev.fdinfo is not None:
        flags = ev.fdinfo.flags
    return flags


def _known_open_flags(info: EventInfo) -> Known | None:
    """The open flags every event of type ``info`` has (None when each event says)."""
    if info.direction != "<" or info.name not in _OPEN_EVENTS:
        return Known(None)
    if info.name == "creat":
        return Known(_O_CREAT | _O_WRONLY)
    return None


def _is_open(bit: int) -> Extractor:
    def extract(ev: Event) -> bool:
        flags = _open_flags(ev)
        return flags is not None and bool(flags & bit)

    def open_exit(ev: Event) -> bool:
        flags = ev.flags()
        if flags is None and ev.fdinfo is not None:
            flags = ev.fdinfo.flags
        return flags is not None and bool(flags & bit)

    def specialiser(info: EventInfo) -> Extractor | Known:
        known = _known_open_flags(info)
        if known is None:
            return open_exit
        return Known(known.value is not None and bool(known.value & bit))

    return specialised_by(specialiser)(extract)


def _is_open_exec_for(info: EventInfo) -> Extractor | Known:
    known = _known_open_flags(info)
    if known is None:
        return _open_exit_exec
    return Known(False) if known.value is None else _is_open_exec


def _open_exit_exec(ev: Event) -> bool:
    # _is_open_exec on an open exit that carries its flags
    flags = ev.flags()
    if flags is None and ev.fdinfo is not None:
        flags = ev.fdinfo.flags
    if flags is None or not flags & _O_CREAT:
        return False
    mode = ev.param_by_name("mode")
    return mode is not None and bool(mode & _EXEC_BITS)


@specialised_by(_is_open_exec_for)
def _is_open_exec(ev: Event) -> bool:
    flags = _open_flags(ev)
    if flags is None or not flags & _O_CREAT:
        return False
    mode = ev.param_by_name("mode")
    return mode is not None and bool(mode & _EXEC_BITS)


def _buffer(ev: Event) -> bytes | None:
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


def _arg_index(ev: Event, key: str) -> int:
    if key.isdigit():
        i = int(key)
        return i if i < ev.nparams else -1
    i = ev.info.param_index(key)
    return i if 0 <= i < ev.nparams else -1


class Entered:
    """The enter event of an exit, as its thread kept it: what :func:`render_arg` reads."""

    __slots__ = ("info", "nparams", "thread", "values")

    def __init__(self, info: EventInfo, thread: Any, values: list[Any]) -> None:
        self.info, self.thread, self.values = info, thread, values
        self.nparams = len(values)

    def param(self, i: int) -> Any:
        return self.values[i]

    def raw(self, i: int) -> bytes:
        # Only PT_DYN rendering reads raw bytes, and only exit events have PT_DYN parameters.
        raise LookupError(f"{self.info.name}'s kept enter parameters have no raw bytes")


def _enter_info(info: EventInfo, key: str) -> EventInfo | None:
    """The enter type whose parameter ``key`` an exit of type ``info`` lacks (else None)."""
    if key.isdigit() or info.direction != "<":
        return None
    enter = EVENTS.get(info.code - 1)
    if enter is None or enter.name != info.name or enter.param_index(key) < 0:
        return None
    return enter


def entered(ev: Event) -> Entered | None:
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
        return Entered(info, th, [kept.get(p.name) for p in params])
    if params and params[0].type is ParamType.FD:
        # Calls whose enter is not kept (I/O): their fd is the thread's last fd.
        return Entered(info, th, [th.last_fd] + [None] * (len(params) - 1))
    return None


def _enter_arg(ev: Event, key: str, raw: bool) -> Any:
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
        return printable(value) if isinstance(value, bytes) else value
    text, resolved = render_arg(en, i)
    return resolved if resolved is not None else text


def _type_arg_index(info: EventInfo, key: str) -> int:
    """_arg_index's answer for every event of type ``info`` that has all its parameters."""
    if key.isdigit():
        return int(key)
    return info.param_index(key)


def _make_arg(key: str | None) -> Extractor:
    assert key is not None

    def extract(ev: Event) -> str | None:
        i = _arg_index(ev, key)
        if i < 0:
            return _enter_arg(ev, key, False) if ev.info.param_index(key) < 0 else None
        raw, resolved = render_arg(ev, i)
        return resolved if resolved is not None else raw

    def from_enter(ev: Event) -> str | None:
        return _enter_arg(ev, key, False)

    def specialiser(info: EventInfo) -> Extractor | Known:
        i = _type_arg_index(info, key)
        if i < 0:
            return from_enter if _enter_info(info, key) is not None else Known(None)
        pinfo = info.params[i] if i < len(info.params) else None
        if (
            pinfo is not None
            and pinfo.flags
            and pinfo.type in (ParamType.FLAGS8, ParamType.FLAGS16, ParamType.FLAGS32)
        ):

            def flags_arg(ev: Event) -> str | None:
                # render_arg of a flags parameter, inlined
                if i >= ev.nparams:
                    return None
                value = ev.param(i)
                if value is None:
                    return ""
                return flag_names(pinfo, value) or str(value)

            return flags_arg

        def arg(ev: Event) -> str | None:
            if i >= ev.nparams:
                return None
            raw, resolved = render_arg(ev, i)
            return resolved if resolved is not None else raw

        return arg

    return specialised_by(specialiser)(extract)


def _make_rawarg(key: str | None) -> Extractor:
    assert key is not None

    def extract(ev: Event) -> Any:
        i = _arg_index(ev, key)
        if i < 0:
            return _enter_arg(ev, key, True) if ev.info.param_index(key) < 0 else None
        value = ev.param(i)
        if isinstance(value, bytes):
            return printable(value)
        return value

    def from_enter(ev: Event) -> Any:
        return _enter_arg(ev, key, True)

    def specialiser(info: EventInfo) -> Extractor | Known:
        i = _type_arg_index(info, key)
        if i < 0:
            return from_enter if _enter_info(info, key) is not None else Known(None)

        def rawarg(ev: Event) -> Any:
            if i >= ev.nparams:
                return None
            value = ev.param(i)
            if isinstance(value, bytes):
                return printable(value)
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
