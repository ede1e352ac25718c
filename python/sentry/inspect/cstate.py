"""The thread and fd tables kept in C (``cstate.c``), behind a small Python face.

:class:`CState` takes scap records (one at a time, or a capture's event blocks in one call)
and keeps the same state as :class:`sentry.inspect.inspector.Inspector`, which stays the
reference: ``tests/unit/test_cstate.py`` runs both over every Falco trace and a live eBPF
capture and compares them after every event. No Python object is made per event; queries
(:meth:`CState.thread`, :meth:`CState.fd`, :meth:`CState.event_fd`) build plain dicts.

Which parameter of which event type carries what comes from the event table here
(:func:`event_plan`), worked out as the inspector's ``_build_dispatch`` does, so both read
the same layouts. Not kept in C yet: containers and cgroups, env-derived fields, exe inode
times and pid-namespace start (the Python inspector still owns those).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sentry.events.event import _SIGNED, _STRINGS, _UNSIGNED, Buffer
from sentry.events.table import EVENTS, EventFlags, ParamType
from sentry.inspect.fds import FdInfo, FdType, IpAddress, Role

if TYPE_CHECKING:
    from sentry.inspect.inspector import Inspector


# cstate.c's S_* slots, in order: the parameters it reads, by name
SLOTS = (  # noqa: SIM905
    "res fd name path flags dirfd dev exe args pid ptid cwd fdlimit comm env uid gid vtid vpid "
    "tty pgid loginuid tuple fd1 fd2 ino oldfd domain type euid egid filename pathname "
    "cap_inheritable cap_permitted cap_effective addr trusted_exepath"
).split()
_MAXP = 32
_NO_RESET, _ENTER_FD, _STASH, _EXIT_FD = 1, 2, 4, 8
# cstate.c's OP_* handlers, in order
_OP_NAMES = (  # noqa: SIM905
    "none procexit clone_x execve_x open_x socket_x socketpair_x connect_e connect_x accept_x "
    "bind_x dup_x pipe_x close_x simple_x chdir_x fchdir_x setuid_x setgid_x setsid_x "
    "capset_x send_e dgram_x memfd_x"
).split()
_OPS = {name: i for i, name in enumerate(_OP_NAMES)}
_EXIT_OPS = {
    "clone": "clone_x",
    "fork": "clone_x",
    "vfork": "clone_x",
    "clone3": "clone_x",
    "execve": "execve_x",
    "execveat": "execve_x",
    "open": "open_x",
    "openat": "open_x",
    "openat2": "open_x",
    "creat": "open_x",
    "open_by_handle_at": "open_x",
    "socket": "socket_x",
    "socketpair": "socketpair_x",
    "connect": "connect_x",
    "accept": "accept_x",
    "accept4": "accept_x",
    "bind": "bind_x",
    "dup": "dup_x",
    "dup2": "dup_x",
    "dup3": "dup_x",
    "pipe": "pipe_x",
    "pipe2": "pipe_x",
    "close": "close_x",
    "chdir": "chdir_x",
    "fchdir": "fchdir_x",
    "setuid": "setuid_x",
    "setresuid": "setuid_x",
    "setgid": "setgid_x",
    "setresgid": "setgid_x",
    "setsid": "setsid_x",
    "capset": "capset_x",
    "memfd_create": "memfd_x",
}
_SIMPLE = {
    "eventfd": FdType.EVENT,
    "eventfd2": FdType.EVENT,
    "signalfd": FdType.SIGNALFD,
    "signalfd4": FdType.SIGNALFD,
    "timerfd_create": FdType.TIMERFD,
    "inotify_init": FdType.INOTIFY,
    "inotify_init1": FdType.INOTIFY,
    "epoll_create": FdType.EVENTPOLL,
    "epoll_create1": FdType.EVENTPOLL,
    "userfaultfd": FdType.USERFAULTFD,
    "io_uring_setup": FdType.IO_URING,
}
_STASHED = {
    "socket",
    "socketpair",
    "execve",
    "execveat",
    "setuid",
    "setresuid",
    "setgid",
    "setresgid",
}
_OPENS = {"open", "openat", "openat2", "creat"}
_FD_TYPES = list(FdType)
_L4 = {0: None, 1: "tcp", 2: "udp", 3: "raw", 4: "icmp"}
_L4_CODES = {v: k for k, v in _L4.items()}
_ROLES = list(Role)
NONE_FD = -(1 << 63)  # cstate.c's last_fd for "None"
ALL = (1 << 64) - 1  # feed_blocks: no limit


def _kind(ptype: ParamType) -> int:
    if ptype in _SIGNED:
        return 1
    if ptype in _UNSIGNED:
        return 2
    if ptype in _STRINGS:
        return 3
    if ptype is ParamType.BYTEBUF:
        return 4
    if ptype is ParamType.SOCKTUPLE:
        return 5
    if ptype is ParamType.SOCKADDR:
        return 6
    return 0


def event_plan(ffi: Any, ntypes: int) -> Any:
    """``struct cs_evt[ntypes]`` from the event table: what cstate.c does with each type."""
    table = ffi.new("struct cs_evt[]", ntypes)
    enter_fd: set[int] = set()
    for code in sorted(EVENTS):
        info = EVENTS[code]
        ce = table[code]
        params = info.params
        for i in range(len(SLOTS)):
            ce.slot[i] = -1
        for i, p in enumerate(params[:_MAXP]):
            ce.kind[i] = _kind(p.type)
            if p.name in SLOTS and ce.slot[SLOTS.index(p.name)] < 0:
                ce.slot[SLOTS.index(p.name)] = i
        ce.wide = 1 if info.large_payload else 0
        plan = _NO_RESET if info.flags & EventFlags.SKIPPARSERESET else 0
        names = {p.name for p in params}
        op = "none"
        if info.direction == ">":
            if (
                params
                and int(params[0].type) == int(ParamType.FD)
                and params[0].name in ("fd", "oldfd")
            ):
                plan |= _ENTER_FD
                enter_fd.add(code)
            exit_info = EVENTS.get(code + 1)
            old_open = (
                info.name in _OPENS
                and exit_info is not None
                and all(p.name != "name" for p in exit_info.params)
            )
            if info.name in _STASHED or old_open:
                plan |= _STASH
            if info.name == "procexit":
                op = "procexit"
            elif info.name == "connect":
                op = "connect_e"
            elif info.name in ("sendto", "sendmsg") and "tuple" in names:
                op = "send_e"
        else:
            if code - 1 in enter_fd:
                plan |= _EXIT_FD
            enter = EVENTS.get(code - 1)
            enter_names = {p.name for p in enter.params} if enter is not None else set()
            op = _EXIT_OPS.get(info.name, "none")
            if info.name in _SIMPLE:
                op = "simple_x"
                ce.arg = _FD_TYPES.index(_SIMPLE[info.name])
            if info.name == "creat":
                ce.arg = 1
            if info.name in ("recvfrom", "recvmsg") and "tuple" in names:
                op = "dgram_x"
            elif info.name in ("sendto", "sendmsg") and "tuple" in enter_names:
                op = "dgram_x"
                ce.arg = 1
        ce.op = _OPS[op]
        ce.plan = plan
    return table


def split_blob(raw: bytes) -> list[str]:
    """A NUL-separated list as the inspector's split_nul makes it."""
    parts = raw.decode("utf-8", errors="surrogateescape").split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def _ip_of(fam: int, raw: bytes) -> IpAddress:
    return ipaddress.ip_address(raw[:4] if fam == 4 else raw)


