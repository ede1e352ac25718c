"""A small synthetic capture exercising every state change, written with ScapWriter.

A bash (pid 100, child of systemd) forks 101, which chdirs, execs cat, opens a file
relative to its cwd and through a dirfd, dups it, makes a pipe, connects a TCP socket out,
binds/listens/accepts on another, reads, closes, changes uid and exits. A thread (102) of
bash is cloned with CLONE_THREAD|CLONE_FILES and opens a file bash then sees.
"""

from __future__ import annotations

from pathlib import Path

from sentry.capture.scapmeta import (
    FD_FILE_V2,
    GroupEntry,
    Interface,
    MachineInfo,
    ThreadEntry,
    UserEntry,
)
from sentry.capture.scapmeta import FdEntry as ScapFd
from sentry.capture.scapwriter import ScapWriter
from sentry.events.event import SockAddr, SockTuple

T0 = 1_700_000_000_000_000_000
CL_CLONE_FILES, CL_CLONE_THREAD = 1 << 0, 1 << 13
CL_CLONE_SIGHAND, CL_CLONE_VM = 1 << 11, 1 << 15
O_RDONLY, O_WRONLY, O_CREAT, O_DIRECTORY = 1, 2, 4, 1 << 10
AT_FDCWD = -100
CGROUPS = b"cpuset=/\0memory=/user.slice\0"
DOCKER_CGROUPS = (
    b"cpuset=/docker/" + b"3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e\0"
)


def _proc(w: ScapWriter, name: str, *values: object, tid: int) -> None:
    w.write_event(name, *values, tid=tid)


