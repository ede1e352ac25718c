"""The scap file format's block types and metadata records (machine, threads, fds,
interfaces, users), and the parsing of the metadata blocks that open a capture
(:class:`MetadataBlocks`, mixed into :class:`~sentry.capture.scapreader.ScapReader`)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from sentry.errors import CaptureError
from sentry.events.event import (
    Buffer,
)
from sentry.events.wire import (
    BLOCK_HEAD_LEN,
    BLOCK_TRAILER_LEN,
    BLOCK_TYPES,
    SECTION,
    SECTION_BLOCK_MIN_LEN,
    SECTION_MAGIC,
)

# Block types (scap_savefile.h): the names of sentry.events.wire.BLOCK_TYPES, the one spec.
SHB, SHB_MAGIC = BLOCK_TYPES["SHB"], SECTION_MAGIC
MI, MI_INT = BLOCK_TYPES["MI"], BLOCK_TYPES["MI_INT"]
PL_V1, PL_V2, PL_V3 = BLOCK_TYPES["PL_V1"], BLOCK_TYPES["PL_V2"], BLOCK_TYPES["PL_V3"]
PL_V4, PL_V5, PL_V6 = BLOCK_TYPES["PL_V4"], BLOCK_TYPES["PL_V5"], BLOCK_TYPES["PL_V6"]
PL_V7, PL_V8, PL_V9 = BLOCK_TYPES["PL_V7"], BLOCK_TYPES["PL_V8"], BLOCK_TYPES["PL_V9"]
PL_V1_INT, PL_V2_INT = BLOCK_TYPES["PL_V1_INT"], BLOCK_TYPES["PL_V2_INT"]
PL_V3_INT = BLOCK_TYPES["PL_V3_INT"]
FDL, FDL_INT, FDL_V2 = BLOCK_TYPES["FDL"], BLOCK_TYPES["FDL_INT"], BLOCK_TYPES["FDL_V2"]
EV, EV_INT = BLOCK_TYPES["EV"], BLOCK_TYPES["EV_INT"]
EV_V2, EV_V2_LARGE = BLOCK_TYPES["EV_V2"], BLOCK_TYPES["EV_V2_LARGE"]
EVF, EVF_V2, EVF_V2_LARGE = BLOCK_TYPES["EVF"], BLOCK_TYPES["EVF_V2"], BLOCK_TYPES["EVF_V2_LARGE"]
DF_STATE_ONLY = 1  # event flag: for state tracking only, not to be shown (fatfile mode)
IL, IL_INT, IL_V2 = BLOCK_TYPES["IL"], BLOCK_TYPES["IL_INT"], BLOCK_TYPES["IL_V2"]
UL, UL_INT, UL_V2 = BLOCK_TYPES["UL"], BLOCK_TYPES["UL_INT"], BLOCK_TYPES["UL_V2"]

# Process list block type -> format version (1..9).
PL_VERSIONS = {
    PL_V1: 1,
    PL_V1_INT: 1,
    PL_V2: 2,
    PL_V2_INT: 2,
    PL_V3: 3,
    PL_V3_INT: 3,
    PL_V4: 4,
    PL_V5: 5,
    PL_V6: 6,
    PL_V7: 7,
    PL_V8: 8,
    PL_V9: 9,
}
# Event block type -> (has nparams in the header, has a flags word).
EV_BLOCKS = {
    EV: (False, False),
    EV_INT: (False, False),
    EVF: (False, True),
    EV_V2: (True, False),
    EV_V2_LARGE: (True, False),
    EVF_V2: (True, True),
    EVF_V2_LARGE: (True, True),
}

# scap fd types (scap_fd_type).
FD_FILE, FD_DIRECTORY, FD_IPV4_SOCK, FD_IPV6_SOCK = 1, 2, 3, 4
FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK, FD_FIFO, FD_UNIX_SOCK = 5, 6, 7, 8
FD_EVENT, FD_UNSUPPORTED, FD_SIGNALFD, FD_EVENTPOLL, FD_INOTIFY = 9, 10, 11, 12, 13
FD_TIMERFD, FD_NETLINK, FD_FILE_V2, FD_BPF, FD_USERFAULTFD = 14, 15, 16, 17, 18
FD_IOURING, FD_MEMFD, FD_PIDFD = 19, 20, 21
_FD_NAME_ONLY = frozenset(
    {
        FD_FILE,
        FD_DIRECTORY,
        FD_FIFO,
        FD_EVENT,
        FD_UNSUPPORTED,
        FD_SIGNALFD,
        FD_EVENTPOLL,
        FD_INOTIFY,
        FD_TIMERFD,
        FD_NETLINK,
        FD_BPF,
        FD_USERFAULTFD,
        FD_IOURING,
        FD_MEMFD,
        FD_PIDFD,
    }
)

# Interface entry types (SCAP_II_*).
II_IPV4, II_IPV6, II_IPV4_NOLINKSPEED, II_IPV6_NOLINKSPEED = 1, 2, 3, 4

U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
MI_RECORD = struct.Struct("<IQQ128sQQQQ")


@dataclass(slots=True)
class MachineInfo:
    num_cpus: int = 1
    memory_size_bytes: int = 0
    max_pid: int = 0
    hostname: str = ""


@dataclass(slots=True)
class ThreadEntry:
    """One process-list entry: the state of a thread when the capture started."""

    tid: int
    pid: int
    ptid: int
    comm: str = ""
    exe: str = ""
    exepath: str = ""
    args: list[str] = field(default_factory=list)
    cwd: str = ""
    fdlimit: int = 0
    flags: int = 0
    uid: int = 0
    gid: int = 0
    vmsize_kb: int = 0
    vmrss_kb: int = 0
    vmswap_kb: int = 0
    pfmajor: int = 0
    pfminor: int = 0
    env: list[str] = field(default_factory=list)
    vtid: int = -1
    vpid: int = -1
    cgroups: list[str] = field(default_factory=list)
    root: str = ""
    sid: int = -1
    vpgid: int = -1
    loginuid: int = 0xFFFFFFFF
    tty: int = 0
    pidns_init_start_ts: int = 0
    exe_writable: bool = False
    cap_inheritable: int = 0
    cap_permitted: int = 0
    cap_effective: int = 0


@dataclass(slots=True)
class FdEntry:
    """One fd-list entry: an fd open in a thread when the capture started."""

    tid: int
    fd: int
    ino: int
    type: int
    name: str = ""
    open_flags: int = 0
    dev: int = 0
    sip: str = ""
    dip: str = ""
    sport: int = 0
    dport: int = 0
    l4proto: int = 0
    source: int = 0
    dest: int = 0


@dataclass(slots=True)
class Interface:
    name: str
    family: int  # 4 or 6
    addr: str
    netmask: str
    bcast: str
    linkspeed: int = 0


@dataclass(slots=True)
class UserEntry:
    uid: int
    gid: int
    name: str
    homedir: str = ""
    shell: str = ""


@dataclass(slots=True)
class GroupEntry:
    gid: int
    name: str


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _strings(raw: bytes) -> list[str]:
    return [s.decode("utf-8", "surrogateescape") for s in raw.split(b"\0") if s]


def _ip4(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def _ip6(raw: bytes) -> str:
    import ipaddress

    return str(ipaddress.IPv6Address(raw))


class _Malformed(Exception):
    """A metadata block does not parse; turned into CaptureError with path and offset."""


class _Cursor:
    """Bounds-checked little-endian reads within one block's payload."""

    __slots__ = ("block", "data", "end", "pos")

    def __init__(self, data: Buffer, pos: int, end: int, block: int):
        self.data = data
        self.pos = pos
        self.end = end
        self.block = block

    def need(self, n: int) -> int:
        pos = self.pos
        if n < 0 or pos + n > self.end:
            raise _Malformed(f"block truncated (needs {n} bytes at {pos})")
        self.pos = pos + n
        return pos

    def u8(self) -> int:
        return self.data[self.need(1)]

    def u16(self) -> int:
        return int.from_bytes(self.data[(p := self.need(2)) : p + 2], "little")

    def u32(self) -> int:
        return int.from_bytes(self.data[(p := self.need(4)) : p + 4], "little")

    def i32(self) -> int:
        return int.from_bytes(self.data[(p := self.need(4)) : p + 4], "little", signed=True)

    def u64(self) -> int:
        return int.from_bytes(self.data[(p := self.need(8)) : p + 8], "little")

    def i64(self) -> int:
        return int.from_bytes(self.data[(p := self.need(8)) : p + 8], "little", signed=True)

    def raw(self, n: int) -> bytes:
        p = self.need(n)
        return bytes(self.data[p : p + n])

    def lstr(self) -> bytes:
        """u16 length, then that many bytes."""
        return self.raw(self.u16())

    @property
    def left(self) -> int:
        return self.end - self.pos


