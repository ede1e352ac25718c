"""Syscall-coverage cases shared by the live-driver tests (eBPF on the host, kmod in the VM).

A case runs a small Python program in a child process (it waits for "go" on stdin, so the
capture is running before it starts), collects the events of that child's process tree
from a live source, and checks the decoded events. Syscalls are made through
``libc.syscall(NR, ...)`` where the exact system call matters.

Use: ``run_case(source, case, workdir)`` for the stories of :data:`CASES`, and
``run_workload(source, workdir)`` for ``driver_workload.py`` (every captured syscall once),
whose events :data:`WORKLOAD_PARAMS` describes. Every event must have exactly the event
table's layout (:func:`check_layout`). ``driver_suite.py`` holds the tests both drivers run.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sentry.capture.source import CaptureStats
from sentry.events.event import SockAddr, SockTuple
from sentry.events.syscalls import PPM_SC_BY_NAME, PPM_SC_NAMES
from sentry.events.table import ParamType

HERE = Path(__file__).resolve().parent

# Bytes of each fixed-size parameter type, as scap encodes it.
FIXED_SIZES = {
    ParamType.INT8: 1,
    ParamType.UINT8: 1,
    ParamType.FLAGS8: 1,
    ParamType.SIGTYPE: 1,
    ParamType.INT16: 2,
    ParamType.UINT16: 2,
    ParamType.FLAGS16: 2,
    ParamType.SYSCALLID: 2,
    ParamType.PORT: 2,
    ParamType.INT32: 4,
    ParamType.UINT32: 4,
    ParamType.FLAGS32: 4,
    ParamType.UID: 4,
    ParamType.GID: 4,
    ParamType.MODE: 4,
    ParamType.SIGSET: 4,
    ParamType.INT64: 8,
    ParamType.UINT64: 8,
    ParamType.ERRNO: 8,
    ParamType.FD: 8,
    ParamType.PID: 8,
    ParamType.RELTIME: 8,
    ParamType.ABSTIME: 8,
}

AT_FDCWD = -100
_CLONE_NAMES = {"clone", "clone3", "fork", "vfork"}

# scap's open flags
SCAP_O_RDONLY, SCAP_O_WRONLY, SCAP_O_CREAT, SCAP_O_TRUNC = 1, 2, 4, 256
SCAP_O_CLOEXEC, SCAP_O_F_CREATED = 1 << 12, 1 << 14
SCAP_CL_CLONE_THREAD, SCAP_CL_CLONE_VM = 1 << 13, 1 << 15

_PRELUDE = """
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *args):
    conv = [ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a) for a in args]
    return libc.syscall(ctypes.c_long(nr), *conv)
