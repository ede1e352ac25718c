"""ScapWriter output is read back the same by our reader and by the real sysdig."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentry.capture.scapmeta import (
    FD_FILE_V2,
    FD_IPV4_SOCK,
    FdEntry,
    GroupEntry,
    Interface,
    MachineInfo,
    ThreadEntry,
    UserEntry,
)
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.events.event import FdList, SockAddr, SockTuple
from sentry.events.table import EventType as T
from sentry.fields.argtext import args_text
from sysdig_ref import sysdig_lines

SEP = "\x1f"
TS0 = 1_700_000_000_000_000_000
TID = 4242

# (event, values): every parameter renders without needing state (no fd is ever created,
# paths are absolute, pids are not threads sysdig knows).
STATELESS = [
    (T.SYSCALL_OPEN_E, ("/etc/passwd", 4097, 0)),
    (T.SYSCALL_OPEN_X, (-2, "/etc/shadow", 1 | 4 | 512, 0o640, 0x803)),
    (T.SYSCALL_OPENAT_2_E, (-100, "/tmp/x", 2 | 64, 0o600)),
    (T.SYSCALL_CLOSE_X, (-9,)),
    (T.SYSCALL_READ_X, (11, b"hello\nworld\x00\xff")),
    (T.SYSCALL_WRITE_X, (100, b"Z" * 100)),
    (T.SYSCALL_WRITE_X, (80, b"Y" * 80)),
    (T.SOCKET_CONNECT_E, (-1, SockAddr(2, "10.1.2.3", 443))),
    (T.SOCKET_CONNECT_E, (-1, SockAddr(10, "fe80::1", 8080))),
    (T.SOCKET_CONNECT_E, (-1, SockAddr(1, path="/var/run/docker.sock"))),
    (T.SOCKET_CONNECT_X, (-111, SockTuple(2, "10.0.0.1", 4000, "10.0.0.2", 80))),
    (T.SOCKET_CONNECT_X, (-111, SockTuple(10, "::1", 4000, "2001:db8::2", 53))),
    (T.SOCKET_SOCKET_E, (2, 1, 6)),
    (T.SYSCALL_KILL_E, (77, 9)),
    (T.SYSCALL_TGKILL_E, (77, 78, 15)),
    (T.SYSCALL_NANOSLEEP_E, (1_500_000_000,)),
    (T.SYSCALL_SETUID_E, (0,)),
    (T.SYSCALL_SETRESGID_E, (0, 5, 0xFFFFFFFF)),
    (T.SYSCALL_CHMOD_X, (0, "/tmp/x", 0o4755)),
    (T.SYSCALL_MMAP_E, (0x7F0000001000, 4096, 7, 0x22, -1, 0)),
    (T.SYSCALL_BRK_4_X, (0x55AA000, 1, 2, 3)),
    (T.SYSCALL_PTRACE_E, (16, 77)),
    (T.SYSCALL_PTRACE_X, (0, (0, 0x1234), (1, 9))),
    (T.SYSCALL_BPF_X, ((1, -1),)),
    (T.SYSCALL_EXECVE_19_E, ("/usr/bin/id",)),
    (T.SYSCALL_UNSHARE_E, (1 << 20 | 1 << 6,)),
    (T.SYSCALL_SETNS_E, (-1, 0x30)),
    (T.SYSCALL_MOUNT_X, (0, "/dev/sda1", "/mnt", "ext4")),
    (T.SYSCALL_UMOUNT_E, (3,)),
    (T.SYSCALL_RENAMEAT2_X, (0, -100, "/a", -100, "/b", 1)),
    (T.SYSCALL_UNLINKAT_2_X, (-13, -100, "/dir", 0x200)),
    (T.SYSCALL_PPOLL_E, (FdList(((1, 0), (2, 0xFFFF))), 5_000_000, 0x4001)),
    (T.SYSCALL_FUTEX_E, (0x7F00, 129, 1)),
    (T.SYSCALL_SEMCTL_E, (1, 2, 4096, -4)),
    (T.SYSCALL_GETRLIMIT_X, (0, -1, 1024)),
    (T.SYSCALL_ACCESS_E, (7,)),
    (T.SYSCALL_LSEEK_E, (-1, 100, 2)),
    (T.SYSCALL_OPENAT2_X, (-17, -100, "/tmp/f", 6, 0o600, 9)),
    (T.SYSCALL_MPROTECT_E, (0x7F0000, 4096, 0)),
    (T.PROCEXIT_1_E, (256, 1, 9, 0)),
    (T.SIGNALDELIVER_E, (1, 77, 15)),
    (T.SYSCALL_SECCOMP_E, (1,)),
    (T.SYSCALL_FCHMODAT_X, (0, -100, "/etc/x", 0o644)),
    (T.GENERIC_E, (164, 231)),
    (T.GENERIC_X, (164,)),
]


def write_stateless(path: Path, compress: bool = False) -> list[bytes]:
    records = []
    with ScapWriter(path, compress=compress) as w:
        for i, (etype, values) in enumerate(STATELESS):
            records.append(w.write_event(etype, *values, ts=TS0 + i * 1000, tid=TID, cpu=i % 3))
    return records


def test_reader_returns_what_the_writer_wrote(tmp_path: Path) -> None:
    path = tmp_path / "stateless.scap"
    records = write_stateless(path)
    events = list(ScapReader(path))
    assert len(events) == len(STATELESS)
    for i, (evt, (etype, values)) in enumerate(zip(events, STATELESS, strict=True)):
        assert (evt.num, evt.type, evt.tid, evt.ts, evt.cpu) == (
            i + 1,
            etype,
            TID,
            TS0 + i * 1000,
            i % 3,
        )
        assert evt.record() == records[i]
        for j, value in enumerate(values):
            decoded = evt.param(j)
            expected = value[1] if isinstance(value, tuple) else value
            if isinstance(expected, int) and evt.param_info(j).type.name in (
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "FLAGS8",
                "FLAGS16",
                "FLAGS32",
                "UID",
                "GID",
                "MODE",
                "SIGSET",
                "SYSCALLID",
                "SIGTYPE",
                "RELTIME",
            ):
                expected &= (1 << (8 * len(evt.raw(j)))) - 1
            assert decoded == expected, (evt, j)


@pytest.mark.sysdig
@pytest.mark.parametrize("compress", [False, True])
def test_sysdig_reads_written_events(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "stateless.scap"
    write_stateless(path, compress)
    fmt = SEP.join(["%evt.num", "%evt.rawtime", "%evt.cpu", "%thread.tid", "%evt.dir", "%evt.args"])
    lines = sysdig_lines(path, fmt)
    assert len(lines) == len(STATELESS)
    for line, evt in zip(lines, ScapReader(path), strict=True):
        num, rawtime, cpu, tid, direction, args = line.split(SEP)
        assert (int(num), int(rawtime), int(cpu), int(tid)) == (evt.num, evt.ts, evt.cpu, evt.tid)
        assert direction == evt.info.direction
        assert args.rstrip(" ") == args_text(evt).rstrip(" ")


@pytest.mark.sysdig
def test_sysdig_sees_written_metadata(tmp_path: Path) -> None:
    path = tmp_path / "meta.scap"
    shell = ThreadEntry(
        500,
        500,
        1,
        comm="bash",
        exe="/bin/bash",
        exepath="/usr/bin/bash",
        args=["-i"],
        cwd="/home/alice/",
        uid=1000,
        gid=1000,
        loginuid=1000,
        vtid=500,
        vpid=500,
        sid=500,
        vpgid=500,
        env=["HOME=/home/alice"],
    )
    fds = [
        FdEntry(500, 3, 1234, FD_FILE_V2, name="/etc/hosts", open_flags=1),
        FdEntry(
            500,
            4,
            99,
            FD_IPV4_SOCK,
            sip="10.0.0.1",
            dip="10.0.0.2",
            sport=5555,
            dport=443,
            l4proto=6,
        ),
    ]
    with ScapWriter(
        path,
        machine=MachineInfo(4, 1 << 33, 32768, "box"),
        threads=[shell],
        fds=fds,
        users=[UserEntry(1000, 1000, "alice", "/home/alice", "/bin/sh")],
        groups=[GroupEntry(1000, "staff")],
        interfaces=[Interface("lo", 4, "127.0.0.1", "255.0.0.0", "127.0.0.1")],
    ) as w:
        w.write_event("read>", 3, 10, ts=TS0, tid=500)
        w.write_event("write>", 4, 10, ts=TS0 + 1, tid=500)
    fmt = SEP.join(
        [
            "%proc.name",
            "%proc.exe",
            "%proc.cmdline",
            "%proc.cwd",
            "%user.name",
            "%user.uid",
            "%fd.name",
            "%proc.ppid",
            "%proc.loginshellid",
        ]
    )
    lines = [line.split(SEP) for line in sysdig_lines(path, "*" + fmt)]
    assert lines[0][:7] == [
        "bash",
        "/bin/bash",
        "bash -i",
        "/home/alice/",
        "alice",
        "1000",
        "/etc/hosts",
    ]
    assert lines[1][6] == "10.0.0.1:5555->10.0.0.2:443"
    reader = ScapReader(path)
    assert reader.threads[500] == shell
    assert reader.fds[0].name == "/etc/hosts" and reader.fds[1].dport == 443
    assert reader.machine == MachineInfo(4, 1 << 33, 32768, "box")
    assert reader.users[0].name == "alice" and reader.groups[0].name == "staff"
    assert reader.interfaces[0].addr == "127.0.0.1"


@pytest.mark.conformance
@pytest.mark.sysdig
@pytest.mark.parametrize("name", ["cat_write", "connect_localhost", "open-multiple-files"])
def test_copied_trace_is_the_same_capture_for_sysdig(
    trace_dir: Path, tmp_path: Path, name: str
) -> None:
    # copying a trace (metadata and events) through reader+writer changes nothing sysdig sees
    src = trace_dir / f"{name}.scap"
    reader = ScapReader(src)
    dst = tmp_path / f"{name}.scap"
    with ScapWriter(
        dst,
        machine=reader.machine,
        threads=reader.threads.values(),
        fds=reader.fds,
        users=reader.users,
        groups=reader.groups,
        interfaces=reader.interfaces,
    ) as w:
        for batch in reader.batches():
            w.write_events(batch)
    fmt = SEP.join(
        [
            "%evt.num",
            "%evt.rawtime",
            "%evt.type",
            "%evt.dir",
            "%evt.args",
            "%proc.name",
            "%proc.cmdline",
            "%proc.pname",
            "%fd.name",
            "%user.name",
            "%proc.cwd",
        ]
    )
    assert sysdig_lines(dst, "*" + fmt) == sysdig_lines(src, "*" + fmt)
