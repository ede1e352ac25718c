"""The process fields today's Falco rules use, on a written capture: an interactive bash
forks a child that execs a program from an overlay upper layer (libs' 28-parameter execve
exit), another runs from a memfd, then drops capabilities with capset and forks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sentry.capture.scapmeta import ThreadEntry
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.fields.registry import resolve
from sentry.fields.thread import caps_to_string
from sentry.inspect.inspector import Inspector

T0 = 1_700_000_000_000_000_000
ALL_CAPS = (1 << 41) - 1
CAP_SYS_ADMIN, CAP_NET_RAW = 1 << 21, 1 << 13
EXE_UPPER_LAYER, EXE_FROM_MEMFD = 1 << 1, 1 << 2
PIDNS_START = T0 - 10_000
CTIME, MTIME = T0 - 5_000, T0 - 7_000


def _clone(w: ScapWriter, parent: int, child: int, ts: int) -> None:
    common = [
        "bash",
        b"",
        None,
        None,
        None,
        "/home/alice",
        1024,
        0,
        0,
        1,
        2,
        3,
        "bash",
        b"cpu=/\0",
        0,
        1000,
        1000,
    ]
    w.write_event("clone>", tid=parent, ts=ts)
    values = list(common)
    values[2:5] = [parent, parent, 1]
    w.write_event("clone<", child, *values, parent, parent, PIDNS_START, tid=parent, ts=ts + 1)
    values[2:5] = [child, child, parent]
    w.write_event("clone<", 0, *values, child, child, PIDNS_START, tid=child, ts=ts + 2)


def _execve(
    w: ScapWriter,
    tid: int,
    path: str,
    comm: str,
    flags: int,
    caps: tuple[int, ...],
    ts: int,
    trusted: str | None = None,
) -> None:
    w.write_event("execve>", path, tid=tid, ts=ts)
    w.write_event(
        "execve<",
        0,
        comm,
        b"-x\0",
        tid,
        tid,
        100,
        "/home/alice",
        1024,
        0,
        0,
        1,
        2,
        3,
        comm,
        b"cpu=/\0",
        b"HOME=/home/alice\0",
        34816,
        tid,
        1000,
        flags,
        *caps,
        4242,
        CTIME,
        MTIME,
        1000,
        path if trusted is None else trusted,
        tid=tid,
        ts=ts + 1,
    )


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    path = tmp_path_factory.mktemp("today") / "today.scap"
    bash = ThreadEntry(
        100,
        100,
        1,
        comm="bash",
        exe="bash",
        exepath="/bin/bash",
        cwd="/home/alice",
        uid=1000,
        gid=1000,
        sid=100,
        vpgid=100,
        vtid=100,
        vpid=100,
        tty=34816,
        pidns_init_start_ts=PIDNS_START,
    )
    with ScapWriter(path, threads=[bash]) as w:
        _clone(w, 100, 101, T0)
        _execve(
            w,
            101,
            "/merged/upper-tool",
            "upper-tool",
            EXE_UPPER_LAYER,
            (0, ALL_CAPS, ALL_CAPS),
            T0 + 10,
        )
        w.write_event("close>", 3, tid=101, ts=T0 + 20)
        _clone(w, 101, 102, T0 + 30)  # a child in the same process group: not its leader
        w.write_event("close>", 3, tid=102, ts=T0 + 40)
        dropped = ALL_CAPS & ~(CAP_SYS_ADMIN | CAP_NET_RAW)
        w.write_event("capset>", tid=101, ts=T0 + 50)
        w.write_event("capset<", 0, 0, dropped, dropped, tid=101, ts=T0 + 51)
        w.write_event("close>", 3, tid=101, ts=T0 + 60)
        _execve(
            w,
            101,
            "",
            "memfd:x",
            EXE_FROM_MEMFD,
            (0, dropped, dropped),
            T0 + 70,
            trusted="/memfd:x (deleted)",
        )
        w.write_event("close>", 3, tid=101, ts=T0 + 80)
    reader = ScapReader(path)
    inspector = Inspector.from_capture(reader)
    out = []
    for ev in reader:
        inspector.process(ev)
        if ev.info.name == "close":  # the fields' values at this event, as a rule sees them
            out.append({f"{n}[{a}]": resolve(n, a).extract(ev) for n, a in FIELDS})
    return out


FIELDS = [
    (n, None)
    for n in (
        "proc.name",
        "proc.is_exe_upper_layer",
        "proc.is_exe_from_memfd",
        "thread.cap_effective",
        "thread.cap_inheritable",
        "thread.cap_permitted",
        "proc.exe_ino",
        "proc.exe_ino.ctime",
        "proc.exe_ino.mtime",
        "proc.exe_ino.ctime_duration_proc_start",
        "proc.exe_ino.ctime_duration_pidns_start",
        "proc.is_vpgid_leader",
        "proc.is_sid_leader",
        "proc.sname",
        "proc.sid.exepath",
        "proc.vpgid.name",
        "proc.vpgid.exepath",
        "proc.exepath",
    )
] + [("proc.aexe", "1"), ("proc.aexepath", "1")]


def get(ev: dict[str, Any], name: str, arg: str | None = None) -> Any:
    return ev[f"{name}[{arg}]"]


def test_upper_layer_exec_with_its_image_facts(events: list[Any]) -> None:
    ev = events[0]
    assert get(ev, "proc.name") == "upper-tool" and get(ev, "proc.is_exe_upper_layer") is True
    assert get(ev, "proc.is_exe_from_memfd") is False
    assert get(ev, "thread.cap_effective") == caps_to_string(ALL_CAPS)
    assert get(ev, "thread.cap_inheritable") == ""
    assert (get(ev, "proc.exe_ino"), get(ev, "proc.exe_ino.ctime")) == (4242, CTIME)
    assert get(ev, "proc.exe_ino.mtime") == MTIME
    # the clone at T0+1 came 5001 ns after the file's ctime; the pid ns started before it
    assert get(ev, "proc.exe_ino.ctime_duration_proc_start") == T0 + 2 - CTIME
    assert get(ev, "proc.exe_ino.ctime_duration_pidns_start") == CTIME - PIDNS_START
    assert get(ev, "proc.aexe", "1") == "bash" and get(ev, "proc.aexepath", "1") == "/bin/bash"


def test_group_and_session_leaders(events: list[Any]) -> None:
    leader, member = events[0], events[1]
    assert get(leader, "proc.is_vpgid_leader") is True  # pgid 101 == vpid 101
    assert get(leader, "proc.is_sid_leader") is False  # session 100 is bash's
    assert get(leader, "proc.sname") == "bash" and get(leader, "proc.sid.exepath") == "/bin/bash"
    assert get(member, "proc.is_vpgid_leader") is False
    assert get(member, "proc.vpgid.name") == "upper-tool"
    assert get(member, "proc.vpgid.exepath") == "/merged/upper-tool"
    # a forked child keeps its parent's image facts and capabilities
    assert get(member, "proc.exe_ino") == 4242
    assert "CAP_SYS_ADMIN" in get(member, "thread.cap_permitted").split()


def test_capset_and_a_memfd_exec(events: list[Any]) -> None:
    after_capset, memfd = events[2], events[3]
    caps = get(after_capset, "thread.cap_effective").split()
    assert "CAP_SYS_ADMIN" not in caps and "CAP_NET_RAW" not in caps and "CAP_CHOWN" in caps
    assert get(memfd, "proc.is_exe_from_memfd") is True
    # no program path in the enter (nor a known fd): the driver's, " (deleted)" left out
    assert get(memfd, "proc.exepath") == "memfd:x"
    assert get(memfd, "proc.is_exe_upper_layer") is False


def test_caps_to_string_is_libs_format() -> None:
    assert caps_to_string(0) == ""
    assert caps_to_string(1 | CAP_SYS_ADMIN) == "CAP_CHOWN CAP_SYS_ADMIN"
    assert caps_to_string(1 << 40) == "CAP_CHECKPOINT_RESTORE"
    assert caps_to_string(1 << 50) == ""  # beyond the known names


def test_fields_of_the_four_falco_current_rules_files_exist() -> None:
    for name, arg in (
        ("fd.nameraw", None),
        ("proc.aexe", "2"),
        ("proc.exe_ino.ctime", None),
        ("ka.req.pod.initContainers.privileged", None),
        ("ka.req.pod.ephemeralContainers.image", None),
    ):
        assert resolve(name, arg).name.startswith(name)


def test_path_of_unknown_fd_keeps_no_raw_name(tmp_path: Path) -> None:
    assert resolve("fd.nameraw").extract(type("E", (), {"fdinfo": None})()) is None
