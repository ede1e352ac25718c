"""Unloading: refused while a reader has a device open or mapped, clean once it is gone;
and the kernel log stays free of warnings after everything the suite did (runs last)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kmod_helpers import drain, module_path

from sentry.capture.kmod import KmodSource

HOLD_MAPPING = """
import mmap, os, sys, time
fd = os.open("/dev/sentry0", os.O_RDWR)
m = mmap.mmap(fd, mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ)
os.close(fd)
print("mapped", flush=True)
time.sleep(60)
"""


def rmmod() -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rmmod", "sentry"], capture_output=True, text=True)


def test_unload_refused_while_reading_then_clean() -> None:
    with KmodSource() as src:
        refused = rmmod()
        assert refused.returncode != 0 and "in use" in refused.stderr
        subprocess.run(["true"], check=True)
        events = drain(src, time.monotonic() + 0.2)
        assert any(e.name == "execve" and e.direction == "<" for e in events)
    assert rmmod().returncode == 0
    assert not Path("/dev/sentry0").exists()
    subprocess.run(["insmod", str(module_path())], check=True)
    with KmodSource() as src:
        subprocess.run(["true"], check=True)
        assert drain(src, time.monotonic() + 0.2)


def test_unload_refused_while_only_a_mapping_remains() -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_MAPPING], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "mapped"
        assert rmmod().returncode != 0
    finally:
        holder.kill()
        holder.wait()
    assert rmmod().returncode == 0
    subprocess.run(["insmod", str(module_path())], check=True)


@pytest.mark.parametrize(
    ("ring_bytes", "error"),
    [
        (12345, "Invalid parameters"),  # not a power of two: -EINVAL
        (1 << 30, "Cannot allocate memory"),  # two such rings exceed the guest's memory
    ],
)
def test_failed_load_unwinds(ring_bytes: int, error: str) -> None:
    assert rmmod().returncode == 0
    try:
        failed = subprocess.run(
            ["insmod", str(module_path()), f"ring_bytes={ring_bytes}"],
            capture_output=True,
            text=True,
        )
        assert failed.returncode != 0 and error in failed.stderr
        assert not Path("/dev/sentry0").exists()
        assert "sentry " not in Path("/proc/modules").read_text()
    finally:
        subprocess.run(["insmod", str(module_path())], check=True)
    with KmodSource() as src:
        subprocess.run(["true"], check=True)
        assert drain(src, time.monotonic() + 0.2)


def test_kernel_log_is_clean() -> None:
    log = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    bad = [
        line
        for line in log.splitlines()
        if "module verification failed" not in line  # unsigned module: expected taint
        and re.search(
            r"WARNING|BUG|Oops|Call Trace|general protection|sentry: .*(error|fail)", line
        )
    ]
    assert not bad, "\n".join(bad)
    assert "sentry: loaded" in log
