"""CPU hotplug while capturing: a CPU going offline and back keeps its ring and device,
and events keep flowing (rings exist for every possible CPU from load to unload)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from kmod_helpers import drain

from sentry.capture.kmod import KmodSource

CPU1 = Path("/sys/devices/system/cpu/cpu1/online")


def _exec_seen(src: KmodSource) -> bool:
    subprocess.run(["true"], check=True)
    events = drain(src, time.monotonic() + 0.2)
    return any(e.name == "execve" and e.direction == "<" for e in events)


def test_cpu_offline_and_back_while_capturing() -> None:
    if not CPU1.exists():
        pytest.skip("cpu1 cannot be taken offline on this machine")
    with KmodSource() as src:
        CPU1.write_text("0")
        try:
            assert Path("/dev/sentry1").exists()
            assert _exec_seen(src)
        finally:
            CPU1.write_text("1")
        assert _exec_seen(src)
        assert src.stats().drops_bug == 0