W = sys.argv[1]
os.chdir(W)
sys.stdin.readline()
"""


@dataclass
class Captured:
    """The events of one trigger's process tree, detached from the ring; with ``settle``,
    how the driver's counters moved while it ran and how many events (of any process)
    were delivered meanwhile."""

    pid: int
    workdir: str
    events: list[Any]
    stats: Any = None
    output: str = ""
    counted: CaptureStats | None = None
    delivered: int = 0

    def named(self, evname: str, direction: str = "<") -> list[Any]:
        return [e for e in self.events if e.info.name == evname and e.info.direction == direction]

    def params(self, ev: Any) -> dict[str, Any]:
        return dict(ev.params())

    def find_all(self, evname: str, direction: str = "<", **want: Any) -> list[Any]:
        """The events of this name and direction whose named params equal want."""
        return [
            ev
            for ev in self.named(evname, direction)
            if all(ev.param_by_name(k) == v for k, v in want.items())
        ]

    def find(self, evname: str, direction: str = "<", **want: Any) -> dict[str, Any]:
        """The first event of this name and direction whose params include want."""
        seen = []
        for ev in self.named(evname, direction):
            p = self.params(ev)
            if all(p.get(k) == v for k, v in want.items()):
                return p
            seen.append(p)
        raise AssertionError(f"no {evname}{direction} with {want}; saw {seen[:6]}")

    def generic(self, name: str, direction: str = "<") -> Any:
        """The first generic event whose ID names this syscall."""
        for ev in self.named("syscall", direction):
            if PPM_SC_NAMES[ev.param(0)] == name:
                return ev
        raise AssertionError(f"no generic event for {name}")

    def generic_native(self, nr: int) -> Any:
        """The first generic enter event for native syscall number nr."""
        for ev in self.named("syscall", ">"):
            if ev.param(1) == nr:
                return ev
        raise AssertionError(f"no generic event for syscall {nr}")

    def types(self) -> set[str]:
        return {e.info.name + e.info.direction for e in self.events}


def _stats_delta(after: CaptureStats, before: CaptureStats) -> CaptureStats:
    return CaptureStats(
        **{f.name: getattr(after, f.name) - getattr(before, f.name) for f in fields(CaptureStats)}
    )


def _settled_stats(source: Any, batches: Iterator[list[Any]]) -> tuple[CaptureStats, int]:
    """Counters that cover exactly the events consumed so far, and how many were drained.

    Other processes keep writing while we read: counters taken after an empty batch may
    already include an event not yet read. Only when the batch read right after taking the
    counters is empty did nothing arrive between the drain and the counters."""
    drained = 0
    while True:
        for batch in batches:
            if not batch:
                break
            drained += len(batch)
        stats = source.stats()
        batch = next(batches)
        if not batch:
            return stats, drained
        drained += len(batch)


def run_trigger(
    source: Any, code: str, workdir: Path, *, timeout: float = 20.0, settle: bool = False
) -> Captured:
    """Run code (after the prelude) in a child; collect its tree's events until it exits.

    With settle, the rings are drained empty before the child starts and after it ends, so
    that ``counted`` (the counters' change) covers exactly the ``delivered`` events."""
    prog = _PRELUDE + code
    env = dict(os.environ, SENTRY_TEST="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", prog, str(workdir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    tids = {proc.pid}
    events: list[Any] = []
    done = False
    deadline = time.monotonic() + timeout
    assert proc.stdin is not None
    batches = source.batches()
    next(batches)  # the capture is running: let the child go
    before = None
    if settle:
        before, _ = _settled_stats(source, batches)
    delivered = 0
    proc.stdin.write(b"go\n")
    proc.stdin.close()
    exited_at = None
    for batch in batches:
        delivered += len(batch)
        for ev in batch:
            if ev.tid not in tids:
                if not (
                    ev.info.name in _CLONE_NAMES
                    and ev.info.direction == "<"
                    and ev.param(0) == 0
                    and ev.param_by_name("ptid") in tids
                ):
                    continue
                tids.add(ev.tid)
            events.append(ev.detach())
            if ev.info.name in _CLONE_NAMES and ev.info.direction == "<" and ev.param(0) > 0:
                tids.add(ev.param(0))
            if ev.info.name == "procexit" and ev.tid == proc.pid:
                done = True
        if done:
            break
        if exited_at is None and proc.poll() is not None:
            exited_at = time.monotonic()
        if exited_at is not None and time.monotonic() - exited_at > 5.0:
            break  # exited, yet no procexit: report what we have
        if time.monotonic() > deadline:
            proc.kill()
            break
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    proc.wait()
    if proc.returncode not in (0, 7):
        raise AssertionError(f"trigger failed ({proc.returncode}):\n{out}")
    counted = None
    if before is not None:
        after, drained = _settled_stats(source, batches)
        delivered += drained
        counted = _stats_delta(after, before)
    return Captured(proc.pid, str(workdir), events, source.stats(), out, counted, delivered)


@dataclass
class Case:
    """One syscall story: the trigger program and what its events must say."""

    id: str
    code: str
    check: Callable[[Captured], None]
    marks: list[str] = field(default_factory=list)


def check_layout(events: list[Any]) -> None:
    """Every event has exactly the event table's parameters (the layouts sysdig 0.29 and our
    reader know, which both drivers write): their number, the sizes of the fixed-size
    types, and values that decode as their types."""
    for ev in events:
        info = ev.info
        assert ev.nparams == len(info.params), (
            f"{info.name}{info.direction} (type {ev.type}): {ev.nparams} params, "
            f"the table has {len(info.params)}"
        )
        for i, pinfo in enumerate(info.params):
            size = FIXED_SIZES.get(pinfo.type)
            if size is not None:
                got = len(ev.raw(i))
                assert got == size, f"{ev} {pinfo.name}: {got} bytes, {pinfo.type.name} is {size}"
            else:
                ev.param(i)  # variable-size: decodes as its type


def run_case(source: Any, case: Case, workdir: Path) -> Captured:
    cap = run_trigger(source, case.code, workdir)
    assert cap.events, f"no events from the trigger's process tree; stats {cap.stats}"
    check_layout(cap.events)
    case.check(cap)
    return cap


# ---- the cases ----------------------------------------------------------------------------


def _check_openat(c: Captured) -> None:
    path = f"{c.workdir}/hello.txt"
    x = c.find("openat", "<", name=path)
    assert x["fd"] >= 0 and x["dirfd"] == AT_FDCWD
    assert x["flags"] & (SCAP_O_WRONLY | SCAP_O_CREAT | SCAP_O_TRUNC) == (
        SCAP_O_WRONLY | SCAP_O_CREAT | SCAP_O_TRUNC
    )
    assert x["mode"] == 0o640
    assert x["dev"] != 0
    assert x["flags"] & SCAP_O_F_CREATED  # this open created the file
    e = c.find("openat", ">", name=path)
    assert e["dirfd"] == AT_FDCWD and e["mode"] == 0o640
    w = c.find("write", "<", res=12)
    assert w["data"] == b"hello sentry"
    assert c.find("write", ">", fd=x["fd"])["size"] == 12
    assert c.find("close", ">", fd=x["fd"])
    assert c.find("close", "<", res=0)


def _check_open(c: Captured) -> None:
    x = c.find("open", "<", name=f"{c.workdir}/o.txt")
    assert x["fd"] >= 0 and x["flags"] & SCAP_O_CREAT and x["mode"] == 0o600
    reopened = c.find("openat2", "<", name=f"{c.workdir}/o.txt")
    assert reopened["mode"] == 0 and not reopened["flags"] & SCAP_O_F_CREATED  # no O_CREAT
    assert c.find("open", ">", name=f"{c.workdir}/o.txt")["mode"] == 0o600
    x = c.find("creat", "<", name=f"{c.workdir}/c.txt")
    assert x["fd"] >= 0 and x["mode"] == 0o644
    x = c.find("openat2", "<", name=f"{c.workdir}/o.txt")
    assert x["fd"] >= 0 and x["flags"] & SCAP_O_CLOEXEC and x["dirfd"] == AT_FDCWD
    missing = c.find("openat", "<", name=f"{c.workdir}/missing")
    assert missing["fd"] == -2  # -ENOENT


def _check_read(c: Captured) -> None:
    r = c.find("read", "<", res=11)
    assert r["data"] == b"some bytes\n"
    assert c.find("read", ">", size=100)
    big = c.find("write", "<", res=300)
    assert big["data"] == b"x" * 80  # default snaplen
    assert c.find("pwrite", "<", res=4)["data"] == b"PWRT"
    assert c.find("pread", "<", res=4)["data"] == b"PWRT"
    assert c.find("writev", "<", res=6)["data"] == b"abcdef"
    assert c.find("readv", "<", res=6)["data"] == b"abcdef"


def _check_exec(c: Captured) -> None:
    x = c.find("execve", "<", res=0, exe="true")
    assert x["args"].split(b"\0")[:2] == [b"arg1", b"arg two"]
    assert x["pid"] == c.pid and x["tid"] == c.pid
    assert x["comm"] == "true"
    assert x["cwd"] == c.workdir
    assert b"SENTRY_TEST=1" in x["env"].split(b"\0")
    assert c.find("execve", ">", filename="/bin/true")


def _check_execveat(c: Captured) -> None:
    """As scap: a successful execveat is an execveat enter (330) then an execve exit (293);
    only a failed one ends with an execveat exit (331)."""
    mine = [ev for ev in c.events if ev.tid == c.pid]
    kinds = [
        (ev.type, ev.param_by_name("pathname") if ev.type == 330 else ev.param(0))
        for ev in mine
        if ev.info.name in ("execve", "execveat")
    ]
    first = [k for k, _ in kinds].index(330) if (330, "/sentry-no-such-program") in kinds else 0
    kinds = kinds[first:]  # from the trigger's first execveat on
    assert kinds == [
        (330, "/sentry-no-such-program"),
        (331, -2),  # ENOENT
        (330, "/bin/echo"),
        (293, 0),
    ], kinds
    e = c.find("execveat", ">", pathname="/bin/echo")
    assert e["dirfd"] == AT_FDCWD
    assert e["flags"] == 1 << 1  # scap's AT_SYMLINK_NOFOLLOW
    x = c.find("execve", "<", res=0, exe="echo")
    assert x["comm"] == "echo" and x["args"] == b"hi\0"
    assert not c.find_all("execveat", "<", res=0)


def _check_fork(c: Captured) -> None:
    parents = [c.params(e) for e in c.named("clone") if e.tid == c.pid and e.param(0) > 0]
    assert parents, "no clone exit in the parent"
    child = parents[0]["res"]
    assert c.find("clone", "<", res=0, tid=child)["ptid"] == c.pid
    code = [e for e in c.named("procexit", ">") if e.tid == child]
    assert code and code[0].param_by_name("ret") == 3
    f = [c.params(e) for e in c.named("fork") if e.tid == c.pid and e.param(0) > 0]
    assert f, "no fork exit"
    th = [c.params(e) for e in c.named("clone3") if e.param(0) > 0]
    assert th and th[0]["flags"] & SCAP_CL_CLONE_THREAD and th[0]["pid"] == c.pid


def _check_procexit(c: Captured) -> None:
    ev = [e for e in c.named("procexit", ">") if e.tid == c.pid]
    assert ev and ev[0].param_by_name("ret") == 7


def _check_files(c: Captured) -> None:
    w = c.workdir
    assert c.find("mkdir", "<", path=f"{w}/d1", res=0)
    assert c.find("mkdirat", "<", path="d2", res=0)["dirfd"] == AT_FDCWD
    assert c.find("rename", "<", oldpath=f"{w}/d1", newpath=f"{w}/d3", res=0)
    assert c.find("renameat", "<", oldpath="d2", newpath="d4", res=0)
    assert c.find("renameat2", "<", oldpath="d4", newpath="d5", res=0)
    assert c.find("rmdir", "<", path=f"{w}/d3", res=0)
    assert c.find("symlink", "<", target="f", linkpath=f"{w}/s1", res=0)
    assert c.find("symlinkat", "<", target="f", linkpath="s2", res=0)
    assert c.find("link", "<", oldpath=f"{w}/f", newpath=f"{w}/h1", res=0)
    assert c.find("linkat", "<", oldpath="f", newpath="h2", res=0)
    assert c.find("unlink", "<", path=f"{w}/s1", res=0)
    assert c.find("unlinkat", "<", name="s2", res=0)
    assert c.find("unlinkat", "<", name="d5", res=0)["flags"] == 0x200
    assert c.find("chmod", "<", filename=f"{w}/f", res=0)["mode"] == 0o600
    assert c.find("fchmodat", "<", filename="f", res=0)["mode"] == 0o640
    assert c.find("fchmod", "<", res=0)["mode"] == 0o644
    assert c.generic("chown").param(0)
    assert c.find("chdir", "<", path="sub", res=0)
    assert c.find("fchdir", "<", res=0)


def _check_fds(c: Captured) -> None:
    p = c.find("pipe", "<", res=0)
    assert p["fd1"] >= 0 and p["fd2"] >= 0 and p["ino"] > 0
    assert c.find("dup", ">", fd=p["fd1"])
    assert c.find("dup", "<", res=50)
    assert c.find("dup", "<", res=51)
    assert c.find("fcntl", ">", cmd=26)["fd"] == p["fd1"]  # F_DUPFD_CLOEXEC
    assert c.find("pipe", "<", res=0)["fd1"] >= 0
    polled = c.find("poll", ">", timeout=0)
    assert polled["fds"].entries == ((p["fd1"], 1),)  # POLLIN
    assert c.find("poll", "<", res=0)["fds"].entries == ((p["fd1"], 0),)


def _check_net(c: Captured) -> None:
    s = c.find("socket", ">", domain=socket.AF_INET)
    assert s["type"] & 0xF == socket.SOCK_STREAM and s["proto"] in (0, socket.IPPROTO_TCP)
    b = c.find("bind", "<", res=0)
    assert b["addr"].addr == "127.0.0.1" and b["addr"].port == 0  # as the caller gave it
    assert c.find("listen", ">")["backlog"] == 4
    port = c.find("connect", ">")["addr"].port
    assert port > 0
    conn = c.find("connect", "<", res=0)
    assert conn["tuple"].dip == "127.0.0.1" and conn["tuple"].dport == port
    acc = c.find("accept", "<")
    assert acc["fd"] >= 0 and acc["tuple"].dport == port
    assert acc["queuemax"] == 4  # the listen() backlog
    assert acc["tuple"].sport == conn["tuple"].sport
    assert c.find("sendto", "<", res=5)["data"] == b"hello"
    assert c.find("recvfrom", "<", res=5)["data"] == b"hello"
    assert c.find("sendmsg", "<", res=3)["data"] == b"abc"
    assert c.find("recvmsg", "<", res=3)["data"] == b"abc"
    # unconnected UDP: the remote end comes from the caller's address
    sent = c.find("sendto", ">", size=4)["tuple"]
    got = c.find("recvfrom", "<", res=4)
    assert got["data"] == b"udp!"
    assert sent.dip == got["tuple"].dip == "127.0.0.1"
    assert sent.dport == got["tuple"].dport > 0  # u1's port
    assert got["tuple"].sport > 0  # u2's port, bound by the send


def _check_unix_tuples(c: Captured) -> None:
    """scap's unix tuple: inbound, (this socket, peer) and this socket's name; outbound,
    (peer, this socket) and the peer's name. So both sides of one flow see
    (receiving end, sending end)."""
    conn = c.find("connect", "<", res=0)["tuple"]
    acc = c.find("accept", "<")["tuple"]
    to_srv = c.find("sendto", ">", size=9)["tuple"]
    at_srv = c.find("recvfrom", "<", res=9)["tuple"]
    to_cli = c.find("sendto", ">", size=10)["tuple"]
    at_cli = c.find("recvfrom", "<", res=10)["tuple"]
    server, client = conn.source, conn.dest
    assert conn.family == socket.AF_UNIX and server and client and server != client
    for t in (acc, to_srv, at_srv):
        assert (t.family, t.source, t.dest) == (socket.AF_UNIX, server, client), t
    for t in (to_cli, at_cli):
        assert (t.family, t.source, t.dest) == (socket.AF_UNIX, client, server), t
    assert conn.path == to_srv.path == "srv.sock"  # outbound from the client: the peer's
    assert acc.path == at_srv.path == "srv.sock"  # inbound at the server: its own
    assert to_cli.path == "cli.sock"  # outbound from the server: the peer's
    assert at_cli.path == "cli.sock"  # inbound at the client: its own


def _check_proc(c: Captured) -> None:
    assert c.find("setuid", ">", uid=0)
    assert c.find("setresuid", ">", ruid=0xFFFFFFFF)
    assert c.find("setgid", "<", res=0)
    capset = c.find("capset", "<", res=0)  # the sets it was given back: the task's own
    assert capset["cap_permitted"] == capset["cap_effective"] and capset["cap_effective"]
    assert c.find("kill", ">", sig=0)["pid"] == c.pid
    assert c.find("tgkill", ">", sig=0)["tid"] == c.pid
    assert c.find("ptrace", "<")["res"] < 0
    assert c.find("ptrace", ">")["request"] == 3  # PTRACE_PEEKDATA
    assert c.find("unshare", "<", res=0)
    assert c.find("setns", ">")["fd"] == -1
    assert c.find("umount", "<")["name"] == f"{c.workdir}/nomount"
    m = c.find("mount", "<")
    assert m["dir"] == f"{c.workdir}/nomount" and m["type"] == "sentryfs"
    assert c.find("mount", ">")["flags"] == 1  # MS_RDONLY, the old callers' magic dropped
    # libs' later events (sysdig 0.29 skips them): module loading, memfd_create
    assert c.find("finit_module", "<", fd=-1, uargs="opt=c1", flags=0)["res"] < 0
    assert c.find("init_module", "<", length=0, uargs="opt=c2")["res"] < 0
    assert c.find("bpf", ">")["cmd"] == 0
    assert c.find("memfd_create", "<", name="sentry-memfd", flags=0)["fd"] >= 0
    assert c.generic("prctl")
    assert c.find("mprotect", "<", res=0)
    assert c.find("mmap", ">", length=8192, fd=-1)


CASES: list[Case] = [
    Case(
        "openat-write-close",
        """
fd = os.open(W + "/hello.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
os.write(fd, b"hello sentry")
os.close(fd)
""",
        _check_openat,
    ),
    Case(
        "open-creat-openat2",
        """
class How(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]
fd = sc(2, (W + "/o.txt").encode(), os.O_WRONLY | os.O_CREAT, 0o600)
os.close(fd)
os.close(sc(85, (W + "/c.txt").encode(), 0o644))
how = How(os.O_RDONLY | os.O_CLOEXEC, 0, 0)
path = ctypes.c_char_p((W + "/o.txt").encode())
os.close(libc.syscall(ctypes.c_long(437), ctypes.c_long(-100), path, ctypes.byref(how),
                      ctypes.c_long(ctypes.sizeof(how))))
try:
    os.open(W + "/missing", os.O_RDONLY)
except FileNotFoundError:
    pass
""",
        _check_open,
    ),
    Case(
        "read-write-family",
        """
with open(W + "/in.txt", "wb") as f:
    f.write(b"some bytes\\n")
fd = os.open(W + "/in.txt", os.O_RDONLY)
os.read(fd, 100)
out = os.open(W + "/out.txt", os.O_RDWR | os.O_CREAT)
os.write(out, b"x" * 300)
os.pwrite(out, b"PWRT", 1000)
os.pread(out, 4, 1000)
os.writev(out, [b"abc", b"def"])
os.lseek(out, 300, 0)
b1, b2 = bytearray(3), bytearray(3)
os.readv(out, [b1, b2])
""",
        _check_read,
    ),
    Case(
        "execve",
        """
os.execve("/bin/true", ["true", "arg1", "arg two"], dict(os.environ))
""",
        _check_exec,
    ),
    Case(
        "execveat",
        """
argv = (ctypes.c_char_p * 3)(b"echo", b"hi", None)
envp = (ctypes.c_char_p * 2)(b"SENTRY_TEST=1", None)
libc.syscall(ctypes.c_long(322), ctypes.c_long(-100), ctypes.c_char_p(b"/sentry-no-such-program"),
             argv, envp, ctypes.c_long(0))  # fails: ENOENT
libc.syscall(ctypes.c_long(322), ctypes.c_long(-100), ctypes.c_char_p(b"/bin/echo"), argv, envp,
             ctypes.c_long(0x100))  # AT_SYMLINK_NOFOLLOW
""",
        _check_execveat,
    ),
    Case(
        "clone-fork-thread",
        """
import threading
pid = os.fork()
if pid == 0:
    os._exit(3)
os.waitpid(pid, 0)
r = sc(57)
if r == 0:
    os._exit(0)
os.waitpid(r, 0)
t = threading.Thread(target=lambda: None)
t.start(); t.join()
""",
        _check_fork,
    ),
    Case(
        "procexit",
        """
sys.exit(7)
""",
        _check_procexit,
    ),
    Case(
        "files",
        """
open(W + "/f", "w").close()
os.mkdir(W + "/sub")
sc(83, (W + "/d1").encode(), 0o755)
sc(258, -100, b"d2", 0o755)
sc(82, (W + "/d1").encode(), (W + "/d3").encode())
sc(264, -100, b"d2", -100, b"d4")
sc(316, -100, b"d4", -100, b"d5", 0)
sc(84, (W + "/d3").encode())
sc(88, b"f", (W + "/s1").encode())
sc(266, b"f", -100, b"s2")
sc(86, (W + "/f").encode(), (W + "/h1").encode())
sc(265, -100, b"f", -100, b"h2", 0)
sc(87, (W + "/s1").encode())
sc(263, -100, b"s2", 0)
sc(263, -100, b"d5", 0x200)
sc(90, (W + "/f").encode(), 0o600)
sc(268, -100, b"f", 0o640)
fd = os.open(W + "/f", os.O_RDONLY)
sc(91, fd, 0o644)
sc(92, (W + "/f").encode(), 0, 0)
sc(80, b"sub")
d = os.open(W, os.O_RDONLY)
sc(81, d)
""",
        _check_files,
    ),
    Case(
        "fds",
        """
r, w = os.pipe()
sc(32, r)
sc(33, r, 50)
sc(292, r, 51, 0)
import fcntl
fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 60)
os.pipe2(0)
import select
poller = select.poll()
poller.register(r, select.POLLIN)
poller.poll(0)
""",
        _check_fds,
    ),
    Case(
        "network",
        """
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(4)
cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
cli.connect(srv.getsockname())
conn, _ = srv.accept()
cli.send(b"hello")
conn.recv(100)
cli.sendmsg([b"abc"])
conn.recvmsg(100)
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.sendto(b"udp!", u1.getsockname())
u1.recvfrom(100)
""",
        _check_net,
    ),
    Case(
        "unix-tuples",
        """
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind("srv.sock")
srv.listen(1)
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cli.bind("cli.sock")
cli.connect("srv.sock")
conn, _ = srv.accept()
cli.send(b"to-server")
conn.recv(64)
conn.send(b"to-client!")
cli.recv(64)
""",
        _check_unix_tuples,
    ),
    Case(
        "process-and-privileges",
        """
os.setuid(0)
sc(117, -1, -1, -1)
os.setgid(0)
class Hdr(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("e", ctypes.c_uint32), ("p", ctypes.c_uint32), ("i", ctypes.c_uint32)]
hdr = Hdr(0x20080522, 0)
data = (Data * 2)()
libc.syscall(ctypes.c_long(125), ctypes.byref(hdr), ctypes.byref(data))
libc.syscall(ctypes.c_long(126), ctypes.byref(hdr), ctypes.byref(data))
os.kill(os.getpid(), 0)
sc(234, os.getpid(), os.getpid(), 0)
sc(101, 2, 999999999, 0, 0)
sc(272, 0)
sc(308, -1, 0)
os.mkdir(W + "/nomount")
sc(165, b"none", (W + "/nomount").encode(), b"sentryfs", 0xC0ED0001, 0)  # MS_MGC_VAL|RDONLY
sc(166, (W + "/nomount").encode(), 0)
sc(313, -1, b"opt=c1", 0)
sc(175, 0, 0, b"opt=c2")
sc(321, 0, 0, 0)
os.close(sc(319, b"sentry-memfd", 0))
sc(157, 15, b"x", 0, 0, 0)
import mmap
m = mmap.mmap(-1, 8192)
sc(10, ctypes.addressof(ctypes.c_char.from_buffer(m)), 4096, 1)
""",
        _check_proc,
    ),
]


# ---- the workload: every captured syscall once (driver_workload.py) ---------------------

AF_UNIX, AF_INET = 1, 2
PPM_CL_CLONE_NEWUTS = 1 << 7
PPM_PTRACE_ATTACH = 11
ENOENT, ESRCH, EFAULT = 2, 3, 14

# (event name, direction, the params one such event must carry from (facts, workdir))
WorkloadParams = tuple[str, str, Callable[[dict[str, Any], str], dict[str, Any]]]

WORKLOAD_PARAMS: list[WorkloadParams] = [
    (
        "open",
        ">",
        lambda f, d: {
            "name": f"{d}/open.txt",
            "mode": 0o640,
            "flags": SCAP_O_WRONLY | SCAP_O_CREAT | SCAP_O_TRUNC,
        },
    ),
    ("open", "<", lambda f, d: {"fd": f["open_fd"], "name": f"{d}/open.txt", "mode": 0o640}),
    (
        "openat",
        "<",
        lambda f, d: {
            "fd": f["openat_fd"],
            "dirfd": -100,
            "name": f"{d}/open.txt",
            "flags": SCAP_O_RDONLY | SCAP_O_CLOEXEC,
        },
    ),
    ("creat", "<", lambda f, d: {"fd": f["creat_fd"], "name": f"{d}/creat.txt", "mode": 0o600}),
    (
        "openat2",
        "<",
        lambda f, d: {"fd": f["openat2_fd"], "name": f"{d}/open.txt", "resolve": 8},
    ),  # scap: RESOLVE_NO_SYMLINKS
    ("write", "<", lambda f, d: {"res": 12, "data": b"hello sentry"}),
    ("read", "<", lambda f, d: {"res": 12, "data": b"hello sentry"}),
    ("pread", "<", lambda f, d: {"res": 6, "data": b"sentry"}),
    ("pwrite", "<", lambda f, d: {"res": 7, "data": b"pw-data"}),
    ("readv", "<", lambda f, d: {"res": 12, "size": 12, "data": b"hello sentry"}),
    ("writev", "<", lambda f, d: {"res": 4, "data": b"abcd"}),
    ("preadv", "<", lambda f, d: {"res": 6, "data": b"sentry"}),
    ("pwritev", "<", lambda f, d: {"res": 2, "data": b"pv"}),
    ("mkdir", "<", lambda f, d: {"res": 0, "path": f"{d}/dir1"}),
    ("mkdirat", "<", lambda f, d: {"res": 0, "dirfd": -100, "path": f"{d}/dir2", "mode": 0o700}),
    ("rename", "<", lambda f, d: {"res": 0, "oldpath": f"{d}/dir1", "newpath": f"{d}/dir1b"}),
    ("renameat", "<", lambda f, d: {"res": 0, "oldpath": f"{d}/dir1b", "newpath": f"{d}/dir1c"}),
    (
        "renameat2",
        "<",
        lambda f, d: {"res": 0, "oldpath": f"{d}/dir1c", "newpath": f"{d}/dir1d", "flags": 0},
    ),
    ("rmdir", "<", lambda f, d: {"res": 0, "path": f"{d}/dir1d"}),
    ("unlinkat", "<", lambda f, d: {"res": 0, "name": f"{d}/dir2", "flags": 0x200}),
    ("symlink", "<", lambda f, d: {"res": 0, "target": "open.txt", "linkpath": f"{d}/sym1"}),
    ("symlinkat", "<", lambda f, d: {"res": 0, "target": "creat.txt", "linkpath": f"{d}/sym2"}),
    ("link", "<", lambda f, d: {"res": 0, "oldpath": f"{d}/open.txt", "newpath": f"{d}/hard1"}),
    ("linkat", "<", lambda f, d: {"res": 0, "newpath": f"{d}/hard2"}),
    ("unlink", "<", lambda f, d: {"res": 0, "path": f"{d}/hard1"}),
    ("unlinkat", "<", lambda f, d: {"res": 0, "name": f"{d}/hard2", "flags": 0}),
    ("chmod", "<", lambda f, d: {"res": 0, "filename": f"{d}/open.txt", "mode": 0o604}),
    ("fchmod", "<", lambda f, d: {"res": 0, "fd": f["fd"], "mode": 0o644}),
    ("fchmodat", "<", lambda f, d: {"res": 0, "filename": f"{d}/creat.txt", "mode": 0o611}),
    ("chdir", "<", lambda f, d: {"res": 0, "path": d}),
    ("fchdir", ">", lambda f, d: {}),
    ("dup", "<", lambda f, d: {"res": f["dup"]}),
    ("dup", "<", lambda f, d: {"res": 50}),
    ("dup", "<", lambda f, d: {"res": 51}),
    ("fcntl", "<", lambda f, d: {"res": 60}),
    ("pipe", "<", lambda f, d: {"res": 0, "fd1": f["pipe"][0], "fd2": f["pipe"][1]}),
    ("pipe", "<", lambda f, d: {"res": 0, "fd1": f["pipe2"][0], "fd2": f["pipe2"][1]}),
    (
        "socketpair",
        "<",
        lambda f, d: {"res": 0, "fd1": f["socketpair"][0], "fd2": f["socketpair"][1]},
    ),
    ("eventfd", "<", lambda f, d: {"res": f["eventfd"]}),
    ("eventfd", ">", lambda f, d: {"initval": 0, "flags": 1 << 2}),
    ("getcwd", "<", lambda f, d: {"res": len(f["getcwd"]) + 1, "path": f["getcwd"]}),
    ("access", "<", lambda f, d: {"res": f["access"], "name": f"{d}/open.txt"}),
    ("access", ">", lambda f, d: {"mode": 4}),
    ("stat", "<", lambda f, d: {"res": f["stat"], "path": f"{d}/open.txt"}),
    ("lseek", ">", lambda f, d: {"offset": 0, "whence": 0}),
    ("poll", "<", lambda f, d: {"res": f["poll"]}),
    ("nanosleep", ">", lambda f, d: {"interval": 1000}),
    ("getuid", "<", lambda f, d: {"uid": f["uid"]}),
    ("prlimit", "<", lambda f, d: {"res": 0, "oldcur": f["nofile"][0], "oldmax": f["nofile"][1]}),
    # a failed getrlimit: scap's -1 for both limits, not the words at the pointer
    ("getrlimit", "<", lambda f, d: {"res": -errno.EINVAL, "cur": -1, "max": -1}),
    ("setsid", "<", lambda f, d: {"res": f["setsid"]}),
    ("setuid", ">", lambda f, d: {"uid": 0}),
    ("setgid", ">", lambda f, d: {"gid": 0}),
    ("setresuid", ">", lambda f, d: {"ruid": 0, "euid": 0, "suid": 0}),
    ("setresgid", ">", lambda f, d: {"rgid": 0, "egid": 0, "sgid": 0}),
    ("kill", ">", lambda f, d: {"pid": f["pid"], "sig": 0}),
    ("tkill", ">", lambda f, d: {"tid": f["tid"], "sig": 0}),
    ("tgkill", ">", lambda f, d: {"pid": f["pid"], "tid": f["tid"], "sig": 0}),
    ("ptrace", ">", lambda f, d: {"request": PPM_PTRACE_ATTACH, "pid": 999999}),
    ("ptrace", "<", lambda f, d: {"res": -ESRCH}),
    (
        "mount",
        "<",
        lambda f, d: {"res": f["mount"], "dev": "none", "dir": f"{d}/mnt", "type": "tmpfs"},
    ),
    ("umount", "<", lambda f, d: {"res": f["umount2"], "name": f"{d}/mnt"}),
    ("unshare", ">", lambda f, d: {"flags": PPM_CL_CLONE_NEWUTS}),
    ("setns", ">", lambda f, d: {"fd": f["nsfd"], "nstype": PPM_CL_CLONE_NEWUTS}),
    ("mprotect", ">", lambda f, d: {"length": 4096, "prot": 1}),
    ("mmap", ">", lambda f, d: {"length": 8192, "fd": -1}),
    ("bpf", ">", lambda f, d: {"cmd": 5}),
    ("socket", ">", lambda f, d: {"domain": AF_UNIX}),
    ("socket", ">", lambda f, d: {"domain": AF_INET}),
    ("bind", "<", lambda f, d: {"res": 0, "addr": SockAddr(AF_UNIX, path=f"{d}/sock")}),
    ("listen", ">", lambda f, d: {"backlog": 4}),
    ("connect", ">", lambda f, d: {"addr": SockAddr(AF_UNIX, path=f"{d}/sock")}),
    (
        "connect",
        "<",
        lambda f, d: {
            "res": 0,
            "tuple": SockTuple(AF_INET, "127.0.0.1", f["tcp_cli_port"], "127.0.0.1", f["tcp_port"]),
        },
    ),
    (
        "accept",
        "<",
        lambda f, d: {
            "fd": f["accept"],
            "tuple": SockTuple(AF_INET, "127.0.0.1", f["tcp_cli_port"], "127.0.0.1", f["tcp_port"]),
        },
    ),
    ("sendto", "<", lambda f, d: {"res": 9, "data": b"ping-unix"}),
    ("recvfrom", "<", lambda f, d: {"res": 9, "data": b"ping-unix"}),
    ("sendmsg", "<", lambda f, d: {"res": 8, "data": b"msg-unix"}),
    ("recvmsg", "<", lambda f, d: {"res": 8, "data": b"msg-unix"}),
    ("getsockname", "<", lambda f, d: {}),
    ("getpeername", "<", lambda f, d: {}),
    ("setsockopt", "<", lambda f, d: {"res": 0, "fd": f["tcp_cli"], "optlen": 4}),
    ("getsockopt", "<", lambda f, d: {"res": 0, "fd": f["tcp_cli"], "optlen": 4}),
    ("sendmmsg", "<", lambda f, d: {}),
    ("recvmmsg", "<", lambda f, d: {}),
    (
        "getresuid",
        "<",
        lambda f, d: {
            "res": f["getresuid"],
            "ruid": f["resuid"][0],
            "euid": f["resuid"][1],
            "suid": f["resuid"][2],
        },
    ),
    ("select", "<", lambda f, d: {"res": f["select"]}),
    ("ppoll", ">", lambda f, d: {"timeout": 0, "sigmask": 0}),
    ("ppoll", "<", lambda f, d: {"res": f["ppoll"]}),
    ("semget", ">", lambda f, d: {"key": 0, "nsems": 1}),
    ("semget", "<", lambda f, d: {"res": f["semget"]}),
    ("semop", ">", lambda f, d: {"semid": f["semget"]}),
    ("semop", "<", lambda f, d: {"res": f["semop"], "nsops": 1}),
    ("semctl", ">", lambda f, d: {"semid": f["semget"], "semnum": 0, "val": 0}),
    ("semctl", "<", lambda f, d: {"res": f["semctl"]}),
    ("quotactl", "<", lambda f, d: {"res": -ENOENT, "special": f"{d}/no-such-dev"}),
    ("execve", ">", lambda f, d: {"filename": "/bin/echo"}),
    ("execveat", ">", lambda f, d: {"pathname": "/bin/true"}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["gettid"], "nativeID": 186}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["chown"], "nativeID": 92}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["fchownat"], "nativeID": 260}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["prctl"], "nativeID": 157}),
    ("init_module", "<", lambda f, d: {"length": 0, "uargs": "opt=w1"}),
    ("finit_module", "<", lambda f, d: {"fd": -1, "uargs": "opt=w2", "flags": 0}),
    ("memfd_create", "<", lambda f, d: {"fd": f["memfd"], "name": "sentry-memfd", "flags": 0}),
    ("syscall", "<", lambda f, d: {"ID": PPM_SC_BY_NAME["chown"]}),
]


