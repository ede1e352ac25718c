"""The real sysdig as the reference our readers are compared against, and Sentry's answer.

``sysdig_lines`` runs ``TZ=UTC sysdig -r PATH ...``; ``tail_lines`` prints the same capture
through ``sentry tail``'s code, so tests compare the two line for line.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from sentry.cli.tail import tail

SYSDIG = shutil.which("sysdig")


def need_sysdig() -> str:
    """sysdig's path; skips where it is not installed, fails in CI (which must have it)."""
    if SYSDIG is None:
        if os.environ.get("CI"):
            pytest.fail("sysdig is required in CI (the reference these tests compare with)")
        pytest.skip("sysdig is not installed")
    return SYSDIG


def sysdig_lines(
    path: Path | str,
    fmt: str | None = None,
    filt: str | None = None,
    *,
    options: Sequence[str] = (),
    timeout: float = 120,
) -> list[str]:
    """``TZ=UTC sysdig [OPTIONS] -r PATH [-p FMT] [FILTER]`` output lines."""
    cmd = [need_sysdig(), *options, "-r", str(path)]
    if fmt:
        cmd += ["-p", fmt]
    if filt:
        cmd.append(filt)
    env = dict(os.environ, TZ="UTC")
    out = subprocess.run(cmd, env=env, capture_output=True, check=True, timeout=timeout)
    return out.stdout.decode("utf-8", "surrogateescape").splitlines()


def tail_lines(
    path: Path | str, fmt: str | None, filt: str | None, json: bool = False
) -> list[str]:
    """What ``sentry tail -e PATH [-p FMT] [--json] [FILTER]`` prints, as lines."""
    out = io.StringIO()
    tail(filt, str(path), fmt, json, out)
    return out.getvalue().splitlines()
