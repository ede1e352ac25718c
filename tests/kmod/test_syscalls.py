"""Each captured syscall, made once by a child (workload.py), arrives decoded as scap says.

One capture of the whole workload is shared by the module; each case names an event, its
direction and the parameters it must carry, computed from what the child reports it did.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kmod_helpers import Trace, capture

from sentry.events.event import SockAddr, SockTuple
from sentry.events.syscalls import PPM_SC_BY_NAME

HERE = Path(__file__).resolve().parent
AF_UNIX, AF_INET = 1, 2
PPM_O_RDONLY, PPM_O_WRONLY, PPM_O_CREAT, PPM_O_TRUNC, PPM_O_CLOEXEC = 1, 2, 4, 256, 1 << 12
PPM_CL_CLONE_NEWUTS = 1 << 7
PPM_PTRACE_ATTACH = 11
ESRCH, EFAULT = 3, 14


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trace, dict[str, Any], str]:
    if not Path("/dev/sentry0").exists():
        pytest.skip("needs the sentry module loaded (/dev/sentry0): run tests/kmod/run_in_vm.sh")
    work = tmp_path_factory.mktemp("workload")
    trace = capture([sys.executable, str(HERE / "workload.py"), str(work)])
    facts = json.loads(trace.output.strip().splitlines()[-1])
    return trace, facts, str(work)


Case = tuple[str, str, Callable[[dict[str, Any], str], dict[str, Any]]]

CASES: list[Case] = [
    ("open", ">", lambda f, d: {"name": f"{d}/open.txt", "mode": 0o640,
                                "flags": PPM_O_WRONLY | PPM_O_CREAT | PPM_O_TRUNC}),
    ("open", "<", lambda f, d: {"fd": f["open_fd"], "name": f"{d}/open.txt", "mode": 0o640}),
    ("openat", "<", lambda f, d: {"fd": f["openat_fd"], "dirfd": -100,
                                  "name": f"{d}/open.txt",
                                  "flags": PPM_O_RDONLY | PPM_O_CLOEXEC}),
    ("creat", "<", lambda f, d: {"fd": f["creat_fd"], "name": f"{d}/creat.txt", "mode": 0o600}),
    ("openat2", "<", lambda f, d: {"fd": f["openat2_fd"], "name": f"{d}/open.txt",
                                   "resolve": 4}),
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
    ("renameat", "<", lambda f, d: {"res": 0, "oldpath": f"{d}/dir1b",
                                    "newpath": f"{d}/dir1c"}),
    ("renameat2", "<", lambda f, d: {"res": 0, "oldpath": f"{d}/dir1c",
                                     "newpath": f"{d}/dir1d", "flags": 0}),
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
    ("socketpair", "<", lambda f, d: {"res": 0, "fd1": f["socketpair"][0],
                                      "fd2": f["socketpair"][1]}),
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
    ("prlimit", "<", lambda f, d: {"res": 0, "oldcur": f["nofile"][0],
                                   "oldmax": f["nofile"][1]}),
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
    ("mount", "<", lambda f, d: {"res": f["mount"], "dev": "none", "dir": f"{d}/mnt",
                                 "type": "tmpfs"}),
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
    ("connect", "<", lambda f, d: {"res": 0, "tuple": SockTuple(
        AF_INET, "127.0.0.1", f["tcp_cli_port"], "127.0.0.1", f["tcp_port"])}),
    ("accept", "<", lambda f, d: {"fd": f["accept"], "tuple": SockTuple(
        AF_INET, "127.0.0.1", f["tcp_cli_port"], "127.0.0.1", f["tcp_port"])}),
    ("sendto", "<", lambda f, d: {"res": 9, "data": b"ping-unix"}),
    ("recvfrom", "<", lambda f, d: {"res": 9, "data": b"ping-unix"}),
    ("sendmsg", "<", lambda f, d: {"res": 8, "data": b"msg-unix"}),
    ("recvmsg", "<", lambda f, d: {"res": 8, "data": b"msg-unix"}),
    ("execve", ">", lambda f, d: {"filename": "/bin/echo"}),
    ("execveat", ">", lambda f, d: {"pathname": "/bin/true"}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["gettid"], "nativeID": 186}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["chown"], "nativeID": 92}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["fchownat"], "nativeID": 260}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["prctl"], "nativeID": 157}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["init_module"], "nativeID": 175}),
    ("syscall", ">", lambda f, d: {"ID": PPM_SC_BY_NAME["finit_module"], "nativeID": 313}),
    ("syscall", ">", lambda f, d: {"nativeID": 319}),
    ("syscall", "<", lambda f, d: {"ID": PPM_SC_BY_NAME["chown"]}),
]


@pytest.mark.parametrize(("evt", "direction", "expect"), CASES,
                         ids=[f"{c[0]}{c[1]}{i}" for i, c in enumerate(CASES)])
def test_event_params(run, evt: str, direction: str, expect) -> None:
    trace, facts, work = run
    want = expect(facts, work)
    found = trace.find(evt, direction, **want)
    seen = [e.params() for e in trace.by_name.get(evt + direction, [])
            if e.tid in (facts["pid"], facts["tid"])][:5]
    assert found, f"no {evt}{direction} with {want}; the workload's were {seen}"


def test_unreadable_path_is_empty_and_counted(run) -> None:
    trace, facts, _ = run
    assert facts["efault"] == -1
    failed = trace.find("openat", "<", fd=-EFAULT, name=None)
    assert failed and failed[0].tid == facts["pid"]
    assert trace.stats.drops_page_fault >= 1


def test_execve_exit_carries_the_new_process(run) -> None:
    trace, facts, work = run
    (ev,) = [e for e in trace.find("execve", "<", res=0) if e.tid == facts["exec_child"]]
    assert ev.param_by_name("exe") == "echo"
    assert ev.param_by_name("args") == b"sentry-arg1\0sentry-arg2\0"
    assert ev.param_by_name("pid") == facts["exec_child"]
    assert ev.param_by_name("ptid") == facts["pid"]
    assert ev.param_by_name("comm") == "echo"
    assert ev.param_by_name("cwd").rstrip("/") == work
    assert b"SENTRY_ENV=yes" in ev.param_by_name("env")
    assert ev.param_by_name("fdlimit") > 0
    assert b"cpu=" in (ev.param_by_name("cgroups") or b"cpu=")


def test_execveat_exit(run) -> None:
    """At exit the kernel reports a successful execveat under execve's number (observed on
    6.1), so its exit event may be execve's; either way it carries the new program."""
    trace, facts, _ = run
    assert facts["execveat_status"] == 0
    evs = [e for name in ("execveat", "execve") for e in trace.find(name, "<", res=0)
           if e.tid == facts["execveat_child"]]
    assert evs and evs[0].param_by_name("args") == b"via-execveat\0"


def test_clone_family_seen_from_parent_and_child(run) -> None:
    trace, facts, _ = run
    child = facts["exec_child"]
    assert [e for e in trace.find("clone", "<", res=child) if e.tid == facts["pid"]]
    in_child = [e for e in trace.find("clone", "<", res=0) if e.tid == child]
    assert in_child and in_child[0].param_by_name("ptid") == facts["pid"]
    assert trace.find("fork", "<", res=facts["fork_child"])
    spawned = facts["spawn_child"]
    assert any(trace.find(name, "<", res=spawned) for name in ("clone3", "clone", "vfork"))


def test_procexit_reports_the_exit_status(run) -> None:
    trace, facts, _ = run
    evs = [e for e in trace.find("procexit", ">") if e.tid == facts["fork_child"]]
    assert evs and evs[0].param_by_name("ret") == 3


def test_no_internal_errors(run) -> None:
    trace, _, _ = run
    assert trace.stats.drops_bug == 0
    assert trace.stats.drops_buffer == 0
    assert trace.stats.events == len(trace.events)