# struct cs_fd_out as bytes (native layout; the two string pointers skipped as 16 bytes)
_FD_OUT = struct.Struct("@q9iIQQ16s16sqqq16xIIi4x")  # + the tail padding


def _text(ffi: Any, ptr: Any, size: int) -> str:
    return bytes(ffi.buffer(ptr, size)).decode("utf-8", "surrogateescape") if size else ""


class CState:
    """The C state tracker; raises RuntimeError when it cannot be built (no compiler)."""

    def __init__(self, module: Any | None = None) -> None:
        if module is None:
            from sentry.capture._cffi.cstate import load

            module = load()
            if module is None:
                raise RuntimeError("the C state tracker is not available (no compiler?)")
        self.ffi, self.lib = module.ffi, module.lib
        ntypes = max(EVENTS) + 1
        self._plan = event_plan(self.ffi, ntypes)
        self._cs = self.ffi.gc(self.lib.cs_new(self._plan, ntypes), self.lib.cs_free)
        self._tout = self.ffi.new("struct cs_thread_out *")
        self._last_type = self.ffi.new("int64_t *")
        self._last_ts = self.ffi.new("uint64_t *")
        self._fout = self.ffi.new("struct cs_fd_out *")
        self._fout_bytes = self.ffi.buffer(self._fout)
        if _FD_OUT.size != self.ffi.sizeof("struct cs_fd_out"):
            raise RuntimeError("struct cs_fd_out: the layout _FD_OUT reads is stale")
        self._off = self.ffi.new("uint64_t *")
        self._num = self.ffi.new("uint64_t *")
        self._counts = self.ffi.new("uint64_t[5]")

    @property
    def state(self) -> Any:
        """The tracker's C handle (``struct cs_state *``), for callers of ``lib``."""
        return self._cs

    # ---- feeding ---------------------------------------------------------------------

    def feed(self, record: bytes) -> None:
        """One scap record (26-byte header, lengths, parameters)."""
        self.lib.cs_feed(self._cs, record, len(record))

    def feed_event(self, ev: Any) -> None:
        """The record of one :class:`sentry.events.event.Event`."""
        self.lib.cs_feed(self._cs, ev.record(), ev.len)

    def feed_blocks(self, buf: Buffer, off: int, limit: int = ALL) -> tuple[int, int, int]:
        """The V2 event blocks of a capture from ``off``, at most ``limit`` known events:
        (status, next offset, events); status 1: end of buffer, 2: another block type at
        the offset, 3: malformed, 4: ``limit`` events fed."""
        self._off[0] = off
        self._num[0] = 0
        status = self.lib.cs_feed_blocks(
            self._cs, self.ffi.from_buffer(buf), len(buf), self._off, self._num, limit
        )
        return status, int(self._off[0]), int(self._num[0])

    def counts(self) -> dict[str, int]:
        self.lib.cs_counts(self._cs, self._counts)
        c = self._counts
        return {
            "events": c[0],
            "malformed": c[1],
            "unknown": c[2],
            "threads": c[3],
            "strings": c[4],
        }

    # ---- starting state --------------------------------------------------------------

    def load(self, inspector: Inspector) -> None:
        """Copy an inspector's tables (a capture's process and fd lists, /proc)."""
        ffi = self.ffi
        keep: list[Any] = []
        owners: dict[int, int] = {}
        for th in inspector.threads:
            t = ffi.new("struct cs_thread_out *")
            for name in (
                "tid",
                "pid",
                "ptid",
                "sid",
                "vpgid",
                "vtid",
                "vpid",
                "uid",
                "gid",
                "loginuid",
                "tty",
                "fdlimit",
                "flags",
                "clone_ts",
                "exe_flags",
            ):
                setattr(t, name, int(getattr(th, name)))
            t.exe_writable = int(bool(th.exe_writable))
            t.cap_inh, t.cap_perm, t.cap_eff = (
                th.cap_inheritable,
                th.cap_permitted,
                th.cap_effective,
            )
            t.last_type = th.last_type
            t.last_fd = th.last_fd if isinstance(th.last_fd, int) else NONE_FD
            for name, value in (
                ("comm", th.comm),
                ("exe", th.exe),
                ("exepath", th.exepath),
                ("cwd", th.cwd),
                ("args", "".join(a + "\0" for a in th.args)),
                ("env", "".join(e + "\0" for e in th.env)),
            ):
                raw = ffi.new("char[]", value.encode("utf-8", "surrogateescape"))
                keep.append(raw)
                setattr(t, name, raw)
                setattr(t, name + "_len", len(raw) - 1)
            self.lib.cs_thread_put(self._cs, t)
            owner = owners.setdefault(id(th.fds), th.tid)
            if owner != th.tid:
                self.lib.cs_share_fds(self._cs, th.tid, owner)
                continue
            for info in th.fds.fds.values():
                self.lib.cs_fd_put(self._cs, th.tid, self._fd_in(info, keep))

    def _fd_in(self, info: Any, keep: list[Any]) -> Any:
        ffi = self.ffi
        f = ffi.new("struct cs_fd_out *")
        f.num, f.type = info.num, _FD_TYPES.index(info.type)
        f.role, f.l4proto = _ROLES.index(info.role), _L4_CODES.get(info.l4proto, 0)
        f.listening, f.connected = int(info.listening), int(info.connected)
        f.flags, f.ino, f.dev, f.socktype = info.flags or 0, info.ino, info.dev, info.socktype
        for side in ("c", "s"):
            ip = getattr(info, side + "ip")
            if ip is not None:
                setattr(f, side + "fam", ip.version)
                packed = ip.packed
                getattr(f, side + "ip")[0 : len(packed)] = packed
            port = getattr(info, side + "port")
            if port is not None:
                setattr(f, side + "port_set", 1)
                setattr(f, side + "port", port)
        for name in ("name", "name_raw"):
            raw = ffi.new("char[]", getattr(info, name).encode("utf-8", "surrogateescape"))
            keep.append(raw)
            setattr(f, name, raw)
            setattr(f, name + "_len", len(raw) - 1)
        return f

    # ---- queries ---------------------------------------------------------------------

    def _thread_dict(self, t: Any) -> dict[str, Any]:
        ffi = self.ffi
        return {
            "tid": t.tid,
            "pid": t.pid,
            "ptid": t.ptid,
            "sid": t.sid,
            "vpgid": t.vpgid,
            "vtid": t.vtid,
            "vpid": t.vpid,
            "comm": _text(ffi, t.comm, t.comm_len),
            "exe": _text(ffi, t.exe, t.exe_len),
            "exepath": _text(ffi, t.exepath, t.exepath_len),
            "cwd": _text(ffi, t.cwd, t.cwd_len),
            "args": split_blob(bytes(ffi.buffer(t.args, t.args_len))),
            "env": split_blob(bytes(ffi.buffer(t.env, t.env_len))),
            "uid": t.uid,
            "gid": t.gid,
            "loginuid": t.loginuid,
            "tty": t.tty,
            "fdlimit": t.fdlimit,
            "flags": t.flags,
            "clone_ts": t.clone_ts,
            "exe_writable": bool(t.exe_writable),
            "exe_flags": t.exe_flags,
            "cap_inheritable": t.cap_inh,
            "cap_permitted": t.cap_perm,
            "cap_effective": t.cap_eff,
            "last_fd": None if t.last_fd == NONE_FD else t.last_fd,
            "nfds": t.nfds,
            "fds_id": t.fds_id,
        }

    def _fd_dict(self, f: Any) -> dict[str, Any]:
        ffi = self.ffi

        def ip(fam: int, raw: Any) -> str | None:
            if not fam:
                return None
            return str(ipaddress.ip_address(bytes(raw[0 : 4 if fam == 4 else 16])))

        return {
            "num": f.num,
            "type": _FD_TYPES[f.type].label,
            "name": _text(ffi, f.name, f.name_len),
            "name_raw": _text(ffi, f.name_raw, f.name_raw_len),
            "flags": f.flags,
            "ino": f.ino,
            "dev": f.dev,
            "cip": ip(f.cfam, f.cip),
            "sip": ip(f.sfam, f.sip),
            "cport": f.cport if f.cport_set else None,
            "sport": f.sport if f.sport_set else None,
            "l4proto": _L4.get(f.l4proto),
            "socktype": f.socktype,
            "role": _ROLES[f.role].name,
            "listening": bool(f.listening),
            "connected": bool(f.connected),
        }

    def _fd_info(self, num: int) -> FdInfo:
        """An :class:`FdInfo` of the C fd in ``self._fout``; ``num``: the event being
        handled (its number is the fd's ``renamed_at`` when that event renamed it)."""
        f = self._fout
        (
            fd,
            ftype,
            role,
            l4,
            listening,
            connected,
            cfam,
            sfam,
            cport_set,
            sport_set,
            flags,
            ino,
            dev,
            cip,
            sip,
            cport,
            sport,
            socktype,
            name_len,
            raw_len,
            renamed,
        ) = _FD_OUT.unpack(self._fout_bytes)
        unpack = self.ffi.unpack
        name = unpack(f.name, name_len).decode("utf-8", "surrogateescape") if name_len else ""
        return FdInfo(
            fd,
            _FD_TYPES[ftype],
            name,
            flags,
            ino,
            dev,
            _ip_of(cfam, cip) if cfam else None,
            _ip_of(sfam, sip) if sfam else None,
            cport if cport_set else None,
            sport if sport_set else None,
            _L4[l4],
            socktype,
            _ROLES[role],
            num if renamed else -1,
            bool(listening),
            bool(connected),
            unpack(f.name_raw, raw_len).decode("utf-8", "surrogateescape") if raw_len else "",
        )

    def event_fd_info(self, num: int) -> FdInfo | None:
        """The fd the last event fed (number ``num``) is about, as an FdInfo."""
        out = self._fout
        if not self.lib.cs_event_fd(self._cs, out):
            return None
        return self._fd_info(num)

    def fd_info(self, tid: int, fd: int, num: int = -1) -> FdInfo | None:
        """Fd ``fd`` of the thread's process as an FdInfo (None: not open, or no thread)."""
        out = self._fout
        if not self.lib.cs_fd_get(self._cs, tid, fd, out):
            return None
        return self._fd_info(num)

    def fd_infos(self, tid: int) -> dict[int, FdInfo]:
        """Every fd of the thread's process as FdInfos, by number."""
        pos = self.ffi.new("uint32_t *")
        out: dict[int, FdInfo] = {}
        while self.lib.cs_fd_next(self._cs, tid, pos, self._fout):
            out[self._fout.num] = self._fd_info(-1)
        return out

    def last_fd(self, tid: int) -> int | None:
        """The thread's last fd (the inspector's ``ThreadInfo.last_fd``; None: none)."""
        if not self.lib.cs_thread_get(self._cs, tid, self._tout):
            return None
        fd = int(self._tout.last_fd)
        return None if fd == NONE_FD else fd

    def last_enter(self, tid: int) -> tuple[int, int] | None:
        """(type, ts) of the thread's last enter as C saw it (every enter of the capture,
        read by Python or not); None: no such thread."""
        if not self.lib.cs_thread_last(self._cs, tid, self._last_type, self._last_ts):
            return None
        return int(self._last_type[0]), int(self._last_ts[0])

    def fd_count(self, tid: int) -> int:
        """How many fds the thread's process has open (0: no such thread)."""
        if not self.lib.cs_thread_get(self._cs, tid, self._tout):
            return 0
        return int(self._tout.nfds)

    def thread(self, tid: int) -> dict[str, Any] | None:
        """The thread's state, or None if the tracker does not know it."""
        if not self.lib.cs_thread_get(self._cs, tid, self._tout):
            return None
        return self._thread_dict(self._tout)

    def threads(self) -> Iterator[dict[str, Any]]:
        pos = self.ffi.new("uint32_t *")
        while self.lib.cs_thread_next(self._cs, pos, self._tout):
            yield self._thread_dict(self._tout)

    def fd(self, tid: int, num: int) -> dict[str, Any] | None:
        if not self.lib.cs_fd_get(self._cs, tid, num, self._fout):
            return None
        return self._fd_dict(self._fout)

    def fds(self, tid: int) -> dict[int, dict[str, Any]]:
        """All fds of the thread's process, by number."""
        pos = self.ffi.new("uint32_t *")
        out: dict[int, dict[str, Any]] = {}
        while self.lib.cs_fd_next(self._cs, tid, pos, self._fout):
            out[self._fout.num] = self._fd_dict(self._fout)
        return out

    def event_fd(self) -> dict[str, Any] | None:
        """The fd the last event fed is about (the inspector's ``event.fdinfo``)."""
        if not self.lib.cs_event_fd(self._cs, self._fout):
            return None
        return self._fd_dict(self._fout)


