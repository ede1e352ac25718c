"""The inspector's tables after each kind of state change (story capture, no sysdig)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from inspect_story import write_story

from sentry.capture.scapreader import ScapReader
from sentry.inspect.containers import ContainerTable, container_id_from_cgroups
from sentry.inspect.fds import FdType, Role
from sentry.inspect.handler_base import join_path
from sentry.inspect.inspector import Inspector
from sentry.inspect.procfs import load_threads, local_addresses
from sentry.inspect.threads import NA_NAME, ThreadTable
from sentry.inspect.users import UserTable


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_story(tmp_path_factory.mktemp("story") / "story.scap")


def replay(path: Path, until: int | None = None) -> tuple[Inspector, list]:
    reader = ScapReader(path)
    inspector = Inspector.from_capture(reader)
    seen = []
    for ev in reader:
        inspector.process(ev)
        seen.append(ev)
        if until is not None and ev.num == until:
            break
    return inspector, seen


def test_capture_snapshot_gives_threads_users_and_fds(story: Path) -> None:
    inspector, _ = replay(story, until=0)
    bash = inspector.threads.get(100)
    assert bash is not None and bash.comm == "bash" and bash.cwd == "/home/alice/"
    assert bash.parent() is inspector.threads.get(1)
    assert inspector.users.user(1000).name == "alice"
    assert bash.fds.get(0).name == "/dev/pts/0"


def test_child_half_of_clone_creates_the_child_with_parent_fds(story: Path) -> None:
    inspector, _ = replay(story, until=3)
    child = inspector.threads.get(101)
    assert child.comm == "bash" and child.ptid == 100 and child.clone_ts > 0
    assert child.fds is not inspector.threads.get(100).fds  # fork copies the table
    assert child.fds.get(0).name == "/dev/pts/0"


def test_unknown_thread_gets_a_placeholder(story: Path) -> None:
    _, events = replay(story, until=6)
    thread = events[-1].thread
    assert thread.tid == 102 and thread.comm == NA_NAME and thread.pid == 102
    assert thread.ptid == -1 and thread.parent() is None


def test_execve_replaces_program_and_finds_container(story: Path) -> None:
    inspector, _ = replay(story, until=13)
    cat = inspector.threads.get(101)
    assert (cat.comm, cat.exe, cat.args) == ("cat", "cat", ["notes.txt", "-n"])
    assert cat.exepath == "/usr/bin/cat"
    assert cat.cwd == "/home/alice/docs/"  # from chdir; execve leaves the cwd alone
    assert cat.container_id == "3ad7b26ded6d"
    assert cat.env == ["HOME=/home/alice", "PATH=/usr/bin"]


def test_opens_resolve_relative_and_dirfd_paths(story: Path) -> None:
    inspector, events = replay(story, until=23)
    fds = inspector.threads.get(101).fds
    assert fds.get(3).name == "/home/alice/docs/notes.txt"
    assert fds.get(4).type is FdType.DIRECTORY
    assert fds.get(6).name == "/etc/passwd"
    assert fds.get(7).name == "/tmp/run.sh"
    failed = next(e for e in events if e.num == 21)
    assert failed.fdinfo is None


def test_dup_pipe_socket_connect_bind_accept(story: Path) -> None:
    inspector, _ = replay(story, until=41)
    fds = inspector.threads.get(101).fds
    assert fds.get(8).name == fds.get(3).name and fds.get(8) is not fds.get(3)
    assert fds.get(9).type is FdType.PIPE and fds.get(10).ino == 4242
    out = fds.get(11)
    assert out.role is Role.CLIENT and str(out.sip) == "10.0.0.5" and out.sport == 443
    assert out.name == "192.168.1.2:40000->10.0.0.5:443" and out.l4proto == "tcp"
    server = fds.get(12)
    assert server.listening and server.sport == 8080 and server.name == "0.0.0.0:8080"
    accepted = fds.get(13)
    assert accepted.role is Role.SERVER and str(accepted.cip) == "172.16.0.9"


def test_close_keeps_fd_for_its_own_exit_then_forgets(story: Path) -> None:
    inspector, events = replay(story, until=45)
    assert events[-1].fdinfo.num == 3
    assert 3 not in inspector.threads.get(101).fds


def test_setuid_and_procexit(story: Path) -> None:
    inspector, _ = replay(story, until=52)
    assert inspector.threads.get(101).uid == 0
    assert inspector.threads.get(101) is not None  # still there for procexit's own fields
    inspector, _ = replay(story, until=53)
    assert inspector.threads.get(101) is None


def test_every_event_gets_a_thread_and_state_types_are_known(story: Path) -> None:
    inspector, events = replay(story)
    assert all(e.thread is not None for e in events)
    handled = inspector.handled_types()
    assert {e.type for e in events if e.info.name in ("clone", "execve", "close")} <= handled


@pytest.mark.parametrize(
    ("cgroups", "cid"),
    [
        (["cpuset=/docker/" + "a" * 64], "a" * 12),
        (["memory=/kubepods/besteffort/pod1/" + "b" * 64], "b" * 12),
        (["0::/system.slice/docker-" + "c" * 64 + ".scope"], "c" * 12),
        (["cpuset=/system.slice/crio-" + "d" * 64 + ".scope"], "d" * 12),
        (["cpuset=/user.slice/session-1.scope"], "host"),
        ([], "host"),
    ],
)
def test_container_id_from_cgroups(cgroups: list[str], cid: str) -> None:
    assert container_id_from_cgroups(cgroups) == cid


def test_container_metadata_arrives_later() -> None:
    table = ContainerTable()
    assert table.get("abc") is None and table.get("host").name == "host"
    from sentry.inspect.containers import ContainerInfo

    table.update(ContainerInfo("abc", name="web", image="nginx"))
    assert table.get("abc").image == "nginx"


def test_users_from_host_files(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\nbad line\n")
    (tmp_path / "etc/group").write_text("root:x:0:\nwheel:x:10:alice\n")
    users = UserTable.from_host(tmp_path)
    assert users.user(0).homedir == "/root" and users.user(1) is None
    assert users.group(10).name == "wheel"


def test_join_path_normalises_like_sysdig() -> None:
    assert join_path("/home/a/", "x/../y") == "/home/a/y"
    assert join_path("", "work/../docs") == "docs"
    assert join_path("/tmp", "/etc//passwd") == "/etc/passwd"


def test_procfs_knows_this_process() -> None:
    table = ThreadTable()
    assert load_threads(table) > 0
    me = table.get(os.getpid())
    assert me is not None and me.pid == os.getpid() and me.cwd.endswith("/")
    assert me.cwd.rstrip("/") == os.getcwd().rstrip("/")
    assert any(info.num == 0 for info in me.fds.fds.values())
    assert any(ip.is_loopback for ip in local_addresses())
    # capability sets and the program's inode, as an execve exit would give them
    status = Path("/proc/self/status").read_text()
    eff = next(int(ln.split()[1], 16) for ln in status.splitlines() if ln.startswith("CapEff"))
    assert me.cap_effective == eff
    st = os.stat("/proc/self/exe")
    assert (me.exe_ino, me.exe_ino_ctime) == (st.st_ino, st.st_ctime_ns)


def test_threads_share_fds_and_datagrams_name_their_peer(story: Path) -> None:
    inspector, events = replay(story)
    bash_write = next(e for e in events if e.num == 60)
    assert bash_write.fdinfo is not None and bash_write.fdinfo.name == "/var/log/app.log"
    worker = next(e for e in events if e.num == 58).thread
    assert worker.pid == 100 and worker.parent() is inspector.threads.get(100)
    assert [a.comm for a in worker.ancestors()] == ["systemd"]
    udp = next(e for e in events if e.num == 69).fdinfo
    assert udp.l4proto == "udp" and udp.connected and str(udp.sip) == "8.8.8.8"
    assert udp.name == "192.168.1.2:5353->8.8.8.8:53"


def test_live_purge_forgets_only_vanished_idle_threads() -> None:
    inspector = Inspector()  # thread timeout: Falco's default, 300 s
    inspector.proc_root = "/proc"
    me, ghost = inspector.threads.new(os.getpid()), inspector.threads.new(2**22 + 7)
    me.last_ts = ghost.last_ts = 1_000
    fresh = inspector.threads.new(2**22 + 9)
    fresh.last_ts = 200 * 10**9
    assert inspector.purge_gone(now_ns=400 * 10**9) == 1
    assert inspector.threads.get(ghost.tid) is None
    assert inspector.threads.get(me.tid) is me and inspector.threads.get(fresh.tid) is fresh
