"""The lazily decoded scap event every layer above capture works with.

An :class:`Event` is a view on scap bytes (a capture file block or a ring buffer record):
only the 26-byte header is read up front. Parameter lengths and offsets are computed the
first time a parameter is asked for, and each value is decoded only when read. Events from
a live ring point into shared memory and stay valid until the source's next batch;
:meth:`Event.detach` copies one out so it can be kept.

Decoded values: ``int`` for integer, fd, pid, errno (negative), flags, uid and time types;
``str`` for CHARBUF/FSPATH/FSRELPATH (utf-8, surrogateescape, no NUL); ``bytes`` for
BYTEBUF; ``list[str]`` for CHARBUFARRAY; :class:`SockAddr`, :class:`SockTuple` and
:class:`FdList` for the structured types; ``None`` for an empty (absent) parameter.
"""

from __future__ import annotations

import mmap
import socket
import struct
from dataclasses import dataclass
from typing import Any, TypeAlias

from sentry.errors import CaptureError
from sentry.events.table import EVENTS, EventInfo, ParamInfo, ParamType
from sentry.events.wire import AF, HEADER, HEADER_LEN, SOCKADDR, SOCKTUPLE

# What an event's bytes can live in: a file's bytes or mapping, a ring's memoryview.
Buffer: TypeAlias = bytes | bytearray | memoryview | mmap.mmap

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

# scap's portable socket families (PPM_AF_*): sentry.events.wire.AF
AF_UNIX = AF["UNIX"]
AF_INET = AF["INET"]
AF_INET6 = AF["INET6"]

_SIGNED = frozenset(
    {
        ParamType.INT8,
        ParamType.INT16,
        ParamType.INT32,
        ParamType.INT64,
        ParamType.ERRNO,
        ParamType.FD,
        ParamType.PID,
    }
)
_UNSIGNED = frozenset(
    {
        ParamType.UINT8,
        ParamType.UINT16,
        ParamType.UINT32,
        ParamType.UINT64,
        ParamType.SYSCALLID,
        ParamType.SIGTYPE,
        ParamType.RELTIME,
        ParamType.ABSTIME,
        ParamType.PORT,
        ParamType.L4PROTO,
        ParamType.SOCKFAMILY,
        ParamType.BOOL,
        ParamType.FLAGS8,
        ParamType.FLAGS16,
        ParamType.FLAGS32,
        ParamType.UID,
        ParamType.GID,
        ParamType.SIGSET,
        ParamType.MODE,
    }
)
_STRINGS = frozenset({ParamType.CHARBUF, ParamType.FSPATH, ParamType.FSRELPATH})
# Integers read in place by their stored width (as _signed/_unsigned would decode them).
_SIGNED_READERS = {n: struct.Struct(f"<{c}") for n, c in ((1, "b"), (2, "h"), (4, "i"), (8, "q"))}
_UNSIGNED_READERS = {n: struct.Struct(f"<{c}") for n, c in ((1, "B"), (2, "H"), (4, "I"), (8, "Q"))}


@dataclass(frozen=True, slots=True)
class SockAddr:
    """A socket address: family plus ip/port (inet) or path (unix)."""

    family: int
    addr: str | None = None
    port: int | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class SockTuple:
    """A connection: source and destination (inet), or unix endpoints and path."""

    family: int
    sip: str | None = None
    sport: int | None = None
    dip: str | None = None
    dport: int | None = None
    path: str | None = None
    source: int | None = None  # unix: kernel address of the source socket
    dest: int | None = None  # unix: kernel address of the peer socket


@dataclass(frozen=True, slots=True)
class FdList:
    """poll()-style fd list: (fd, event flags) pairs."""

    entries: tuple[tuple[int, int], ...]


def _text(raw: bytes) -> str:
    nul = raw.find(b"\0")
    if nul >= 0:
        raw = raw[:nul]
    return raw.decode("utf-8", "surrogateescape")


def _ipv4(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET, raw)


def _ipv6(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, raw)


_INET_TEXT = {AF_INET: _ipv4, AF_INET6: _ipv6}


