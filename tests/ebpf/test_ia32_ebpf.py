"""32-bit system calls through the eBPF probe: a static i386 program and an x32 one
(tests/progs/compat.c) are captured as their x86_64 counterparts (socketcall
demultiplexed), read back by the real sysdig, and raise the seed alert through
``sentry run --driver ebpf``. x32 runs only where the kernel enables it (the guest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from driver_cases import run_trigger
from progs.compat_progs import (
    Listener,
    check_alert,
    check_capture,
    compat_run_code,
    listener,
    programs,
    runnable,
    seed_alert,
)

pytestmark = [pytest.mark.root, pytest.mark.sysdig]
__all__ = ["listener", "programs"]  # fixtures

ABIS = ["ia32", "x32"]


@pytest.mark.parametrize("abi", ABIS)
def test_compat_program_read_by_sysdig(
    ebpf_source: object, programs: dict[str, Path], listener: Listener, abi: str, tmp_path: Path
) -> None:
    binary = programs[abi]
    runnable(binary, abi)
    f1, f2 = tmp_path / "via-libc", tmp_path / "via-open"
    cap = run_trigger(
        ebpf_source, compat_run_code(binary, f1, f2, listener.port), tmp_path, settle=True
    )
    check_capture(cap.events, tmp_path, binary, f1, f2, listener.port)
    assert cap.counted is not None and cap.counted.suppressed >= 1  # the dropped call


@pytest.mark.parametrize("abi", ABIS)
def test_compat_program_raises_the_seed_alert(
    ebpf_source: object, programs: dict[str, Path], abi: str, tmp_path: Path
) -> None:
    binary = programs[abi]
    runnable(binary, abi)
    check_alert(seed_alert("ebpf", binary, tmp_path), binary)