def thread_state(th: Any) -> dict[str, Any]:
    """A Python :class:`ThreadInfo` in the form :meth:`CState.thread` returns (without the
    fd table's identity)."""
    return {
        "tid": th.tid,
        "pid": th.pid,
        "ptid": th.ptid,
        "sid": th.sid,
        "vpgid": th.vpgid,
        "vtid": th.vtid,
        "vpid": th.vpid,
        "comm": th.comm,
        "exe": th.exe,
        "exepath": th.exepath,
        "cwd": th.cwd,
        "args": list(th.args),
        "env": list(th.env),
        "uid": th.uid,
        "gid": th.gid,
        "loginuid": th.loginuid,
        "tty": th.tty,
        "fdlimit": th.fdlimit,
        "flags": th.flags,
        "clone_ts": th.clone_ts,
        "exe_writable": bool(th.exe_writable),
        "exe_flags": th.exe_flags,
        "cap_inheritable": th.cap_inheritable,
        "cap_permitted": th.cap_permitted,
        "cap_effective": th.cap_effective,
        "last_fd": th.last_fd,
        "nfds": len(th.fds),
    }


def fd_state(info: Any) -> dict[str, Any]:
    """A Python :class:`FdInfo` in the form :meth:`CState.fd` returns."""
    return {
        "num": info.num,
        "type": info.type.label,
        "name": info.name,
        "name_raw": info.name_raw,
        "flags": info.flags or 0,
        "ino": info.ino,
        "dev": info.dev or 0,
        "cip": None if info.cip is None else str(info.cip),
        "sip": None if info.sip is None else str(info.sip),
        "cport": info.cport,
        "sport": info.sport,
        "l4proto": info.l4proto,
        "socktype": info.socktype,
        "role": info.role.name,
        "listening": info.listening,
        "connected": info.connected,
    }