def decode_sockaddr(raw: bytes) -> SockAddr | None:
    """A PT_SOCKADDR parameter (layout: sentry.events.wire.SOCKADDR)."""
    if not raw:
        return None
    family = raw[0]
    if family == AF_UNIX:
        return SockAddr(family, path=_text(raw[SOCKADDR[AF_UNIX].offsets["path"] :]))
    lay = SOCKADDR.get(family)
    if lay is None or len(raw) < lay.size:
        return SockAddr(family)
    _, addr, port = lay.record.unpack_from(raw)
    return SockAddr(family, _INET_TEXT[family](addr), port)


def decode_socktuple(raw: bytes) -> SockTuple | None:
    """A PT_SOCKTUPLE parameter (layout: sentry.events.wire.SOCKTUPLE)."""
    if not raw:
        return None
    family = raw[0]
    lay = SOCKTUPLE.get(family)
    if lay is None or len(raw) < lay.size:
        return SockTuple(family)
    if family == AF_UNIX:
        _, source, dest = lay.record.unpack_from(raw)
        return SockTuple(family, path=_text(raw[lay.offsets["path"] :]), source=source, dest=dest)
    _, sip, sport, dip, dport = lay.record.unpack_from(raw)
    text = _INET_TEXT[family]
    return SockTuple(family, text(sip), sport, text(dip), dport)


