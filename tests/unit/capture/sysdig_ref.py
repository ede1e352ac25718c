"""Run the real sysdig on a capture, as the reference our readers are compared against."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SYSDIG = shutil.which("sysdig")


def need_sysdig() -> str:
    if SYSDIG is None:
        if os.environ.get("CI"):
            pytest.fail("sysdig is required in CI")
        pytest.skip("sysdig is not installed")
    return SYSDIG


def sysdig_lines(path: Path | str, fmt: str, filt: str | None = None) -> list[str]:
    """``TZ=UTC sysdig -r PATH -p FMT [FILTER]`` output lines."""
    cmd = [need_sysdig(), "-r", str(path), "-p", fmt]
    if filt:
        cmd.append(filt)
    env = dict(os.environ, TZ="UTC")
    out = subprocess.run(cmd, env=env, capture_output=True, check=True, timeout=120)
    return out.stdout.decode("utf-8", "surrogateescape").splitlines()
