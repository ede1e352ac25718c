"""scap's event table: numbers, names, directions, flags and parameter layouts.

``EVENTS[code]`` describes every scap event type (enter events even, exit events odd).
Numbers and layouts are scap's, so captures written by sysdig and by our drivers decode the
same way. ``EventType`` names each number as in ``driver/include/sentry_events.h``
(``EventType.SYSCALL_OPENAT_2_E == 306``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sentry.events._spec import EVENT_SPEC, PARAM_MACROS
from sentry.events.flagnames import FLAG_TABLES


class ParamType(enum.IntEnum):
    """scap's parameter types (PT_*), with scap's numbers."""

    NONE = 0
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    CHARBUF = 9
    BYTEBUF = 10
    ERRNO = 11
    SOCKADDR = 12
    SOCKTUPLE = 13
    FD = 14
    PID = 15
    FDLIST = 16
    FSPATH = 17
    SYSCALLID = 18
    SIGTYPE = 19
    RELTIME = 20
    ABSTIME = 21
    PORT = 22
    L4PROTO = 23
    SOCKFAMILY = 24
    BOOL = 25
    IPV4ADDR = 26
    DYN = 27
    FLAGS8 = 28
    FLAGS16 = 29
    FLAGS32 = 30
    UID = 31
    GID = 32
    DOUBLE = 33
    SIGSET = 34
    CHARBUFARRAY = 35
    CHARBUF_PAIR_ARRAY = 36
    IPV4NET = 37
    IPV6ADDR = 38
    IPV6NET = 39
    IPADDR = 40
    IPNET = 41
    MODE = 42
    FSRELPATH = 43


class PrintFormat(enum.IntEnum):
    """scap's print formats (PF_*): how a numeric parameter is shown."""

    NA = 0
    DEC = 1
    HEX = 2
    PADDED_DEC = 3
    ID = 4
    DIR = 5
    OCT = 6


class EventFlags(enum.IntFlag):
    """scap's event flags (EF_*)."""

    NONE = 0
    CREATES_FD = 1 << 0
    DESTROYS_FD = 1 << 1
    USES_FD = 1 << 2
    READS_FROM_FD = 1 << 3
    WRITES_TO_FD = 1 << 4
    MODIFIES_STATE = 1 << 5
    UNUSED = 1 << 6
    WAITS = 1 << 7
    SKIPPARSERESET = 1 << 8
    OLD_VERSION = 1 << 9
    DROP_SIMPLE_CONS = 1 << 10
    LARGE_PAYLOAD = 1 << 11


class EventCategory(enum.IntEnum):
    """scap's event categories (EC_*)."""

    UNKNOWN = 0
    OTHER = 1
    FILE = 2
    NET = 3
    IPC = 4
    MEMORY = 5
    PROCESS = 6
    SLEEP = 7
    SYSTEM = 8
    SIGNAL = 9
    USER = 10
    TIME = 11
    PROCESSING = 12
    IO_READ = 32
    IO_WRITE = 33
    IO_OTHER = 34
    WAIT = 64
    SCHEDULER = 128
    INTERNAL = 256


# PT_DYN parameters: a u8 index selects the real type of the value that follows.
DYNAMIC_TYPES: dict[str, tuple[tuple[ParamType, PrintFormat], ...]] = {
    "sockopt_dynamic": (
        (ParamType.NONE, PrintFormat.NA),
        (ParamType.ERRNO, PrintFormat.DEC),
        (ParamType.UINT32, PrintFormat.DEC),
        (ParamType.UINT64, PrintFormat.DEC),
        (ParamType.RELTIME, PrintFormat.DEC),
    ),
    "ptrace_dynamic": (
        (ParamType.UINT64, PrintFormat.HEX),
        (ParamType.SIGTYPE, PrintFormat.DEC),
    ),
    "bpf_dynamic": (
        (ParamType.FD, PrintFormat.DEC),
        (ParamType.ERRNO, PrintFormat.DEC),
    ),
}

# Fixed encoded size of each scalar type (bytes); absent: variable length.
SCALAR_SIZES: dict[ParamType, int] = {
    ParamType.INT8: 1,
    ParamType.INT16: 2,
    ParamType.INT32: 4,
    ParamType.INT64: 8,
    ParamType.UINT8: 1,
    ParamType.UINT16: 2,
    ParamType.UINT32: 4,
    ParamType.UINT64: 8,
    ParamType.ERRNO: 8,
    ParamType.FD: 8,
    ParamType.PID: 8,
    ParamType.SYSCALLID: 2,
    ParamType.SIGTYPE: 1,
    ParamType.RELTIME: 8,
    ParamType.ABSTIME: 8,
    ParamType.PORT: 2,
    ParamType.L4PROTO: 1,
    ParamType.SOCKFAMILY: 1,
    ParamType.BOOL: 4,
    ParamType.IPV4ADDR: 4,
    ParamType.FLAGS8: 1,
    ParamType.FLAGS16: 2,
    ParamType.FLAGS32: 4,
    ParamType.UID: 4,
    ParamType.GID: 4,
    ParamType.DOUBLE: 8,
    ParamType.SIGSET: 4,
    ParamType.MODE: 4,
    ParamType.IPV6ADDR: 16,
}

