"""Write scap capture files (:class:`ScapWriter`: V2 blocks sysdig reads) and encode
synthetic events for tests (:func:`encode_event`, :meth:`ScapWriter.write_event`)."""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO

from sentry.capture.scapmeta import (
    DF_STATE_ONLY,
    EV_V2,
    EV_V2_LARGE,
    EVF_V2,
    EVF_V2_LARGE,
    FD_FILE_V2,
    FD_IPV4_SERVSOCK,
    FD_IPV4_SOCK,
    FD_IPV6_SERVSOCK,
    FD_IPV6_SOCK,
    FD_UNIX_SOCK,
    FDL_V2,
    II_IPV4,
    II_IPV6,
    IL_V2,
    MI,
    MI_RECORD,
    PL_V9,
    SHB,
    SHB_MAGIC,
    U16,
    U32,
    UL_V2,
    FdEntry,
    GroupEntry,
    Interface,
    MachineInfo,
    ThreadEntry,
    UserEntry,
)
from sentry.errors import CaptureError
from sentry.events.event import (
    _SIGNED,
    AF_INET,
    AF_UNIX,
    HEADER,
    HEADER_LEN,
    Event,
    FdList,
    SockAddr,
    SockTuple,
)
from sentry.events.table import EVENTS, SCALAR_SIZES, ParamType
from sentry.events.wire import (
    BLOCK_HEAD,
    BLOCK_HEAD_LEN,
    BLOCK_TRAILER_LEN,
    SECTION,
    SOCKADDR,
    SOCKTUPLE,
)


def _pad(n: int) -> int:
    return (n + 3) & ~3


def _block(btype: int, payload: bytes) -> bytes:
    total = BLOCK_HEAD_LEN + _pad(len(payload)) + BLOCK_TRAILER_LEN
    return b"".join(
        (
            BLOCK_HEAD.pack(btype, total),
            payload,
            b"\0" * (_pad(len(payload)) - len(payload)),
            U32.pack(total),
        )
    )


def _lstr(value: str | bytes) -> bytes:
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return U16.pack(len(raw)) + raw


# scap's limits on a process-list entry's strings (SCAP_MAX_ARGS_SIZE, _ENV_SIZE,
# _CGROUPS_SIZE): sysdig refuses a whole file whose list has a longer one.
SCAP_MAX_LIST_BYTES = 4096
LIST_MAX = SCAP_MAX_LIST_BYTES


def _nul_list(items: Sequence[str], limit: int | None = None) -> bytes:
    """NUL-terminated strings; with ``limit``, whole ones only up to that many bytes (as
    /proc gives scap at most that much of a process's arguments or environment)."""
    out = b""
    for s in items:
        item = s.encode("utf-8", "surrogateescape") + b"\0"
        if limit is not None and len(out) + len(item) > limit:
            break
        out += item
    return out


def _pack_ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split(".")) if text else b"\0\0\0\0"


def _pack_ip6(text: str) -> bytes:
    import ipaddress

    return ipaddress.IPv6Address(text).packed if text else b"\0" * 16


