"""Syscall stories for rule tests: the processes alive at the start, then their syscalls.

A :class:`Story` holds the threads a capture's process list would describe (with their
parents, users, terminals and containers) and a sequence of syscalls, each recorded as the
enter and exit events the drivers write for it (the dedicated event pair of the syscall, or
the generic pair for syscalls that have none, exactly as on x86_64).
:mod:`sentry.rules.storywriter` turns a story into a scap capture, so rule tests (``sentry
rules test``, :mod:`sentry.rules.ruletest`) run rules over the same bytes a live capture
would produce.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

# scap's portable open flags (PPM_O_*), as open/openat carry them.
O_RDONLY = 1 << 0
O_WRONLY = 1 << 1
O_RDWR = O_RDONLY | O_WRONLY
O_CREAT = 1 << 2
O_APPEND = 1 << 3
O_TRUNC = 1 << 8
O_CLOEXEC = 1 << 12
O_F_CREATED = 1 << 14  # set by the drivers on an open exit that created the file

# scap's portable mode bits (PPM_S_*) for chmod and friends.
S_ISUID = 1 << 11
S_ISGID = 1 << 10

AT_FDCWD = -100
EINPROGRESS = -115
EPERM = -1
ENOENT = -2

USERS = {0: "root", 1000: "alice", 33: "www-data"}
GROUPS = {0: "root", 1000: "alice", 33: "www-data"}
LOGIN_UNSET = 0xFFFFFFFF

_CONTAINER_SEED = "3ad7b26ded6d"


def container_id(tag: str = "a") -> str:
    """A full 64-hex container id (``tag`` makes distinct ones)."""
    return (_CONTAINER_SEED + tag.encode().hex() * 64)[:64]


@dataclass(frozen=True, slots=True)
class Proc:
    """A thread alive when the capture starts (one process-list entry; a process: tid = pid)."""

    tid: int
    comm: str
    args: tuple[str, ...]
    exe: str
    ptid: int
    uid: int
    gid: int
    loginuid: int
    cwd: str
    tty: int
    container: str | None  # 64-hex container id, or None on the host

    @property
    def cgroups(self) -> tuple[str, ...]:
        """The cgroup lines the kernel reports: docker's layout inside a container."""
        path = f"/docker/{self.container}" if self.container else "/user.slice"
        return tuple(f"{subsys}={path}" for subsys in ("cpuset", "cpu", "memory", "pids"))


@dataclass(frozen=True, slots=True)
class Fd:
    """A file descriptor open when the capture starts."""

    tid: int
    num: int
    kind: str  # "file", "ipv4", "unix"
    name: str = ""
    # ipv4 sockets: (local ip, local port, remote ip, remote port)
    tuple: tuple[str, int, str, int] | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """One event of a syscall: its syscall name, direction and parameters by name in order."""

    tid: int
    syscall: str
    direction: str  # ">" enter, "<" exit
    params: tuple[tuple[str, Any], ...]


