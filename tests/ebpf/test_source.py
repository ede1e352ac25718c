"""EbpfSource behaviour: raw_tp fallback, event-type selection, snaplen, self-exclusion."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from driver_cases import CASES, run_case, run_trigger
from needs import need_ebpf
from sentry.capture._cffi.libbpf import kernel_has_kfunc
from sentry.capture.ebpf import EbpfSource
from sentry.errors import DriverError
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


@pytest.mark.parametrize(
    ("attach", "direct_reads"), [("tp_btf", True), ("tp_btf", False), ("raw_tp", False)]
)
def test_the_verifier_keeps_half_its_budget(attach: str, direct_reads: bool) -> None:
    """The kernel's verifier processes at most 1 M instructions per program: a probe near
    that fails to load on the next kernel whose verifier explores a little more (6.18
    refused the exit program at 6 parameters in line). Half of it is kept free here, on
    each attach mode and way of reading files."""
    need_ebpf()
    if direct_reads and not kernel_has_kfunc("bpf_rdonly_cast"):
        pytest.skip("this kernel has no bpf_rdonly_cast: the probe reads files with probe reads")
    try:
        src = EbpfSource(attach=attach, direct_reads=direct_reads, target_tgid=os.getpid())
    except DriverError as err:  # the refusal is the finding
        pytest.fail(f"the probe did not load ({attach}, direct_reads={direct_reads}): {err}")
    try:
        used = src.verified_instructions()
    finally:
        src.close()
    assert len(used) == 3 and all(n > 0 for n in used.values()), used  # ≥ 5.16 reports it
    over = {name: n for name, n in used.items() if n > EbpfSource.VERIFIER_LIMIT // 2}
    assert not over, f"programs past half the verifier's limit: {over}"
