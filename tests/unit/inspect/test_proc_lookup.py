"""Live, a thread first seen mid-flight (its clone or execve came before the driver started,
or was dropped) is read from /proc as libs do, not left ``<NA>``; replays never read /proc."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator

import pytest

from sentry.events.table import EVENTS
from sentry.inspect.inspector import Inspector
from sentry.inspect.threads import ThreadLimits

CODES = {info.name + ("<" if code & 1 else ">"): code for code, info in EVENTS.items()}


class Ev:
    """The few attributes process() reads of an event with no fd and no params."""

    def __init__(self, tid: int, code: int = 1, ts: int = 10**9) -> None:
        self.tid, self.type, self.ts = tid, code, ts


@pytest.fixture
def sleeper(tmp_path) -> Iterator[subprocess.Popen[bytes]]:
    held = open(tmp_path / "held-open", "w")  # noqa: SIM115 - kept open as the child's fd 3
    child = subprocess.Popen(["sleep", "30"], pass_fds=(held.fileno(),), cwd=tmp_path)
    try:
        yield child
    finally:
        child.kill()
        child.wait()
        held.close()


def live() -> Inspector:
    inspector = Inspector()
    inspector.proc_root = "/proc"
    return inspector


def test_a_live_thread_seen_first_mid_flight_is_read_from_proc(sleeper, tmp_path) -> None:
    inspector = live()
    inspector.process(Ev(sleeper.pid))  # a generic syscall exit from a thread never seen
    th = inspector.threads.get(sleeper.pid)
    assert th is not None and inspector.proc_lookups == 1
    assert (th.comm, th.exe, th.args, th.pid, th.ptid) == (
        "sleep",
        "sleep",
        ["30"],
        sleeper.pid,
        os.getpid(),
    )
    assert th.exepath.endswith("/sleep") and th.cwd == f"{tmp_path}/"
    held = [f for f in th.fds.fds.values() if f.name.endswith("held-open")]
    assert len(held) == 1, sorted(f.name for f in th.fds.fds.values())
    inspector.process(Ev(sleeper.pid))  # known now: no second lookup
    assert inspector.proc_lookups == 1


def test_a_thread_shares_its_known_process_fd_table() -> None:
    inspector = live()
    inspector.process(Ev(os.getpid()))
    main = inspector.threads.get(os.getpid())
    assert main is not None and main.comm != "<NA>"
    tids: list[int] = []
    done = threading.Event()
    worker = threading.Thread(
        target=lambda: (tids.append(threading.get_native_id()), done.wait(30))
    )
    worker.start()
    try:
        while not tids:
            pass
        inspector.process(Ev(tids[0]))
        th = inspector.threads.get(tids[0])
        assert th is not None and th.pid == os.getpid() and th.fds is main.fds
    finally:
        done.set()
        worker.join()


def test_gone_threads_creating_events_and_replays_keep_the_placeholder(sleeper) -> None:
    inspector = live()
    gone = 2**22 + 29  # above pid_max's default: never a thread here
    inspector.process(Ev(gone))
    assert inspector.threads.get(gone).comm == "<NA>" and inspector.proc_lookups == 0  # type: ignore[union-attr]
    # A clone's child half or an execve fills the thread itself: no /proc read before it.
    for name in ("clone<", "execve<", "procexit>"):
        fresh = live()
        fresh._handlers[CODES[name]] = lambda ev, th: None  # the lookup is what is tested
        fresh.process(Ev(sleeper.pid, CODES[name]))
        assert fresh.proc_lookups == 0, name
    replay = Inspector()  # no proc_root: a capture's threads are not this machine's
    replay.process(Ev(sleeper.pid))
    assert replay.threads.get(sleeper.pid).comm == "<NA>"  # type: ignore[union-attr]


def test_a_full_table_reads_no_proc_for_threads_it_cannot_keep(sleeper) -> None:
    """A full table's placeholder is detached and made anew per event: reading /proc for
    each of them would cost a lookup per event of every thread left out."""
    inspector = Inspector(limits=ThreadLimits(table_size=1))
    inspector.proc_root = "/proc"
    inspector.threads.new(os.getpid())  # the table is full
    for _ in range(3):
        inspector.process(Ev(sleeper.pid))
    assert inspector.proc_lookups == 0 and inspector.threads.drops_full == 3
