"""Run the C state tracker (inspect/cstate.c) and the Python inspector side by side.

:func:`compare_events` feeds both the same events and, after every event, compares the
calling thread, the event's fd and (after every event that changes state) the thread's whole
fd table; every ``whole_every`` events and at the end, the whole thread table and every
process's fds, and which threads share an fd table. Used by tests/unit/test_cstate.py (Falco
traces) and tests/ebpf/test_cstate_live.py (live eBPF).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from sentry.capture.scapreader import ScapReader
from sentry.events.table import EVENTS
from sentry.inspect.cstate import CState, fd_state, thread_state
from sentry.inspect.inspector import Inspector

WHOLE_EVERY = 500


def _tracker() -> CState:
    try:
        return CState()
    except RuntimeError as err:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(err))


def _thread(c: dict[str, Any] | None) -> dict[str, Any] | None:
    if c is not None:
        c = dict(c)
        c.pop("fds_id")
    return c


def _diff(what: str, num: int, py: Any, c: Any) -> str:
    if isinstance(py, dict) and isinstance(c, dict):
        keys = sorted(k for k in set(py) | set(c) if py.get(k) != c.get(k))
        detail = ", ".join(f"{k}: py={py.get(k)!r} c={c.get(k)!r}" for k in keys[:6])
    else:
        detail = f"py={py!r} c={c!r}"
    return f"event {num}: {what}: {detail}"


def compare(
    path: Path, *, whole_every: int = WHOLE_EVERY, limit: int | None = None
) -> tuple[int, list[str]]:
    """Feed both over a capture file; (events, disagreements)."""
    reader = ScapReader(path)
    inspector = Inspector.from_capture(reader)
    return compare_events(inspector, reader, whole_every=whole_every, limit=limit)


def compare_events(
    inspector: Inspector,
    events: Iterable[Any],
    *,
    whole_every: int = WHOLE_EVERY,
    limit: int | None = None,
) -> tuple[int, list[str]]:
    """Feed both, from the inspector's starting state; (events, disagreements)."""
    cs = _tracker()
    cs.load(inspector)
    state_types = inspector.handled_types()
    problems: list[str] = []
    n = 0
    for ev in events:
        inspector.process(ev)
        cs.feed_event(ev)
        n += 1
        th = ev.thread
        py_th = thread_state(th) if th is not None else None
        c_th = _thread(cs.thread(ev.tid))
        if th is not None and py_th != c_th:
            problems.append(
                _diff(f"thread {ev.tid} after {ev.info.name}{ev.direction}", ev.num, py_th, c_th)
            )
        py_fd = fd_state(ev.fdinfo) if ev.fdinfo is not None else None
        c_fd = cs.event_fd()
        if py_fd != c_fd:
            problems.append(
                _diff(f"event fd after {ev.info.name}{ev.direction}", ev.num, py_fd, c_fd)
            )
        if th is not None and ev.type in state_types:
            py_fds = {num: fd_state(i) for num, i in th.fds.fds.items()}
            c_fds = cs.fds(ev.tid)
            if py_fds != c_fds:
                nums = sorted(k for k in set(py_fds) | set(c_fds) if py_fds.get(k) != c_fds.get(k))
                problems.append(
                    _diff(
                        f"fd table of {ev.tid} after {ev.info.name}{ev.direction}, fds {nums[:5]}",
                        ev.num,
                        py_fds.get(nums[0]),
                        c_fds.get(nums[0]),
                    )
                )
        if n % whole_every == 0:
            problems += whole_tables(inspector, cs, ev.num)
        if len(problems) > 20 or (limit is not None and n >= limit):
            break
    problems += whole_tables(inspector, cs, -1)
    return n, problems


def whole_tables(inspector: Inspector, cs: CState, num: int) -> list[str]:
    """Every thread and every process's fd table; threads sharing fds in Python share in C."""
    problems = []
    py = {th.tid: th for th in inspector.threads}
    c = {t["tid"]: t for t in cs.threads()}
    if set(py) != set(c):
        problems.append(
            f"event {num}: thread sets differ: only py {sorted(set(py) - set(c))[:8]}"
            f", only c {sorted(set(c) - set(py))[:8]}"
        )
    shared_py: dict[int, int] = {}
    shared_c: dict[int, int] = {}
    for tid in sorted(set(py) & set(c)):
        if thread_state(py[tid]) != _thread(c[tid]):
            problems.append(
                _diff(f"table thread {tid}", num, thread_state(py[tid]), _thread(c[tid]))
            )
        # the sharing of fd tables: the same partition of threads
        if shared_py.setdefault(id(py[tid].fds), tid) != shared_c.setdefault(c[tid]["fds_id"], tid):
            problems.append(f"event {num}: thread {tid} shares fds differently")
        py_fds = {n: fd_state(i) for n, i in py[tid].fds.fds.items()}
        if py_fds != cs.fds(tid):
            problems.append(f"event {num}: table fds of {tid} differ")
    return problems[:10]


