"""Which live driver starts on the guest's kernel: the eBPF probe refuses a kernel below
5.17 and says why, and ``--driver auto`` then captures through the kernel module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentry.capture.drivers import open_live
from sentry.capture.ebpf import MIN_KERNEL, kernel_refusal

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "sentry_rules.yaml"


def _kernel() -> tuple[int, int]:
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int(minor)


@pytest.mark.skipif(
    _kernel() >= MIN_KERNEL, reason="kernel runs the eBPF probe (the refusal is tested on 5.10)"
)
def test_probe_refuses_an_old_kernel_and_says_why() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sentry.cli.main import main; main()",
            "run",
            "-r",
            str(RULES),
            "--driver",
            "ebpf",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode != 0
    assert f"Linux {os.uname().release} is too old for the eBPF probe" in run.stderr
    assert "needs 5.17 or newer" in run.stderr
    assert "Traceback" not in run.stderr


def test_auto_uses_the_module() -> None:
    """With the module loaded, auto takes it (and on 5.10 the probe would refuse anyway)."""
    if _kernel() < MIN_KERNEL:
        assert kernel_refusal() is not None
    source = open_live("auto")
    try:
        assert source.description.startswith("kernel module"), source.description
    finally:
        source.close()