def write_story(path: Path) -> Path:
    threads = [
        ThreadEntry(
            1,
            1,
            0,
            comm="systemd",
            exe="/sbin/init",
            exepath="/sbin/init",
            cwd="/",
            uid=0,
            gid=0,
            sid=1,
            vpgid=1,
            vtid=1,
            vpid=1,
            cgroups=["cpuset=/"],
        ),
        ThreadEntry(
            100,
            100,
            1,
            comm="bash",
            exe="-bash",
            exepath="/bin/bash",
            args=["--login"],
            cwd="/home/alice",
            uid=1000,
            gid=1000,
            sid=100,
            vpgid=100,
            vtid=100,
            vpid=100,
            loginuid=1000,
            tty=34816,
            env=["HOME=/home/alice", "SHELL=/bin/bash"],
            cgroups=["cpuset=/"],
        ),
    ]
    fds = [ScapFd(100, 0, 11, FD_FILE_V2, "/dev/pts/0", open_flags=O_RDWR_FLAGS)]
    users = [
        UserEntry(0, 0, "root", "/root", "/bin/bash"),
        UserEntry(1000, 1000, "alice", "/home/alice", "/bin/zsh"),
    ]
    groups = [GroupEntry(0, "root"), GroupEntry(1000, "alice")]
    ifaces = [
        Interface("lo", 4, "127.0.0.1", "255.0.0.0", "127.0.0.1"),
        Interface("eth0", 4, "192.168.1.2", "255.255.255.0", "192.168.1.255"),
    ]
    with ScapWriter(
        path,
        machine=MachineInfo(num_cpus=2, hostname="story"),
        threads=threads,
        fds=fds,
        users=users,
        groups=groups,
        interfaces=ifaces,
    ) as w:
        bash, child, thr = 100, 101, 102
        common = (0, 0, 1000, 100, 10, 0)  # fdlimit, pgft_maj, pgft_min, vm_size, rss, swap
        # bash forks 101: parent half, then child half.
        w.write_event("clone>", tid=bash, ts=T0 + 1)
        _proc(
            w,
            "clone<",
            child,
            "-bash",
            b"--login\0",
            bash,
            bash,
            1,
            "/home/alice",
            *common,
            "bash",
            CGROUPS,
            0,
            1000,
            1000,
            child,
            child,
            tid=bash,
        )
        _proc(
            w,
            "clone<",
            0,
            "-bash",
            b"--login\0",
            child,
            child,
            bash,
            "/home/alice",
            *common,
            "bash",
            CGROUPS,
            0,
            1000,
            1000,
            child,
            child,
            tid=child,
        )
        # a thread of bash sharing its fds
        flags = CL_CLONE_THREAD | CL_CLONE_FILES | CL_CLONE_SIGHAND | CL_CLONE_VM
        _proc(w, "clone>", tid=bash)
        _proc(
            w,
            "clone<",
            thr,
            "-bash",
            b"--login\0",
            bash,
            bash,
            1,
            "/home/alice",
            *common,
            "bash",
            CGROUPS,
            flags,
            1000,
            1000,
            thr,
            bash,
            tid=bash,
        )
        _proc(w, "openat>", AT_FDCWD, "shared.txt", O_RDONLY, 0, tid=thr)
        _proc(w, "openat<", 5, AT_FDCWD, "shared.txt", O_RDONLY, 0, 0, tid=thr)
        _proc(w, "read>", 5, 10, tid=bash)
        _proc(w, "read<", 4, b"abcd", tid=bash)
        # the child moves and becomes cat
        _proc(w, "chdir>", tid=child)
        _proc(w, "chdir<", 0, "work/../docs", tid=child)
        _proc(w, "execve>", "/usr/bin/cat", tid=child)
        _proc(
            w,
            "execve<",
            0,
            "cat",
            b"notes.txt\0-n\0",
            child,
            child,
            bash,
            "/home/alice/docs",
            1024,
            0,
            50,
            200,
            20,
            0,
            "cat",
            DOCKER_CGROUPS,
            b"HOME=/home/alice\0PATH=/usr/bin\0",
            34816,
            child,
            1000,
            0,
            tid=child,
        )
        _proc(w, "openat>", AT_FDCWD, "notes.txt", O_RDONLY, 0, tid=child)
        _proc(w, "openat<", 3, AT_FDCWD, "notes.txt", O_RDONLY, 0, 2049, tid=child)
        _proc(w, "openat>", AT_FDCWD, "/etc", O_RDONLY | O_DIRECTORY, 0, tid=child)
        _proc(w, "openat<", 4, AT_FDCWD, "/etc", O_RDONLY | O_DIRECTORY, 0, 2049, tid=child)
        _proc(w, "openat>", 4, "passwd", O_RDONLY, 0, tid=child)
        _proc(w, "openat<", 6, 4, "passwd", O_RDONLY, 0, 2049, tid=child)
        _proc(w, "openat>", AT_FDCWD, "missing", O_RDONLY, 0, tid=child)
        _proc(w, "openat<", -2, AT_FDCWD, "missing", O_RDONLY, 0, 0, tid=child)
        _proc(w, "openat>", AT_FDCWD, "/tmp/run.sh", O_WRONLY | O_CREAT, 0o755, tid=child)
        _proc(w, "openat<", 7, AT_FDCWD, "/tmp/run.sh", O_WRONLY | O_CREAT, 0o755, 2049, tid=child)
        _proc(w, "dup>", 3, tid=child)
        _proc(w, "dup<", 8, tid=child)
        _proc(w, "read>", 8, 100, tid=child)
        _proc(w, "read<", 5, b"hello", tid=child)
        _proc(w, "pipe>", tid=child)
        _proc(w, "pipe<", 0, 9, 10, 4242, tid=child)
        # an outgoing TCP connection
        _proc(w, "socket>", 2, 1, 0, tid=child)
        _proc(w, "socket<", 11, tid=child)
        _proc(w, "connect>", 11, SockAddr(2, "10.0.0.5", 443), tid=child)
        _proc(w, "connect<", 0, SockTuple(2, "192.168.1.2", 40000, "10.0.0.5", 443), tid=child)
        _proc(w, "write>", 11, 5, tid=child)
        _proc(w, "write<", 5, b"GET /", tid=child)
        # a server socket and an accepted connection
        _proc(w, "socket>", 2, 1, 0, tid=child)
        _proc(w, "socket<", 12, tid=child)
        _proc(w, "bind>", 12, tid=child)
        _proc(w, "bind<", 0, SockAddr(2, "0.0.0.0", 8080), tid=child)
        _proc(w, "accept>", 0, tid=child)
        _proc(
            w,
            "accept<",
            13,
            SockTuple(2, "172.16.0.9", 51000, "192.168.1.2", 8080),
            0,
            0,
            128,
            tid=child,
        )
        _proc(w, "recvfrom>", 13, 100, tid=child)
        _proc(w, "recvfrom<", 3, b"hey", None, tid=child)
        _proc(w, "close>", 3, tid=child)
        _proc(w, "close<", 0, tid=child)
        _proc(w, "read>", 3, 10, tid=child)
        _proc(w, "read<", -9, b"", tid=child)
        _proc(w, "setuid>", 0, tid=child)
        _proc(w, "setuid<", 0, tid=child)
        _proc(w, "read>", 8, 10, tid=child)
        _proc(w, "read<", 0, b"", tid=child)
        _proc(w, "procexit>", 0, 0, 0, 0, tid=child)
        _proc(w, "read>", 5, 10, tid=thr)
        _proc(w, "read<", 0, b"", tid=thr)
        # A thread seen from both halves shares bash's fds; datagrams name a UDP peer.
        worker = 103
        _proc(w, "clone>", tid=bash)
        _proc(
            w,
            "clone<",
            worker,
            "-bash",
            b"--login\0",
            bash,
            bash,
            1,
            "/home/alice",
            *common,
            "bash",
            CGROUPS,
            flags,
            1000,
            1000,
            worker,
            bash,
            tid=bash,
        )
        _proc(
            w,
            "clone<",
            0,
            "-bash",
            b"--login\0",
            worker,
            bash,
            1,
            "/home/alice",
            *common,
            "bash",
            CGROUPS,
            flags,
            1000,
            1000,
            worker,
            bash,
            tid=worker,
        )
        _proc(w, "openat>", AT_FDCWD, "/var/log/app.log", O_WRONLY, 0, tid=worker)
        _proc(w, "openat<", 14, AT_FDCWD, "/var/log/app.log", O_WRONLY, 0, 2049, tid=worker)
        _proc(w, "write>", 14, 3, tid=bash)
        _proc(w, "write<", 3, b"ok\n", tid=bash)
        _proc(w, "socketpair>", 1, 1, 0, tid=worker)
        _proc(w, "socketpair<", 0, 15, 16, 0xFFFF1, 0xFFFF2, tid=worker)
        _proc(w, "eventfd>", 0, 0, tid=worker)
        _proc(w, "eventfd<", 17, tid=worker)
        _proc(w, "socket>", 2, 2, 0, tid=worker)
        _proc(w, "socket<", 18, tid=worker)
        _proc(w, "sendto>", 18, 4, SockTuple(2, "192.168.1.2", 5353, "8.8.8.8", 53), tid=worker)
        _proc(w, "sendto<", 4, b"ping", tid=worker)
        _proc(w, "recvfrom>", 18, 100, tid=worker)
        _proc(
            w, "recvfrom<", 4, b"pong", SockTuple(2, "8.8.8.8", 53, "192.168.1.2", 5353), tid=worker
        )
        _proc(w, "close>", 14, tid=bash)
        _proc(w, "close<", 0, tid=bash)
        _proc(w, "write>", 14, 3, tid=worker)
        _proc(w, "write<", -9, b"", tid=worker)
        _proc(w, "procexit>", 0, 0, 0, 0, tid=worker)
    return path


O_RDWR_FLAGS = 3
