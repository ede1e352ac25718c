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
    wanted = {
        event_by_name("openat", ">").code,
        event_by_name("openat", "<").code,
        event_by_name("procexit", ">").code,
    }
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
        cap = run_trigger(
            src, 'os.write(os.open(W + "/x", os.O_WRONLY | os.O_CREAT), b"y" * 300)', tmp_path
        )
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


def test_bad_settings_and_missing_object_are_clear_errors(tmp_path: Path) -> None:
    from sentry.errors import DriverError

    with pytest.raises(DriverError, match="power of two"):
        EbpfSource(ring_bytes=3000)
    with pytest.raises(DriverError, match=r"no-such\.o"):
        EbpfSource(object_path=tmp_path / "no-such.o")
