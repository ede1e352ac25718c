"""32-bit system calls through the kernel module (in the guest): a static i386 program and
an x32 one (tests/progs/compat.c) are captured as their x86_64 counterparts (socketcall
demultiplexed), read back by the real sysdig, and raise the seed alert through
``sentry run --driver kmod``. x32 runs only where the kernel enables it (the guest boots
with syscall.x32=y)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kmod_helpers import capture

from progs.compat_progs import (
    Listener,
    check_alert,
    check_capture,
    listener,
    programs,
    runnable,
    seed_alert,
)

pytestmark = [pytest.mark.sysdig]
__all__ = ["listener", "programs"]  # fixtures

ABIS = ["ia32", "x32"]


@pytest.mark.parametrize("abi", ABIS)
def test_compat_program_read_by_sysdig(
    programs: dict[str, Path], listener: Listener, abi: str, tmp_path: Path
) -> None:
    binary = programs[abi]
    runnable(binary, abi)
    f1, f2 = tmp_path / "via-libc", tmp_path / "via-open"
    trace = capture([str(binary), str(f1), str(f2), str(listener.port), "/bin/true"])
    check_capture(trace.events, tmp_path, binary, f1, f2, listener.port)
    # the call with no x86_64 counterpart: dropped and counted (nothing else is suppressed
    # with every syscall of interest)
    assert trace.stats.suppressed >= 1


@pytest.mark.parametrize("abi", ABIS)
def test_compat_program_raises_the_seed_alert(
    programs: dict[str, Path], abi: str, tmp_path: Path
) -> None:
    binary = programs[abi]
    runnable(binary, abi)
    check_alert(seed_alert("kmod", binary, tmp_path), binary)