def run_workload(source: Any, workdir: Path) -> tuple[Captured, dict[str, Any]]:
    """Run driver_workload.py in workdir (settled: counters cover what was delivered);
    its events and the facts (pids, fds, ports) it printed last."""
    code = (
        f"sys.argv = [{str(HERE / 'driver_workload.py')!r}, W]\n"
        "import runpy\nrunpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    cap = run_trigger(source, code, workdir, timeout=300.0, settle=True)
    facts = json.loads([ln for ln in cap.output.splitlines() if ln.startswith("{")][-1])
    return cap, facts


# ---- sampling ("dropping mode") ---------------------------------------------------------

GETPPID_NR = 110
# The child runs whole seconds from a second's start, making getppid (droppable) and
# getcwd (always dropped while sampling) calls in small timed batches, and now and then a
# process (clone, execve, procexit) and an openat (never dropped). For each batch it knows
# whether it ran inside the kept part of the second (the first 1/ratio), outside it, or
# across a border.
_SAMPLING_CODE = """
import json, time
RATIO, SECONDS, SPAWNS = {ratio}, {seconds}, {spawns}
def kept_part(t):
    return (t % 1.0) < 1.0 / RATIO
start = int(time.time()) + 1
time.sleep(start - time.time())
end = start + SECONDS
calls = inside = across = cwd_calls = 0
spawned, spawn_kept_part = [], []
next_spawn = start + 0.05
while time.time() < end:
    t = time.time()
    if SPAWNS and t >= next_spawn and len(spawned) < SPAWNS:
        next_spawn += SECONDS / SPAWNS
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/true", ["true"])
        os.waitpid(pid, 0)
        fd = os.open("sampled.txt", os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        spawned.append(pid)
        spawn_kept_part.append(kept_part(t))
    t0 = time.time()
    for _ in range(10):
        os.getppid()
    os.getcwd()
    t1 = time.time()
    calls += 10
    cwd_calls += 1
    if kept_part(t0) and kept_part(t1) and t1 - t0 < 0.5:
        inside += 10
    elif kept_part(t0) or kept_part(t1):
        across += 10
    time.sleep(0.0005)
print(json.dumps(dict(calls=calls, inside=inside, across=across, cwd_calls=cwd_calls,
                      spawned=spawned, spawn_kept_part=spawn_kept_part)))
"""


@dataclass
class SampledRun:
    """What the sampling child did (its own count) and what the driver delivered."""

    cap: Captured
    facts: dict[str, Any]

    def getppid_events(self) -> int:
        """The child's getppid enter and exit events that were delivered."""
        sc = PPM_SC_BY_NAME["getppid"]
        return sum(
            1
            for e in self.cap.named("syscall", ">") + self.cap.named("syscall", "<")
            if e.tid == self.cap.pid
            and (e.param(1) == GETPPID_NR if e.info.direction == ">" else e.param(0) == sc)
        )

    def getcwd_events(self) -> int:
        return sum(1 for e in self.cap.events if e.info.name == "getcwd" and e.tid == self.cap.pid)


def run_sampled(
    source: Any, workdir: Path, *, ratio: int, seconds: int = 2, spawns: int = 0
) -> SampledRun:
    """Run the sampling child under the source's current sampling setting (settled, so the
    counters' change covers exactly the delivered events). ratio tells the child which
    part of each second the driver keeps, to count its calls made there."""
    code = _SAMPLING_CODE.format(ratio=ratio, seconds=seconds, spawns=spawns)
    cap = run_trigger(source, code, workdir, timeout=120.0, settle=True)
    facts = json.loads([ln for ln in cap.output.splitlines() if ln.startswith("{")][-1])
    return SampledRun(cap, facts)
