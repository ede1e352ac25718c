"""A child process that makes each captured syscall once, with arguments tests can recognise.

usage: python3 driver_workload.py DIR   (or run by driver_cases.run_workload)
Works under DIR and prints one JSON object (pids, fds, ports) for the assertions. Syscalls
whose exact number matters are made with syscall(2) so libc cannot substitute another one.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import socket
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
AT_FDCWD = -100
CLONE_NEWUTS = 0x04000000
F_DUPFD_CLOEXEC = 1030
PTRACE_ATTACH = 16
BPF_PROG_LOAD = 5
PROT_READ = 1
MSG_DONTWAIT = 0x40
IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0
Q_GETFMT_USRQUOTA = 0x800004 << 8  # QCMD(Q_GETFMT, USRQUOTA)


def sc(nr: int, *args: object) -> int:
    return int(libc.syscall(nr, *args))


def main() -> None:
    d = sys.argv[1]

    def p(name: str) -> bytes:
        return os.path.join(d, name).encode()

    facts: dict[str, object] = {"pid": os.getpid()}

    # open family, read/write family
    fd = sc(2, p("open.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    facts["open_fd"] = fd
    os.write(fd, b"hello sentry")
    os.close(fd)
    fd = os.open(p("open.txt"), os.O_RDONLY)
    facts["openat_fd"] = fd
    os.read(fd, 100)
    os.pread(fd, 6, 6)
    os.lseek(fd, 0, os.SEEK_SET)
    os.readv(fd, [bytearray(5), bytearray(7)])
    iov = (ctypes.c_char * 6)()
    vec = (ctypes.c_void_p * 2)(ctypes.addressof(iov), 6)
    sc(295, fd, vec, 1, 6, 0)  # preadv: libc may pick preadv2
    os.close(fd)
    fd = sc(85, p("creat.txt"), 0o600)
    facts["creat_fd"] = fd
    os.pwrite(fd, b"pw-data", 0)
    os.writev(fd, [b"ab", b"cd"])
    out = ctypes.create_string_buffer(b"pv", 2)
    vec = (ctypes.c_void_p * 2)(ctypes.addressof(out), 2)
    sc(296, fd, vec, 1, 9, 0)  # pwritev
    os.close(fd)
    how = (ctypes.c_uint64 * 3)(os.O_RDONLY, 0, 4)  # RESOLVE_NO_SYMLINKS
    fd = sc(437, AT_FDCWD, p("open.txt"), ctypes.byref(how), 24)
    facts["openat2_fd"] = fd
    os.close(fd)
    facts["efault"] = sc(257, AT_FDCWD, ctypes.c_void_p(1), 0)  # unreadable path

    # names
    sc(83, p("dir1"), 0o750)
    sc(258, AT_FDCWD, p("dir2"), 0o700)
    sc(82, p("dir1"), p("dir1b"))
    sc(264, AT_FDCWD, p("dir1b"), AT_FDCWD, p("dir1c"))
    sc(316, AT_FDCWD, p("dir1c"), AT_FDCWD, p("dir1d"), 0)
    sc(84, p("dir1d"))
    sc(263, AT_FDCWD, p("dir2"), 0x200)  # AT_REMOVEDIR
    sc(88, b"open.txt", p("sym1"))
    sc(266, b"creat.txt", AT_FDCWD, p("sym2"))
    sc(86, p("open.txt"), p("hard1"))
    sc(265, AT_FDCWD, p("open.txt"), AT_FDCWD, p("hard2"), 0)
    sc(87, p("hard1"))
    sc(263, AT_FDCWD, p("hard2"), 0)
    sc(90, p("open.txt"), 0o604)
    fd = os.open(p("open.txt"), os.O_RDONLY)
    sc(91, fd, 0o644)
    sc(268, AT_FDCWD, p("creat.txt"), 0o611)
    sc(80, d.encode())
    dirfd = os.open(d, os.O_RDONLY)
    sc(81, dirfd)

    # fds
    facts["fd"] = fd
    facts["dup"] = sc(32, fd)
    facts["dup2"] = sc(33, fd, 50)
    facts["dup3"] = sc(292, fd, 51, os.O_CLOEXEC)
    facts["fcntl"] = sc(72, fd, F_DUPFD_CLOEXEC, 60)
    fds = (ctypes.c_int * 2)()
    sc(22, fds)
    facts["pipe"] = list(fds)
    sc(293, fds, os.O_CLOEXEC)
    facts["pipe2"] = list(fds)

    # more fds, files and resources
    a, b = socket.socketpair()
    facts["socketpair"] = [a.fileno(), b.fileno()]
    facts["eventfd"] = os.eventfd(0, os.EFD_CLOEXEC)
    facts["getcwd"] = os.getcwd()
    facts["access"] = sc(21, p("open.txt"), os.R_OK)
    statbuf = ctypes.create_string_buffer(256)
    facts["stat"] = sc(4, p("open.txt"), statbuf)
    pollfd = (ctypes.c_int * 2)(fds[0], 1)  # POLLIN
    facts["poll"] = sc(7, pollfd, 1, 0)
    sleep = (ctypes.c_long * 2)(0, 1000)
    sc(35, sleep, None)
    facts["uid"] = sc(102)
    limits = (ctypes.c_uint64 * 2)()
    facts["prlimit"] = sc(302, 0, 7, None, limits)  # RLIMIT_NOFILE
    facts["nofile"] = list(limits)
    bad = (ctypes.c_uint64 * 2)(7, 7)
    facts["getrlimit_bad"] = sc(97, 4096, bad)  # no such resource: -1 (EINVAL), limits unset
    facts["setsid"] = sc(112)

    # syscalls written as generic events (their events are newer than sysdig 0.29's table)
    sc(92, p("open.txt"), 0, 0)  # chown
    sc(260, AT_FDCWD, p("creat.txt"), 0, 0, 0)  # fchownat
    sc(157, 16, ctypes.create_string_buffer(16))  # prctl(PR_GET_NAME)
    sc(175, None, 0, b"opt=w1")  # init_module: fails
    sc(313, -1, b"opt=w2", 0)  # finit_module: fails
    facts["memfd"] = sc(319, b"sentry-memfd", 0)

    # credentials, signals, ptrace
    sc(105, 0)
    sc(106, 0)
    sc(117, 0, 0, 0)
    sc(119, 0, 0, 0)
    ids = (ctypes.c_uint32 * 3)()
    facts["getresuid"] = sc(118, ids, ctypes.byref(ids, 4), ctypes.byref(ids, 8))
    facts["resuid"] = list(ids)
    facts["tid"] = tid = sc(186)
    sc(62, os.getpid(), 0)
    sc(200, tid, 0)
    sc(234, os.getpid(), tid, 0)
    sc(101, PTRACE_ATTACH, 999999, 0, 0)

    # mounts and namespaces
    os.mkdir(p("mnt"))
    facts["mount"] = sc(165, b"none", p("mnt"), b"tmpfs", 0, None)
    facts["umount2"] = sc(166, p("mnt"), 0)
    facts["unshare"] = sc(272, CLONE_NEWUTS)
    nsfd = os.open("/proc/self/ns/uts", os.O_RDONLY)
    facts["nsfd"] = nsfd
    facts["setns"] = sc(308, nsfd, CLONE_NEWUTS)

    # memory, bpf
    m = mmap.mmap(-1, 8192)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    facts["mprotect"] = sc(10, ctypes.c_void_p(addr), 4096, PROT_READ)
    facts["bpf"] = sc(321, BPF_PROG_LOAD, None, 0)

    # sockets: unix stream, and tcp on loopback
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(p("sock"))
    srv.listen(4)
    cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cli.connect(p("sock"))
    conn, _ = srv.accept()
    cli.send(b"ping-unix")
    conn.recv(64)
    cli.sendmsg([b"msg-", b"unix"])
    conn.recvmsg(64)
    facts["unix_cli"] = cli.fileno()
    tsrv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tsrv.bind(("127.0.0.1", 0))
    tsrv.listen(4)
    facts["tcp_port"] = tsrv.getsockname()[1]
    tcli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcli.connect(("127.0.0.1", facts["tcp_port"]))
    facts["tcp_cli_port"] = tcli.getsockname()[1]
    facts["tcp_cli"] = tcli.fileno()
    facts["accept"] = tconn = sc(43, tsrv.fileno(), None, None)
    os.close(tconn)
    tcli.getpeername()
    tcli.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    facts["keepalive"] = tcli.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    facts["sendmmsg"] = sc(307, cli.fileno(), None, 0, 0)
    facts["recvmmsg"] = sc(299, conn.fileno(), None, 0, MSG_DONTWAIT, None)

    # waits, semaphores, quotas
    timeout = (ctypes.c_long * 2)(0, 0)
    facts["select"] = sc(23, 0, None, None, None, timeout)
    facts["ppoll"] = sc(271, pollfd, 1, timeout, None, 8)
    facts["semget"] = semid = sc(64, IPC_PRIVATE, 1, IPC_CREAT | 0o600)
    sembuf = (ctypes.c_short * 3)(0, 1, 0)  # sem_num 0, sem_op +1, sem_flg 0
    facts["semop"] = sc(65, semid, sembuf, 1)
    facts["semctl"] = sc(66, semid, 0, IPC_RMID, 0)
    facts["quotactl"] = sc(179, Q_GETFMT_USRQUOTA, p("no-such-dev"), 0, None)

    # processes: fork + execve with args and env, fork(2), clone3 (posix_spawn), execveat
    child = os.fork()
    if child == 0:
        os.execve("/bin/echo", ["echo", "sentry-arg1", "sentry-arg2"], {"SENTRY_ENV": "yes"})
    facts["exec_child"] = child
    os.waitpid(child, 0)
    child = sc(57)
    if child == 0:
        os._exit(3)
    facts["fork_child"] = child
    os.waitpid(child, 0)
    facts["spawn_child"] = spawned = os.posix_spawn("/bin/true", ["true"], {})
    os.waitpid(spawned, 0)
    child = os.fork()
    if child == 0:
        argv = (ctypes.c_char_p * 3)(b"true", b"via-execveat", None)
        envp = (ctypes.c_char_p * 1)(None)
        sc(322, AT_FDCWD, b"/bin/true", argv, envp, 0)
        os._exit(127)
    facts["execveat_child"] = child
    facts["execveat_status"] = os.waitpid(child, 0)[1]
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
