"""The probe's object builds with `make -C driver/bpf` and the build is reproducible."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

import needs
from sentry.capture.bpfobject import source_dir

# Reproducibility is a property of the build, not of the running kernel (the suites load
# the CO-RE object built at install): the kernel matrix in qemu does not repeat it (190 s
# under TCG).
pytestmark = pytest.mark.userspace


def _build(out: Path) -> str:
    subprocess.run(
        ["make", "-s", "-C", str(source_dir()), f"OUTPUT={out}"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return hashlib.sha256((out / "sentry.bpf.o").read_bytes()).hexdigest()


def test_two_builds_give_the_same_object(tmp_path: Path) -> None:
    missing = [t for t in ("clang", "bpftool", "llvm-strip", "make") if not shutil.which(t)]
    if missing:
        needs.missing(f"building the probe needs {', '.join(missing)}")
    assert _build(tmp_path / "a") == _build(tmp_path / "b")
