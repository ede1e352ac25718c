"""The C event walker: scripts/install.sh builds it into the package and readers use that
build (required in CI); without a compiler the Python walker takes over, said once."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from needs import missing
from sentry.capture import scapreader
from sentry.capture._cffi.scapscan import SCAN_REC_FIELDS, SCAN_REC_FORMAT, installed, load


def test_install_time_walker_is_the_one_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    path = installed()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(
                "no install-time build of the C event walker for this scapscan.c "
                "(scripts/install.sh runs `python -m sentry.capture._cffi`)"
            )
        pytest.skip("the C event walker was not built at install time (scripts/install.sh)")
    monkeypatch.delenv("SENTRY_PURE_PYTHON", raising=False)
    monkeypatch.setattr(scapreader, "_SCANNER", [])  # what a fresh process picks
    scanner = scapreader._scanner()
    assert scanner is not None, "readers fall back to the Python walker"
    assert Path(scanner.__file__) == path


def test_without_a_compiler_the_python_walker_is_used_and_said_once(tmp_path: Path) -> None:
    code = (
        "from sentry.capture._cffi.scapscan import load\n"
        "print(load(use_installed=False), load(use_installed=False))\n"
    )
    env = dict(os.environ, CC="false", XDG_CACHE_HOME=str(tmp_path))  # a compiler that fails
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert proc.stdout.split() == ["None", "None"]
    said = [line for line in proc.stderr.splitlines() if "slower Python walker" in line]
    assert len(said) == 1, proc.stderr
    assert said[0].startswith("sentry: the C event walker is not available (")


def test_scan_record_layout_matches_the_compiled_struct() -> None:
    """scapreader unpacks the walker's records with SCAN_REC_FORMAT: it must be the layout the
    C compiler gives struct scan_rec."""
    module = load()
    if module is None:
        missing("no C compiler for the event walker")
    ffi = module.ffi
    rec = struct.Struct(SCAN_REC_FORMAT)
    assert rec.size == ffi.sizeof("struct scan_rec")
    names = [name for name, _ in ffi.typeof("struct scan_rec").fields]
    assert tuple(names) == SCAN_REC_FIELDS
    offsets, off = [], 0
    for code in SCAN_REC_FORMAT.lstrip("<"):
        offsets.append(off)
        off += struct.calcsize("<" + code)
    assert offsets == [ffi.offsetof("struct scan_rec", n) for n in names]
