"""EbpfSource behaviour: raw_tp fallback, event-type selection, snaplen, self-exclusion."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from driver_cases import CASES, run_case, run_trigger
from sentry.capture.ebpf import EbpfSource
from sentry.events.table import event_by_name

pytestmark = pytest.mark.root

OPENAT = next(c for c in CASES if c.id == "openat-write-close")


def test_raw_tracepoints_serve_as_fallback(ebpf_source: object, tmp_path: Path) -> None:
    src = EbpfSource(attach="raw_tp", target_tgid=os.getpid())
    try:
        assert src.attach_mode == "raw_tp"
        run_case(src, OPENAT, tmp_path)
    finally:
        src.close()


def test_event_types_select_what_is_delivered(ebpf_source: object, tmp_path: Path) -> None:
    wanted = {event_by_name("openat", ">").code, event_by_name("openat", "<").code,
              event_by_name("procexit", ">").code}
    src = EbpfSource(target_tgid=os.getpid())
    try:
        before = src.stats().suppressed
        src.event_types = wanted
        cap = run_trigger(src, OPENAT.code, tmp_path)
        assert {ev.type for ev in cap.events} <= wanted
        assert cap.find("openat", "<", name=f"{tmp_path}/hello.txt")["fd"] >= 0
        assert src.stats().suppressed > before  # other syscalls stopped in the probe
    finally:
        src.close()


def test_snaplen_bounds_io_data(ebpf_source: object, tmp_path: Path) -> None:
    src = EbpfSource(target_tgid=os.getpid(), snaplen=200)
    try:
        cap = run_trigger(src, 'os.write(os.open(W + "/x", os.O_WRONLY | os.O_CREAT), b"y" * 300)',
                          tmp_path)
        assert cap.find("write", "<", res=300)["data"] == b"y" * 200
        src.set_snaplen(16)
        cap = run_trigger(src, 'os.write(os.open(W + "/x", os.O_WRONLY), b"z" * 300)', tmp_path)
        assert cap.find("write", "<", res=300)["data"] == b"z" * 16
    finally:
        src.close()


def test_the_consumer_never_sees_itself(ebpf_source: object, tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.write_text("m")
    theirs.write_text("t")
    src = EbpfSource(interest={257})  # openat, from every process on the host
    seen: set[str] = set()
    try:
        batches = src.batches()
        next(batches)
        mine.read_text()
        subprocess.run(["cat", str(theirs)], check=True, stdout=subprocess.DEVNULL)
        end = time.monotonic() + 10
        for batch in batches:
            for ev in batch:
                if ev.info.direction == "<":
                    name = ev.param_by_name("name")
                    if name in (str(mine), str(theirs)):
                        seen.add(name)
            if str(theirs) in seen or time.monotonic() > end:
                break
    finally:
        src.close()
    assert seen == {str(theirs)}


def test_process_events_have_scaps_latest_layout(ebpf_source: object, tmp_path: Path) -> None:
    """execve exits carry caps, exe inode and times, uid and the exe path after the
    table's parameters; clone exits the pid namespace's start; procexit the reaper."""
    code = 'pid = os.fork()\nif pid == 0:\n    os.execv("/bin/true", ["true"])\nos.waitpid(pid, 0)'
    cap = run_trigger(ebpf_source, code, tmp_path)
    ev = next(e for e in cap.events if e.info.name == "execve" and e.info.direction == "<"
              and e.param(0) == 0 and e.param(1) == "true")
    assert ev.nparams == 28
    cap_permitted = int.from_bytes(ev.raw(21), "little")
    assert len(ev.raw(20)) == len(ev.raw(22)) == 8 and cap_permitted != 0  # root
    st = os.stat("/bin/true")
    assert int.from_bytes(ev.raw(23), "little") == st.st_ino
    assert int.from_bytes(ev.raw(25), "little") == st.st_mtime_ns
    assert int.from_bytes(ev.raw(26), "little") == os.geteuid()
    assert bytes(ev.raw(27)).rstrip(b"\0").decode() == os.path.realpath("/bin/true")
    clone = next(e for e in cap.events if e.info.name == "clone" and e.info.direction == "<")
    assert clone.nparams == 21 and int.from_bytes(clone.raw(20), "little") > 0
    exit_ = next(e for e in cap.events if e.info.name == "procexit")
    assert exit_.nparams == 5


def test_bad_settings_and_missing_object_are_clear_errors(tmp_path: Path) -> None:
    from sentry.errors import DriverError

    with pytest.raises(DriverError, match="power of two"):
        EbpfSource(ring_bytes=3000)
    with pytest.raises(DriverError, match=r"no-such\.o"):
        EbpfSource(object_path=tmp_path / "no-such.o")