_STRINGISH = {
    ParamType.CHARBUF,
    ParamType.BYTEBUF,
    ParamType.SOCKADDR,
    ParamType.SOCKTUPLE,
    ParamType.FSPATH,
    ParamType.FSRELPATH,
    ParamType.CHARBUFARRAY,
    ParamType.CHARBUF_PAIR_ARRAY,
}
_FMT_LETTERS = {
    "D": PrintFormat.DEC,
    "H": PrintFormat.HEX,
    "O": PrintFormat.OCT,
    "N": PrintFormat.NA,
}
_FLAG_LETTERS = {
    "C": EventFlags.CREATES_FD,
    "D": EventFlags.DESTROYS_FD,
    "U": EventFlags.USES_FD,
    "R": EventFlags.READS_FROM_FD,
    "W": EventFlags.WRITES_TO_FD,
    "M": EventFlags.MODIFIES_STATE,
    "X": EventFlags.UNUSED,
    "A": EventFlags.WAITS,
    "S": EventFlags.SKIPPARSERESET,
    "O": EventFlags.OLD_VERSION,
    "P": EventFlags.DROP_SIMPLE_CONS,
    "L": EventFlags.LARGE_PAYLOAD,
}


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One parameter: name, type, print format, and its flag table / dirfd index if any."""

    name: str
    type: ParamType
    fmt: PrintFormat
    flags: tuple[tuple[str, int], ...] = ()  # names for FLAGS*/MODE values, in print order
    dynamic: tuple[tuple[ParamType, PrintFormat], ...] = ()  # PT_DYN: types by index
    dirfd: int = -1  # FSRELPATH: index of the dirfd parameter it is relative to


@dataclass(frozen=True, slots=True)
class EventInfo:
    """One event type: scap number, name ("openat"), direction (">" enter, "<" exit)."""

    code: int
    ident: str  # enum name without prefix, e.g. "SYSCALL_OPENAT_2_E"
    name: str
    direction: str
    category: EventCategory
    flags: EventFlags
    params: tuple[ParamInfo, ...]

    @property
    def nparams(self) -> int:
        return len(self.params)

    @property
    def is_enter(self) -> bool:
        return self.direction == ">"

    @property
    def large_payload(self) -> bool:
        """Parameter lengths are u32 (not u16) for these events."""
        return bool(self.flags & EventFlags.LARGE_PAYLOAD)

    @property
    def old_version(self) -> bool:
        return bool(self.flags & EventFlags.OLD_VERSION)

    @property
    def unused(self) -> bool:
        return bool(self.flags & EventFlags.UNUSED)

    def param_index(self, name: str) -> int:
        """Index of the parameter called ``name``, or -1."""
        for i, p in enumerate(self.params):
            if p.name == name:
                return i
        return -1


def _expand(params: str) -> str:
    while "@" in params:
        head, _, rest = params.partition("@")
        macro, sep, tail = rest.partition(",")
        params = head + PARAM_MACROS[macro.strip()] + (sep + tail if sep else "")
    return params


def _parse_param(text: str) -> ParamInfo:
    name, *rest = text.strip().split(":")
    ptype = ParamType[rest[0]]
    fmt = PrintFormat.NA if ptype in _STRINGISH else PrintFormat.DEC
    if ptype is ParamType.FDLIST:
        fmt = PrintFormat.DEC
    if len(rest) > 1:
        fmt = _FMT_LETTERS[rest[1]]
    info = rest[2] if len(rest) > 2 else ""
    if ptype is ParamType.FSRELPATH:
        return ParamInfo(name, ptype, fmt, dirfd=int(info))
    if ptype is ParamType.DYN:
        return ParamInfo(name, ptype, fmt, dynamic=DYNAMIC_TYPES[info])
    return ParamInfo(name, ptype, fmt, flags=FLAG_TABLES[info] if info else ())


def _parse_event(code: int, ident: str, line: str) -> EventInfo:
    head, _, params = line.partition("|")
    direction, name, category, flag_letters = head.split()
    flags = EventFlags.NONE
    for letter in flag_letters.strip("-"):
        flags |= _FLAG_LETTERS[letter]
    plist = _expand(params).strip()
    parsed = tuple(_parse_param(p) for p in plist.split(",")) if plist else ()
    return EventInfo(code, ident, name, direction, EventCategory[category], flags, parsed)


def _build() -> dict[int, EventInfo]:
    events: dict[int, EventInfo] = {}
    ident = ""
    for raw in EVENT_SPEC.strip().splitlines():
        line = raw.strip()
        if line.startswith("="):
            ident = line[1:].strip()
        elif line.startswith(">"):
            code = len(events)
            events[code] = _parse_event(code, ident + "_E", line)
        elif line.startswith("<"):
            code = len(events)
            events[code] = _parse_event(code, ident + "_X", line)
    return events


EVENTS: dict[int, EventInfo] = _build()
EVENT_MAX = len(EVENTS)

# Event types sysdig 0.29 knows (it skips higher numbers when reading a capture).
SYSDIG_029_EVENT_MAX = 336

EventType = enum.IntEnum(  # type: ignore[misc]
    "EventType", {info.ident: code for code, info in EVENTS.items()}
)

_BY_NAME: dict[tuple[str, str], list[EventInfo]] = {}
for _info in EVENTS.values():
    _BY_NAME.setdefault((_info.name, _info.direction), []).append(_info)


def event_by_name(name: str, direction: str) -> EventInfo:
    """The current (newest, not old-version) event called ``name`` in ``direction``, of
    the generation sysdig 0.29 reads when there is one (the one our drivers write: libs'
    later ``dup``, ``bpf``, ``pipe2`` ... events are read, not written).

    ``direction`` is ">" (enter) or "<" (exit). Raises KeyError when there is none.
    """
    candidates = _BY_NAME[(name, direction)]
    current = [e for e in candidates if not e.old_version and not e.unused]
    readable = [e for e in current if e.code < SYSDIG_029_EVENT_MAX]
    return (readable or current or candidates)[-1]


def events_named(name: str) -> list[EventInfo]:
    """Every event type (all versions, both directions) called ``name``."""
    return [e for e in EVENTS.values() if e.name == name]