def encode_value(ptype: ParamType, value: Any) -> bytes:
    """Encode one parameter value the way the drivers write it (None: empty parameter)."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    size = SCALAR_SIZES.get(ptype)
    if size is not None and isinstance(value, int):
        if ptype in _SIGNED:
            return value.to_bytes(size, "little", signed=True)
        return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    if ptype in (ParamType.CHARBUF, ParamType.FSPATH, ParamType.FSRELPATH):
        return str(value).encode("utf-8", "surrogateescape") + b"\0"
    if ptype in (ParamType.BYTEBUF, ParamType.CHARBUFARRAY):
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        return _nul_list(value)
    if ptype is ParamType.SOCKADDR and isinstance(value, SockAddr):
        return _encode_sockaddr(value)
    if ptype is ParamType.SOCKTUPLE and isinstance(value, SockTuple):
        return _encode_socktuple(value)
    if ptype is ParamType.FDLIST and isinstance(value, FdList):
        return U16.pack(len(value.entries)) + b"".join(
            fd.to_bytes(8, "little", signed=True) + U16.pack(flags) for fd, flags in value.entries
        )
    raise TypeError(f"cannot encode {value!r} as {ptype.name}")


def _pack_ip(family: int, text: str | None) -> bytes:
    return _pack_ip4(text or "") if family == AF_INET else _pack_ip6(text or "")


def _encode_sockaddr(sa: SockAddr) -> bytes:
    """A PT_SOCKADDR parameter (layout: sentry.events.wire.SOCKADDR)."""
    lay = SOCKADDR.get(sa.family)
    if sa.family == AF_UNIX:
        return bytes([sa.family]) + (sa.path or "").encode("utf-8", "surrogateescape") + b"\0"
    if lay is None:
        return bytes([sa.family])
    return lay.record.pack(sa.family, _pack_ip(sa.family, sa.addr), sa.port or 0)


def _encode_socktuple(st: SockTuple) -> bytes:
    """A PT_SOCKTUPLE parameter (layout: sentry.events.wire.SOCKTUPLE)."""
    lay = SOCKTUPLE.get(st.family)
    if lay is None:
        return bytes([st.family])
    if st.family == AF_UNIX:
        path = (st.path or "").encode("utf-8", "surrogateescape") + b"\0"
        return lay.record.pack(st.family, st.source or 0, st.dest or 0) + path
    sip, dip = _pack_ip(st.family, st.sip), _pack_ip(st.family, st.dip)
    return lay.record.pack(st.family, sip, st.sport or 0, dip, st.dport or 0)


def encode_event(etype: int, values: Sequence[Any], *, ts: int, tid: int) -> bytes:
    """A complete V2 scap record for event ``etype`` with these parameter values."""
    info = EVENTS[etype]
    if len(values) > info.nparams:
        raise ValueError(f"{info.name}{info.direction} takes {info.nparams} parameters")
    raws = []
    for pinfo, value in zip(info.params, values, strict=False):
        ptype = pinfo.type
        if ptype is ParamType.DYN and isinstance(value, tuple):
            index, inner = value
            raws.append(bytes([index]) + encode_value(pinfo.dynamic[index][0], inner))
        else:
            raws.append(encode_value(ptype, value))
    fmt = "I" if info.large_payload else "H"
    lens = struct.pack(f"<{len(raws)}{fmt}", *(len(r) for r in raws))
    total = HEADER_LEN + len(lens) + sum(len(r) for r in raws)
    return HEADER.pack(ts, tid, total, etype, len(raws)) + lens + b"".join(raws)


class ScapWriter:
    """Write a .scap file of V2 blocks that sysdig 0.29 reads.

    Metadata goes first: pass ``machine``, ``threads``, ``fds``, ``users``/``groups`` and
    ``interfaces`` to the constructor (all optional). Then add events with
    :meth:`write_event` (build one from values), :meth:`write_record` (raw scap bytes)
    or :meth:`write_events` (Events from any source). ``compress=True`` writes gzip.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        machine: MachineInfo | None = None,
        threads: Iterable[ThreadEntry] = (),
        fds: Iterable[FdEntry] = (),
        users: Iterable[UserEntry] = (),
        groups: Iterable[GroupEntry] = (),
        interfaces: Iterable[Interface] = (),
        compress: bool = False,
    ):
        self.path = os.fspath(path)
        try:
            raw: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        except OSError as err:
            raise CaptureError(
                f"cannot write capture: {err.strerror or err}", path=self.path
            ) from None
        self._raw = raw
        self._out: gzip.GzipFile | BinaryIO = (
            gzip.GzipFile(fileobj=raw, mode="wb") if compress else raw
        )
        self.count = 0
        self._ts = 0
        shb = SECTION.pack(SHB_MAGIC, 1, 2, -1)
        self._write(_block(SHB, shb))
        m = machine or MachineInfo()
        host = m.hostname.encode("utf-8")[:127]
        self._write(
            _block(MI, MI_RECORD.pack(m.num_cpus, m.memory_size_bytes, m.max_pid, host, 0, 0, 0, 0))
        )
        ifaces = list(interfaces)
        if ifaces:
            self._write(_block(IL_V2, b"".join(self._interface(i) for i in ifaces)))
        entries = [self._user(u) for u in users] + [self._group(g) for g in groups]
        if entries:
            self._write(_block(UL_V2, b"".join(entries)))
        thread_list = list(threads)
        if thread_list:
            self._write(_block(PL_V9, b"".join(self._thread(t) for t in thread_list)))
        by_tid: dict[int, list[FdEntry]] = {}
        for fd in fds:
            by_tid.setdefault(fd.tid, []).append(fd)
        for tid, fd_list in by_tid.items():
            body = struct.pack("<Q", tid) + b"".join(self._fd(f) for f in fd_list)
            self._write(_block(FDL_V2, body))

    def _write(self, data: bytes) -> None:
        try:
            self._out.write(data)
        except OSError as err:
            raise CaptureError(
                f"cannot write capture: {err.strerror or err}", path=self.path
            ) from None

    @staticmethod
    def _interface(i: Interface) -> bytes:
        name = i.name.encode()
        if i.family == 6:
            body = (
                U16.pack(II_IPV6)
                + U16.pack(len(name))
                + _pack_ip6(i.addr)
                + _pack_ip6(i.netmask)
                + _pack_ip6(i.bcast)
            )
        else:
            body = (
                U16.pack(II_IPV4)
                + U16.pack(len(name))
                + _pack_ip4(i.addr)
                + _pack_ip4(i.netmask)
                + _pack_ip4(i.bcast)
            )
        body += struct.pack("<Q", i.linkspeed) + name
        return U32.pack(len(body)) + body

    @staticmethod
    def _user(u: UserEntry) -> bytes:
        body = (
            b"\0"
            + struct.pack("<II", u.uid, u.gid)
            + _lstr(u.name)
            + _lstr(u.homedir)
            + _lstr(u.shell)
        )
        return U32.pack(len(body) + 4) + body

    @staticmethod
    def _group(g: GroupEntry) -> bytes:
        body = b"\1" + U32.pack(g.gid) + _lstr(g.name)
        return U32.pack(len(body) + 4) + body

    @staticmethod
    def _thread(t: ThreadEntry) -> bytes:
        body = b"".join(
            (
                struct.pack("<QQQqq", t.tid, t.pid, t.ptid, t.sid, t.vpgid),
                _lstr(t.comm),
                _lstr(t.exe),
                _lstr(t.exepath),
                _lstr(_nul_list(t.args, LIST_MAX)),
                _lstr(t.cwd),
                struct.pack(
                    "<QIIIIIIQQ",
                    t.fdlimit,
                    t.flags,
                    t.uid,
                    t.gid,
                    t.vmsize_kb,
                    t.vmrss_kb,
                    t.vmswap_kb,
                    t.pfmajor,
                    t.pfminor,
                ),
                _lstr(_nul_list(t.env, LIST_MAX)),
                struct.pack("<qq", t.vtid, t.vpid),
                _lstr(_nul_list(t.cgroups, LIST_MAX)),
                _lstr(t.root),
                U32.pack(t.loginuid & 0xFFFFFFFF),
            )
        )
        return U32.pack(len(body) + 4) + body

    @staticmethod
    def _fd(f: FdEntry) -> bytes:
        body = struct.pack("<qQB", f.fd, f.ino, f.type)
        if f.type == FD_IPV4_SOCK:
            body += (
                _pack_ip4(f.sip)
                + _pack_ip4(f.dip)
                + struct.pack("<HHB", f.sport, f.dport, f.l4proto)
            )
        elif f.type == FD_IPV4_SERVSOCK:
            body += _pack_ip4(f.sip) + struct.pack("<HB", f.sport, f.l4proto)
        elif f.type == FD_IPV6_SOCK:
            body += (
                _pack_ip6(f.sip)
                + _pack_ip6(f.dip)
                + struct.pack("<HHB", f.sport, f.dport, f.l4proto)
            )
        elif f.type == FD_IPV6_SERVSOCK:
            body += _pack_ip6(f.sip) + struct.pack("<HB", f.sport, f.l4proto)
        elif f.type == FD_UNIX_SOCK:
            body += struct.pack("<QQ", f.source, f.dest) + _lstr(f.name)
        elif f.type == FD_FILE_V2:
            body += U32.pack(f.open_flags) + _lstr(f.name) + U32.pack(f.dev)
        else:
            body += _lstr(f.name)
        return U32.pack(len(body) + 4) + body

    def write_record(
        self, record: bytes | memoryview, cpu: int = 0, *, state_only: bool = False
    ) -> None:
        """Append one V2 scap record (header + lengths + parameters) as an event block.

        ``state_only`` writes it flagged SCAP_DF_STATE_ONLY (sysdig's fatfile mode): readers
        update their state with it but do not show it.
        """
        etype = HEADER.unpack_from(record)[3]
        info = EVENTS.get(etype)
        large = info is not None and info.large_payload
        if state_only:
            btype = EVF_V2_LARGE if large else EVF_V2
            self._write(_block(btype, U16.pack(cpu) + U32.pack(DF_STATE_ONLY) + bytes(record)))
        else:
            btype = EV_V2_LARGE if large else EV_V2
            self._write(_block(btype, U16.pack(cpu) + bytes(record)))
        self.count += 1

    def write_event(
        self, etype: int | str, *values: Any, ts: int | None = None, tid: int = 1, cpu: int = 0
    ) -> bytes:
        """Build and append event ``etype`` (a number, or "name>" / "name<") from values.

        Timestamps default to one nanosecond after the previous event. Returns the record.
        """
        code = _event_code(etype)
        if ts is None:
            ts = self._ts + 1
        self._ts = ts
        record = encode_event(code, values, ts=ts, tid=tid)
        self.write_record(record, cpu)
        return record

    def write_events(self, events: Iterable[Event]) -> None:
        """Append events read from any source, unchanged."""
        for evt in events:
            self._ts = evt.ts
            self.write_record(evt.record(), evt.cpu)

    def close(self) -> None:
        try:
            if self._out is not self._raw:
                self._out.close()
            self._raw.close()
        except OSError as err:
            raise CaptureError(
                f"cannot write capture: {err.strerror or err}", path=self.path
            ) from None

    def __enter__(self) -> ScapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _event_code(etype: int | str) -> int:
    if isinstance(etype, int):
        return etype
    from sentry.events.table import event_by_name

    name, direction = etype[:-1], etype[-1]
    return event_by_name(name, direction).code