def decode_fdlist(raw: bytes) -> FdList | None:
    if len(raw) < 2:
        return None
    count = int.from_bytes(raw[:2], "little")
    count = min(count, (len(raw) - 2) // 10)
    entries = tuple(
        (
            int.from_bytes(raw[2 + 10 * i : 10 + 10 * i], "little", signed=True),
            int.from_bytes(raw[10 + 10 * i : 12 + 10 * i], "little"),
        )
        for i in range(count)
    )
    return FdList(entries)


def decode_value(ptype: ParamType, raw: bytes, param: ParamInfo | None = None) -> Any:
    """Decode one parameter's bytes according to its scap type."""
    if not raw:
        return None
    if ptype in _SIGNED:
        return int.from_bytes(raw, "little", signed=True)
    if ptype in _UNSIGNED:
        return int.from_bytes(raw, "little")
    if ptype in _STRINGS:
        return _text(raw)
    if ptype is ParamType.BYTEBUF:
        return bytes(raw)
    if ptype is ParamType.SOCKADDR:
        return decode_sockaddr(raw)
    if ptype is ParamType.SOCKTUPLE:
        return decode_socktuple(raw)
    if ptype is ParamType.FDLIST:
        return decode_fdlist(raw)
    if ptype is ParamType.CHARBUFARRAY:
        return [s.decode("utf-8", "surrogateescape") for s in bytes(raw).split(b"\0") if s]
    if ptype is ParamType.DYN and param is not None and param.dynamic:
        index = raw[0]
        if index < len(param.dynamic):
            return decode_value(param.dynamic[index][0], raw[1:])
        return bytes(raw[1:])
    if ptype is ParamType.DOUBLE and len(raw) == 8:
        return struct.unpack("<d", raw)[0]
    if ptype is ParamType.IPV4ADDR and len(raw) == 4:
        return _ipv4(bytes(raw))
    if ptype is ParamType.IPV6ADDR and len(raw) == 16:
        return _ipv6(bytes(raw))
    return bytes(raw)


def _signed(raw: bytes) -> int:
    return int.from_bytes(raw, "little", signed=True)


def _unsigned(raw: bytes) -> int:
    return int.from_bytes(raw, "little")


# Fast decoders by type; types absent here go through decode_value().
_DECODERS: dict[ParamType, Any] = {t: _signed for t in _SIGNED}
_DECODERS.update({t: _unsigned for t in _UNSIGNED})
_DECODERS.update({t: _text for t in _STRINGS})
_DECODERS[ParamType.BYTEBUF] = bytes
_DECODERS[ParamType.SOCKTUPLE] = decode_socktuple
_DECODERS[ParamType.SOCKADDR] = decode_sockaddr
_DECODERS[ParamType.FDLIST] = decode_fdlist


class _TypeLayout:
    """What decoding one event type needs, worked out once per type: the width of its
    parameter lengths, each parameter's decoder and an index of parameter names."""

    __slots__ = ("decoders", "index", "info", "ints", "own_lengths", "structs", "wide", "width")

    def __init__(self, info: EventInfo) -> None:
        self.info = info
        self.wide = info.large_payload
        self.width = 4 if self.wide else 2
        self.index: dict[str, int] = {}
        for i, p in enumerate(info.params):
            self.index.setdefault(p.name, i)
        self.decoders = tuple(_decoder(p) for p in info.params)
        # For integer parameters, the in-place readers by width (None: use the decoder).
        self.ints = tuple(
            _SIGNED_READERS
            if p.type in _SIGNED
            else _UNSIGNED_READERS
            if p.type in _UNSIGNED
            else None
            for p in info.params
        )
        self.own_lengths = struct.Struct(f"<{len(info.params)}{'I' if self.wide else 'H'}")
        # Length readers for 0 .. all parameters, by count (old captures carry fewer).
        self.structs = tuple(self.lengths(n) for n in range(len(info.params) + 1))

    def lengths(self, n: int) -> struct.Struct:
        """The struct reading ``n`` parameter lengths."""
        if n == len(self.info.params):
            return self.own_lengths
        key = (self.wide, n)
        lens = _LENGTHS.get(key)
        if lens is None:
            lens = _LENGTHS[key] = struct.Struct(f"<{n}{'I' if self.wide else 'H'}")
        return lens


def _decoder(pinfo: ParamInfo) -> Any:
    fast = _DECODERS.get(pinfo.type)
    if fast is not None:
        return fast
    return lambda raw: decode_value(pinfo.type, raw, pinfo)


_LENGTHS: dict[tuple[bool, int], struct.Struct] = {}
_UNREAD: Any = object()  # Event.flags() not called yet
_LAYOUTS: dict[int, _TypeLayout] = {}


def _type_layout(info: EventInfo) -> _TypeLayout:
    layout = _LAYOUTS.get(info.code)
    if layout is None or layout.info is not info:
        layout = _TypeLayout(info)
        if EVENTS.get(info.code) is info:
            _LAYOUTS[info.code] = layout
    return layout


def first_param_kinds(ntypes: int) -> bytes:
    """For a C reader, by event type: 1 if parameter 0 is a signed integer, 2 unsigned, 0
    anything else; plus 4 when the type's parameter lengths are u32."""
    kinds = bytearray(ntypes)
    for code, info in EVENTS.items():
        if 0 <= code < ntypes and info.params:
            ptype = info.params[0].type
            kind = 1 if ptype in _SIGNED else 2 if ptype in _UNSIGNED else 0
            kinds[code] = kind | (4 if info.large_payload else 0)
    return bytes(kinds)


class LazyFd:
    """An ``Event.fdinfo`` made only when read: the inspector that keeps fds in C sets one,
    and :meth:`resolve` asks it for the fd of the event (while it is the current one)."""

    __slots__ = ()

    def resolve(self, ev: Event) -> Any:
        raise NotImplementedError


class Event:
    """One scap event: header fields up front, parameters decoded on demand."""

    __slots__ = (
        "_arg0",
        "_buf",
        "_data",
        "_fdinfo",
        "_flags",
        "_kind",
        "_lens",
        "_off",
        "cpu",
        "info",
        "len",
        "nparams",
        "num",
        "state_only",
        "thread",
        "tid",
        "ts",
        "type",
    )

    def __init__(
        self,
        buf: Buffer,
        off: int,
        num: int,
        cpu: int,
        ts: int,
        tid: int,
        length: int,
        etype: int,
        nparams: int,
        info: EventInfo | None = None,
        arg0: int | None = None,
    ):
        self._buf = buf
        self._off = off
        self._arg0 = arg0  # parameter 0 decoded already (by the C block walker), or None
        self._lens: tuple[int, ...] | None = None
        self._flags: Any = _UNREAD  # the "flags" parameter, once flags() has read it
        # Set with _lens, on the first parameter read: where the parameters' bytes start,
        # and the _TypeLayout of this event's type (_kind). Unset until then.
        self._data: int
        self._kind: _TypeLayout
        self.num = num
        self.cpu = cpu
        self.ts = ts
        self.tid = tid
        self.len = length
        self.type = etype
        self.nparams = nparams
        self.info = info if info is not None else EVENTS[etype]
        self.thread: Any = None
        self._fdinfo: Any = None
        # True for events a capture keeps only to rebuild state (sysdig's fatfile mode):
        # feed them to the inspector, never show them or match rules on them.
        self.state_only = False

    @property
    def fdinfo(self) -> Any:
        """The fd this event is about (an ``FdInfo``, set by the inspector), or None."""
        info = self._fdinfo
        if isinstance(info, LazyFd):
            info = self._fdinfo = info.resolve(self)
        return info

    @fdinfo.setter
    def fdinfo(self, value: Any) -> None:
        self._fdinfo = value

    @property
    def buffer(self) -> Buffer:
        """The buffer the record is in (a capture's data, a ring, its own bytes)."""
        return self._buf

    @property
    def offset(self) -> int:
        """Where the record starts in :attr:`buffer`."""
        return self._off

    @classmethod
    def parse(cls, buf: Buffer, off: int = 0, num: int = 0, cpu: int = 0) -> Event:
        """Build an event from the scap record at ``buf[off:]`` (header checked)."""
        if len(buf) - off < HEADER_LEN:
            raise CaptureError("event shorter than its header", offset=off)
        ts, tid, length, etype, nparams = HEADER.unpack_from(buf, off)
        if etype not in EVENTS:
            raise CaptureError(f"unknown event type {etype}", offset=off)
        if length < HEADER_LEN or length > len(buf) - off:
            raise CaptureError(f"event length {length} out of bounds", offset=off)
        return cls(buf, off, num, cpu, ts, tid, length, etype, nparams)

    def __repr__(self) -> str:
        return (
            f"Event(num={self.num}, ts={self.ts}, tid={self.tid}, "
            f"type={self.info.name}{self.info.direction}, nparams={self.nparams})"
        )

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def direction(self) -> str:
        return self.info.direction

    def _layout(self) -> tuple[int, ...]:
        """Parameter lengths (and where their bytes start), read once; CaptureError if they
        overrun the event."""
        lens = self._lens
        if lens is None:
            n = self.nparams
            layout = _LAYOUTS.get(self.type)
            if layout is None or layout.info is not self.info:
                layout = _type_layout(self.info)
            off = self._off
            data = off + HEADER_LEN + n * layout.width
            if data - off > self.len:
                raise CaptureError("parameter lengths overrun the event", offset=off)
            structs = layout.structs
            lengths = structs[n] if n < len(structs) else layout.lengths(n)
            lens = lengths.unpack_from(self._buf, off + HEADER_LEN)
            if data + sum(lens) > off + self.len:
                raise CaptureError("parameters overrun the event", offset=off)
            self._data = data
            self._kind = layout
            self._lens = lens
        return lens

    def _span(self, i: int) -> tuple[int, int]:
        lens = self._layout()
        if not 0 <= i < len(lens):
            raise IndexError(f"{self.info.name} has {len(lens)} parameters, not {i + 1}")
        return self._data + sum(lens[:i]), lens[i]

    def raw(self, i: int) -> bytes | memoryview:
        """Parameter ``i`` as stored (a memoryview into the source's buffer when zero copy)."""
        pos, size = self._span(i)
        buf = self._buf
        if isinstance(buf, bytes):
            return buf[pos : pos + size]
        return memoryview(buf)[pos : pos + size]

    def param_info(self, i: int) -> ParamInfo | None:
        params = self.info.params
        return params[i] if i < len(params) else None

    def param(self, i: int) -> Any:
        """Parameter ``i`` decoded per the event table (bytes when the table has no entry)."""
        lens = self._lens
        if lens is None:
            if i == 0 and self.nparams:
                arg0 = self._arg0
                return arg0 if arg0 is not None else self._first_param()
            lens = self._layout()
        if not 0 <= i < len(lens):
            raise IndexError(f"{self.info.name} has {len(lens)} parameters, not {i + 1}")
        size = lens[i]
        if not size:
            return None
        data = self._data
        start = data + sum(lens[:i]) if i > 1 else data + lens[0] if i else data
        kind = self._kind
        if i < len(kind.ints):
            readers = kind.ints[i]
            if readers is not None:
                reader = readers.get(size)
                if reader is not None:
                    return reader.unpack_from(self._buf, start)[0]
        raw = self._buf[start : start + size]
        if type(raw) is not bytes:  # a ring's memoryview: copied out (bytes, mmap: already)
            raw = bytes(raw)
        decoders = kind.decoders
        if i >= len(decoders):
            return raw
        return decoders[i](raw)

    def _first_param(self) -> Any:
        """Parameter 0 without reading the other lengths (fd-using and most exit events
        need only that one)."""
        layout = _LAYOUTS.get(self.type)
        if layout is None or layout.info is not self.info:
            layout = _type_layout(self.info)
        off = self._off
        n = self.nparams
        data = off + HEADER_LEN + n * layout.width
        if data - off > self.len:
            raise CaptureError("parameter lengths overrun the event", offset=off)
        buf = self._buf
        size = (_U32 if layout.wide else _U16).unpack_from(buf, off + HEADER_LEN)[0]
        if data + size > off + self.len:
            raise CaptureError("parameters overrun the event", offset=off)
        if not size:
            return None
        raw = buf[data : data + size]
        if type(raw) is not bytes:
            raw = bytes(raw)
        if not layout.decoders:
            return raw
        return layout.decoders[0](raw)

    def param_by_name(self, name: str) -> Any:
        """The parameter called ``name`` decoded, or None if this event has no such one."""
        if self._lens is not None:
            kind = self._kind
        else:
            kind = _LAYOUTS.get(self.type)  # type: ignore[assignment]
            if kind is None or kind.info is not self.info:
                kind = _type_layout(self.info)
        i = kind.index.get(name, -1)
        if i < 0 or i >= self.nparams:
            return None
        lens = self._lens
        if lens is None:
            if i == 0:
                arg0 = self._arg0
                return arg0 if arg0 is not None else self._first_param()
            lens = self._layout()
        if i >= len(lens):
            raise IndexError(f"{self.info.name} has {len(lens)} parameters, not {i + 1}")
        # As param(i), inlined: this is the inspector's and the fields' hot path.
        size = lens[i]
        if not size:
            return None
        data = self._data
        start = data + sum(lens[:i]) if i > 1 else data + lens[0] if i else data
        kind = self._kind
        if i < len(kind.ints):
            readers = kind.ints[i]
            if readers is not None:
                reader = readers.get(size)
                if reader is not None:
                    return reader.unpack_from(self._buf, start)[0]
        raw = self._buf[start : start + size]
        if type(raw) is not bytes:
            raw = bytes(raw)
        decoders = kind.decoders
        if i >= len(decoders):
            return raw
        return decoders[i](raw)

    def flags(self) -> Any:
        """``param_by_name("flags")``, decoded once: several fields test its bits."""
        flags = self._flags
        if flags is _UNREAD:
            flags = self._flags = self.param_by_name("flags")
        return flags

    def raw_by_name(self, name: str) -> bytes | memoryview | None:
        kind = self._kind if self._lens is not None else _type_layout(self.info)
        i = kind.index.get(name, -1)
        if i < 0 or i >= self.nparams:
            return None
        return self.raw(i)

    def params(self) -> list[tuple[str, Any]]:
        """All parameters as (name, value) pairs."""
        out = []
        for i in range(self.nparams):
            pinfo = self.param_info(i)
            out.append((pinfo.name if pinfo else f"param{i}", self.param(i)))
        return out

    def record(self) -> bytes:
        """The whole scap record (header, lengths, parameters) as bytes."""
        return bytes(self._buf[self._off : self._off + self.len])

    def detach(self) -> Event:
        """A copy that owns its bytes, safe to keep after the source moves on."""
        buf = self._buf
        if isinstance(buf, bytes) and self._off == 0 and len(buf) == self.len:
            return self
        copy = Event(
            self.record(),
            0,
            self.num,
            self.cpu,
            self.ts,
            self.tid,
            self.len,
            self.type,
            self.nparams,
            self.info,
            self._arg0,
        )
        if self._lens is not None:
            copy._lens = self._lens
            copy._kind = self._kind
            copy._data = self._data - self._off
        copy._flags = self._flags
        copy.thread = self.thread
        copy.fdinfo = self.fdinfo
        copy.state_only = self.state_only
        return copy