class MetadataBlocks:
    """Parsing of the metadata blocks into the reader's record lists."""

    path: str
    data: Buffer
    version: tuple[int, int]
    machine: MachineInfo | None
    threads: dict[int, ThreadEntry]
    fds: list[FdEntry]
    users: list[UserEntry]
    groups: list[GroupEntry]
    interfaces: list[Interface]

    def _section(self, off: int, blen: int) -> int:
        if blen < SECTION_BLOCK_MIN_LEN:
            raise CaptureError("section header block too short", path=self.path, offset=off)
        magic, major, minor, _ = SECTION.unpack_from(self.data, off + BLOCK_HEAD_LEN)
        if magic != SHB_MAGIC:
            raise CaptureError(f"bad byte-order magic {magic:#x}", path=self.path, offset=off)
        if major != 1:
            raise CaptureError(
                f"unsupported capture format {major}.{minor}", path=self.path, offset=off
            )
        self.version = (major, minor)
        return off + blen  # pcapng options, if any, are skipped with the block

    def _metadata(self, off: int, btype: int, blen: int) -> None:
        cur = _Cursor(self.data, off + BLOCK_HEAD_LEN, off + blen - BLOCK_TRAILER_LEN, off)
        try:
            if btype == SHB:
                self._section(off, blen)
            elif btype in (MI, MI_INT):
                self._machine_info(cur)
            elif btype in PL_VERSIONS:
                self._proclist(cur, PL_VERSIONS[btype])
            elif btype in (FDL, FDL_INT, FDL_V2):
                self._fdlist(cur, btype == FDL_V2)
            elif btype in (IL, IL_INT, IL_V2):
                self._iflist(cur, btype == IL_V2)
            elif btype in (UL, UL_INT, UL_V2):
                self._userlist(cur, btype == UL_V2)
            # any other block type is skipped whole, as libscap does
        except _Malformed as err:
            raise CaptureError(
                f"{err} (block type {btype:#x})", path=self.path, offset=off
            ) from None

    def _machine_info(self, cur: _Cursor) -> None:
        ncpus, mem, maxpid, host, *_ = MI_RECORD.unpack(cur.raw(MI_RECORD.size))
        self.machine = MachineInfo(ncpus, mem, maxpid, _text(host))

    def _proclist(self, cur: _Cursor, version: int) -> None:
        while cur.left >= 4:
            start = cur.pos
            sub_len = cur.u32() if version >= 9 else 0
            entry_end = start + sub_len
            if version >= 9 and (sub_len < 4 or entry_end > cur.end):
                raise _Malformed(f"process entry length {sub_len} out of bounds")
            t = ThreadEntry(cur.u64(), cur.u64(), cur.u64())
            if version >= 6:
                t.sid = cur.i64()
            if version >= 8:
                t.vpgid = cur.i64()
            t.comm = _text(cur.lstr())
            t.exe = _text(cur.lstr())
            if version >= 7:
                t.exepath = _text(cur.lstr())
            t.args = _strings(cur.lstr())
            t.cwd = _text(cur.lstr())
            t.fdlimit = cur.u64()
            t.flags = cur.u32()
            t.uid = cur.u32()
            t.gid = cur.u32()
            if version >= 2:
                t.vmsize_kb, t.vmrss_kb, t.vmswap_kb = cur.u32(), cur.u32(), cur.u32()
                t.pfmajor, t.pfminor = cur.u64(), cur.u64()
            if version >= 3:
                t.env = _strings(cur.lstr())
            if version >= 4:
                t.vtid, t.vpid = cur.i64(), cur.i64()
                t.cgroups = _strings(cur.lstr())
            if version >= 5:
                t.root = _text(cur.lstr())
            if version >= 9:
                self._proc_extras(cur, t, entry_end)
                if cur.pos > entry_end:
                    raise _Malformed("process entry overruns its length")
                cur.pos = entry_end
            self.threads[t.tid] = t

    @staticmethod
    def _proc_extras(cur: _Cursor, t: ThreadEntry, end: int) -> None:
        """V9 fields appended over time; present when the entry length has room for them."""
        if end - cur.pos > 29:  # libs >= 0.10 put these two before loginuid
            if end - cur.pos >= 8:
                t.pidns_init_start_ts = cur.u64()
            if end - cur.pos >= 4:
                t.tty = cur.i32()
        if end - cur.pos >= 4:
            t.loginuid = cur.u32()
        if end - cur.pos >= 1:
            t.exe_writable = bool(cur.u8())
        if end - cur.pos >= 24:
            t.cap_inheritable, t.cap_permitted, t.cap_effective = cur.u64(), cur.u64(), cur.u64()

    def _fdlist(self, cur: _Cursor, v2: bool) -> None:
        tid = cur.u64()
        while cur.left >= 4:
            start = cur.pos
            sub_len = cur.u32() if v2 else 0
            if v2 and (sub_len < 4 or start + sub_len > cur.end):
                raise _Malformed(f"fd entry length {sub_len} out of bounds")
            fd = FdEntry(tid, cur.i64(), cur.u64(), cur.u8())
            ftype = fd.type
            if ftype == FD_IPV4_SOCK:
                fd.sip, fd.dip = _ip4(cur.raw(4)), _ip4(cur.raw(4))
                fd.sport, fd.dport, fd.l4proto = cur.u16(), cur.u16(), cur.u8()
            elif ftype == FD_IPV4_SERVSOCK:
                fd.sip, fd.sport, fd.l4proto = _ip4(cur.raw(4)), cur.u16(), cur.u8()
            elif ftype == FD_IPV6_SOCK:
                fd.sip, fd.dip = _ip6(cur.raw(16)), _ip6(cur.raw(16))
                fd.sport, fd.dport, fd.l4proto = cur.u16(), cur.u16(), cur.u8()
            elif ftype == FD_IPV6_SERVSOCK:
                fd.sip, fd.sport, fd.l4proto = _ip6(cur.raw(16)), cur.u16(), cur.u8()
            elif ftype == FD_UNIX_SOCK:
                fd.source, fd.dest = cur.u64(), cur.u64()
                fd.name = _text(cur.lstr())
            elif ftype == FD_FILE_V2:
                fd.open_flags = cur.u32()
                fd.name = _text(cur.lstr())
                if v2 and start + sub_len - cur.pos >= 4:
                    fd.dev = cur.u32()
            elif ftype in _FD_NAME_ONLY:
                fd.name = _text(cur.lstr())
            elif not v2:
                raise _Malformed(f"unknown fd type {ftype}")
            if v2:
                if cur.pos > start + sub_len:
                    raise _Malformed("fd entry overruns its length")
                cur.pos = start + sub_len
            self.fds.append(fd)

    def _iflist(self, cur: _Cursor, v2: bool) -> None:
        while cur.left >= 4:
            entry_len = cur.u32() if v2 else 0
            start = cur.pos
            iftype, namelen = cur.u16(), cur.u16()
            if iftype in (II_IPV4, II_IPV4_NOLINKSPEED):
                addr, mask, bcast = (_ip4(cur.raw(4)) for _ in range(3))
                family = 4
            elif iftype in (II_IPV6, II_IPV6_NOLINKSPEED):
                addr, mask, bcast = (_ip6(cur.raw(16)) for _ in range(3))
                family = 6
            else:
                raise _Malformed(f"unknown interface type {iftype}")
            speed = cur.u64() if iftype in (II_IPV4, II_IPV6) else 0
            name = _text(cur.raw(namelen))
            self.interfaces.append(Interface(name, family, addr, mask, bcast, speed))
            if v2:
                if cur.pos > start + entry_len:
                    raise _Malformed("interface entry overruns its length")
                cur.pos = start + entry_len

    def _userlist(self, cur: _Cursor, v2: bool) -> None:
        while cur.left >= 4:
            start = cur.pos
            sub_len = cur.u32() if v2 else 0
            if v2 and (sub_len < 5 or start + sub_len > cur.end):
                raise _Malformed(f"user entry length {sub_len} out of bounds")
            kind = cur.u8()
            if kind == 0:
                uid, gid = cur.u32(), cur.u32()
                name, home, shell = (_text(cur.lstr()) for _ in range(3))
                self.users.append(UserEntry(uid, gid, name, home, shell))
            else:
                gid = cur.u32()
                self.groups.append(GroupEntry(gid, _text(cur.lstr())))
            if v2:
                if cur.pos > start + sub_len:
                    raise _Malformed("user entry overruns its length")
                cur.pos = start + sub_len

    # --- events ---------------------------------------------------------------------