@dataclass(slots=True)
class Story:
    """Processes at the start, open fds, then the syscalls they make, in order."""

    procs: list[Proc] = field(default_factory=list)
    fds: list[Fd] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    _tids: itertools.count[int] = field(default_factory=lambda: itertools.count(4200, 10))

    # ------------------------------------------------------------------ processes

    def proc(
        self,
        comm: str,
        *args: str,
        parent: Proc | None = None,
        exe: str | None = None,
        uid: int = 0,
        loginuid: int = LOGIN_UNSET,
        cwd: str = "/",
        tty: int = 0,
        container: str | None = None,
    ) -> Proc:
        """Add a running process; without a parent it is a child of init (pid 1)."""
        tid = next(self._tids)
        if parent is not None and container is None:
            container = parent.container
        p = Proc(
            tid=tid,
            comm=comm,
            args=tuple(args),
            exe=exe if exe is not None else comm,
            ptid=parent.tid if parent is not None else 1,
            uid=uid,
            gid=uid,
            loginuid=loginuid,
            cwd=cwd,
            tty=tty,
            container=container,
        )
        self.procs.append(p)
        return p

    def lineage(self, *comms: str, container: str | None = None, **kw: Any) -> Proc:
        """A chain of processes, oldest first (``lineage("bash", "vi")``); returns the last.

        Keyword arguments (uid, tty ...) apply to every process of the chain.
        """
        parent: Proc | None = None
        for comm in comms:
            parent = self.proc(comm, parent=parent, container=container, **kw)
        assert parent is not None
        return parent

    # ------------------------------------------------------------------ syscalls

    def syscall(self, p: Proc, name: str, enter: dict[str, Any], exit: dict[str, Any]) -> None:
        """Record one syscall as its enter and exit events."""
        self.calls.append(Call(p.tid, name, ">", tuple(enter.items())))
        self.calls.append(Call(p.tid, name, "<", tuple(exit.items())))

    def generic(self, p: Proc, name: str) -> None:
        """A syscall without a dedicated event (capset, init_module ...): the generic pair,
        which names the syscall but carries neither arguments nor result."""
        self.calls.append(Call(p.tid, name, ">", ()))
        self.calls.append(Call(p.tid, name, "<", ()))

    def open(
        self,
        p: Proc,
        path: str,
        flags: int = O_RDONLY,
        *,
        fd: int = 3,
        syscall: str = "openat",
        mode: int = 0o644,
    ) -> None:
        """open/openat/openat2 of ``path``; ``fd`` negative for a failure (errno)."""
        if syscall == "open":
            self.syscall(
                p,
                "open",
                {"name": path, "flags": flags, "mode": mode},
                {"fd": fd, "name": path, "flags": flags, "mode": mode, "dev": 0},
            )
            return
        enter: dict[str, Any] = {"dirfd": AT_FDCWD, "name": path, "flags": flags, "mode": mode}
        exit_: dict[str, Any] = {
            "fd": fd,
            "dirfd": AT_FDCWD,
            "name": path,
            "flags": flags,
            "mode": mode,
            "dev": 0,
        }
        if syscall == "openat2":
            enter["resolve"] = 0
            exit_ = {k: v for k, v in exit_.items() if k != "dev"} | {"resolve": 0}
        self.syscall(p, syscall, enter, exit_)

    def execve(
        self,
        parent: Proc,
        comm: str,
        *args: str,
        exe: str | None = None,
        filename: str | None = None,
        uid: int | None = None,
        tty: int | None = None,
        res: int = 0,
    ) -> Proc:
        """``parent`` forks a child that executes ``comm`` (the child is returned).

        The child is listed in the process list as a copy of the parent (the fork happened
        before the capture); the execve events then give it its new program, as the
        drivers report it.
        """
        child = self.proc(
            parent.comm,
            *parent.args,
            parent=parent,
            exe=parent.exe,
            uid=parent.uid if uid is None else uid,
            loginuid=parent.loginuid,
            cwd=parent.cwd,
            tty=parent.tty if tty is None else tty,
        )
        exe = exe if exe is not None else comm
        filename = filename if filename is not None else f"/usr/bin/{comm}"
        self.syscall(
            child,
            "execve",
            {"filename": filename},
            {
                "res": res,
                "exe": exe,
                "args": b"".join(a.encode() + b"\0" for a in args),
                "tid": child.tid,
                "pid": child.tid,
                "ptid": parent.tid,
                "cwd": child.cwd,
                "fdlimit": 1024,
                "pgft_maj": 0,
                "pgft_min": 0,
                "vm_size": 1000,
                "vm_rss": 100,
                "vm_swap": 0,
                "comm": comm,
                "cgroups": b"".join(c.encode() + b"\0" for c in child.cgroups),
                "env": b"PATH=/usr/bin:/bin\0",
                "tty": child.tty,
                "pgid": child.tid,
                "loginuid": child.loginuid - (1 << 32) if child.loginuid >> 31 else child.loginuid,
                "flags": 0,
            },
        )
        return child

    def execveat(self, p: Proc, pathname: str, flags: int) -> None:
        """The enter half of execveat (dirfd, pathname, flags) and a failed exit."""
        self.calls.append(
            Call(
                p.tid,
                "execveat",
                ">",
                (("dirfd", AT_FDCWD), ("pathname", pathname), ("flags", flags)),
            )
        )

    def socket(self, p: Proc, fd: int, *, family: int = 2) -> None:
        """socket(AF_INET, SOCK_STREAM) returning ``fd``."""
        self.syscall(p, "socket", {"domain": family, "type": 1, "proto": 0}, {"fd": fd})

    def connect(self, p: Proc, ip: str, port: int, *, fd: int = 5, res: int = 0) -> None:
        """socket + connect to ``ip:port`` from 10.0.0.5:40000."""
        self.socket(p, fd, family=10 if ":" in ip else 2)
        local = "::1" if ":" in ip else "10.0.0.5"
        self.syscall(
            p,
            "connect",
            {"fd": fd, "addr": ("inet", ip, port)},
            {"res": res, "tuple": ("inet", local, 40000, ip, port)},
        )

    def connect_unix(self, p: Proc, path: str, *, fd: int = 5, res: int = 0) -> None:
        """socket(AF_UNIX) + connect to the socket at ``path``."""
        self.socket(p, fd, family=1)
        self.syscall(
            p,
            "connect",
            {"fd": fd, "addr": ("unix", path)},
            {"res": res, "tuple": ("unix", 0xFFFF0001, 0xFFFF0002, path)},
        )

    def listen(self, p: Proc, *, fd: int = 5, port: int = 4444) -> None:
        """socket + bind to 0.0.0.0:``port`` + listen."""
        self.socket(p, fd)
        self.syscall(p, "bind", {"fd": fd}, {"res": 0, "addr": ("inet", "0.0.0.0", port)})
        self.syscall(p, "listen", {"fd": fd, "backlog": 5}, {"res": 0})

    def dup(self, p: Proc, oldfd: int, newfd: int) -> None:
        """dup2(oldfd, newfd): the drivers write the dup pair with the old fd and the result."""
        self.syscall(p, "dup2", {"fd": oldfd}, {"res": newfd})

    def unlink(self, p: Proc, path: str, *, at: bool = True, res: int = 0) -> None:
        if at:
            self.syscall(
                p, "unlinkat", {}, {"res": res, "dirfd": AT_FDCWD, "name": path, "flags": 0}
            )
        else:
            self.syscall(p, "unlink", {}, {"res": res, "path": path})

    def rename(self, p: Proc, old: str, new: str, *, res: int = 0) -> None:
        self.syscall(
            p,
            "renameat",
            {},
            {
                "res": res,
                "olddirfd": AT_FDCWD,
                "oldpath": old,
                "newdirfd": AT_FDCWD,
                "newpath": new,
            },
        )

    def mkdir(self, p: Proc, path: str, *, res: int = 0) -> None:
        self.syscall(p, "mkdirat", {}, {"res": res, "dirfd": AT_FDCWD, "path": path, "mode": 0o755})

    def chmod(self, p: Proc, path: str, mode: int, *, res: int = 0) -> None:
        self.syscall(
            p, "fchmodat", {}, {"res": res, "dirfd": AT_FDCWD, "filename": path, "mode": mode}
        )

    def symlink(self, p: Proc, target: str, linkpath: str, *, res: int = 0) -> None:
        self.syscall(
            p,
            "symlinkat",
            {},
            {"res": res, "target": target, "linkdirfd": AT_FDCWD, "linkpath": linkpath},
        )

    def setuid(self, p: Proc, uid: int, *, res: int = 0) -> None:
        self.syscall(p, "setuid", {"uid": uid}, {"res": res})

    def setresuid(self, p: Proc, ruid: int, euid: int, suid: int, *, res: int = 0) -> None:
        self.syscall(p, "setresuid", {"ruid": ruid, "euid": euid, "suid": suid}, {"res": res})

    def ptrace(self, p: Proc, request: int, pid: int, *, res: int = 0) -> None:
        self.syscall(
            p,
            "ptrace",
            {"request": request, "pid": pid},
            {"res": res, "addr": (0, 0), "data": (0, 0)},
        )

    def setns(self, p: Proc, *, fd: int = 7, nstype: int = 0, res: int = 0) -> None:
        self.syscall(p, "setns", {"fd": fd, "nstype": nstype}, {"res": res})

    def unshare(self, p: Proc, flags: int, *, res: int = 0) -> None:
        self.syscall(p, "unshare", {"flags": flags}, {"res": res})

    def mount(self, p: Proc, dev: str, target: str, fstype: str, *, res: int = 0) -> None:
        self.syscall(
            p, "mount", {"flags": 0}, {"res": res, "dev": dev, "dir": target, "type": fstype}
        )

    def bpf(self, p: Proc, cmd: int = 5, *, res: int = 3) -> None:
        """bpf(BPF_PROG_LOAD ...) returning ``res`` (a new fd, or a negative errno)."""
        # res_or_fd is dynamic: index 0 an fd, index 1 an errno.
        self.syscall(p, "bpf", {"cmd": cmd}, {"res_or_fd": (0, res) if res >= 0 else (1, res)})


# Portable (scap) values of the flag parameters used below.
PTRACE_PEEKDATA = 3
PTRACE_POKETEXT = 5
PTRACE_POKEDATA = 6
PTRACE_ATTACH = 11
PTRACE_SEIZE = 20
PTRACE_GETREGS = 26
CLONE_NEWNS = 1 << 5
CLONE_NEWUSER = 1 << 20
AT_EMPTY_PATH = 1 << 0
AT_SYMLINK_NOFOLLOW = 1 << 1