# A workload making every kind of state event, for the live tests (run by
# tests/driver_cases.run_trigger: os, socket, sys imported, W the work directory, cwd W).
WORKLOAD = """
import threading, subprocess
for i in range(3):
    fd = os.open("a.txt", os.O_CREAT | os.O_WRONLY | os.O_TRUNC)
    os.dup2(fd, 9); os.dup(fd); os.close(fd); os.close(9)
    dfd = os.open(W, os.O_RDONLY | os.O_DIRECTORY)
    os.close(os.open("a.txt", os.O_RDONLY, dir_fd=dfd))
    os.fchdir(dfd); os.chdir(".."); os.chdir(W); os.close(dfd)
    r, w = os.pipe(); os.write(w, b"x"); os.close(r); os.close(w)
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
    c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()
    a.close(); c.close(); srv.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"x", ("127.0.0.1", 9)); u.close()
    us = socket.socket(socket.AF_UNIX)
    try:
        us.connect("/nonexistent.sock")
    except OSError:
        pass
    us.close()
    t = threading.Thread(target=lambda: os.close(os.open("/etc/hostname", os.O_RDONLY)))
    t.start(); t.join()
    subprocess.run(["sh", "-c", "cd /tmp && cat /etc/hostname >/dev/null; ls -d . >/dev/null"])
    pid = os.fork()
    if pid == 0:
        os.setgid(65534); os.setuid(65534)
        os.execve(os.open("/bin/true", os.O_RDONLY), ["true", "arg"], {"X": "1"})
    os.waitpid(pid, 0)
"""
# each kind of state event the workload must have made (any one name of a group)
WANT = [
    {"clone", "clone3", "fork", "vfork"},
    {"execve", "execveat"},
    {"open", "openat", "openat2"},
    {"dup", "dup2", "dup3"},
    {"close"},
    {"pipe", "pipe2"},
    {"socket"},
    {"connect"},
    {"accept", "accept4"},
    {"bind"},
    {"sendto"},
    {"fchdir"},
    {"chdir"},
    {"setuid", "setresuid"},
    {"setgid", "setresgid"},
    {"procexit"},
]


def _host() -> Inspector:
    inspector = Inspector.from_host()
    inspector.proc_root = None  # no purge of vanished threads: the C tracker has none yet
    return inspector


def check_workload(source: Any, tmp_path: Path) -> None:
    """Run WORKLOAD under a live source; C and Python must agree on all its events."""
    from tests.driver_cases import run_trigger

    captured = run_trigger(source, WORKLOAD, tmp_path, timeout=60)
    names = {ev.info.name for ev in captured.events}
    assert all(group & names for group in WANT), [g for g in WANT if not g & names]
    n, problems = compare_events(_host(), captured.events, whole_every=200)
    assert not problems, "\n".join(problems)
    assert n == len(captured.events) > 500


# What the replay's fields read of thread and fd state (both trackers must give the same).
FIELDS = [
    "evt.num",
    "evt.type",
    "evt.dir",
    "evt.res",
    "evt.latency",
    "evt.arg.fd",
    "evt.arg.name",
    "evt.is_open_write",
    "fd.num",
    "fd.name",
    "fd.nameraw",
    "fd.type",
    "fd.typechar",
    "fd.directory",
    "fd.filename",
    "fd.ino",
    "fd.dev",
    "fd.cip",
    "fd.sip",
    "fd.cport",
    "fd.sport",
    "fd.rip",
    "fd.lip",
    "fd.l4proto",
    "fd.sockfamily",
    "fd.is_server",
    "fd.name_changed",
    "proc.name",
    "proc.pid",
    "proc.ppid",
    "proc.cmdline",
    "proc.exepath",
    "proc.cwd",
    "proc.pname",
    "proc.aname[3]",
    "thread.tid",
    "user.uid",
]


def field_rows(path: Path, tracker: str, only: set[str] | None = None) -> list[str]:
    """Every event of the capture with FIELDS rendered, after the inspector (``c``: fds in
    C, ``python``: the reference) has seen it; ``only``: the reader delivers just these
    syscalls and what the inspector needs (as for a rule or a tail filter), and only they
    are rendered."""
    from sentry.inspect.cstate_inspector import CStateInspector
    from sentry.outputs.format import OutputFormat

    fmt = OutputFormat(" | ".join("%" + f for f in FIELDS))
    reader = ScapReader(path)
    if tracker == "c":
        _tracker()  # skips, saying why, without a compiler (fails under CI)
        inspector: Inspector = CStateInspector.from_capture(reader)
    else:
        inspector = Inspector.from_capture(reader)
    if only is not None:
        from sentry.pipeline import Demand, push_down

        types = {code for code, info in EVENTS.items() if info.name in only}
        push_down(reader, Demand.of_types(types | inspector.handled_types()))
    rows = []
    for batch in reader.batches():
        for ev in batch:
            inspector.process(ev)
            if only is None or ev.info.name in only:
                rows.append(fmt.render(ev))
    return rows


def compare_fields(path: Path, only: set[str] | None = None) -> tuple[int, list[str]]:
    """(events, differences) of :func:`field_rows` with fds in C and with the reference."""
    ref, c = field_rows(path, "python", only), field_rows(path, "c", only)
    problems = [f"events: {len(ref)} vs {len(c)}"] if len(ref) != len(c) else []
    for a, b in zip(ref, c, strict=False):
        if a != b:
            problems.append(f"python: {a}\n     c: {b}")
    return len(ref), problems[:10]
