"""Events from the eBPF probe, written to a .scap, read back by the real sysdig."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from driver_cases import CASES, run_trigger
from needs import missing
from sentry.capture.scapwriter import ScapWriter

pytestmark = [pytest.mark.root, pytest.mark.sysdig]

STORIES = ("openat-write-close", "execve", "network")


def test_sysdig_decodes_what_the_probe_wrote(ebpf_source: object, tmp_path: Path) -> None:
    if shutil.which("sysdig") is None:
        missing("sysdig is not installed")
    events = []
    for case in CASES:
        if case.id in STORIES:
            work = tmp_path / case.id
            work.mkdir()
            events += run_trigger(ebpf_source, case.code, work).events
    capture = tmp_path / "probe.scap"
    with ScapWriter(capture) as writer:
        writer.write_events(events)
    out = subprocess.run(
        ["sysdig", "-r", str(capture), "-p", "%evt.num %evt.type %evt.dir %evt.args"],
        capture_output=True,
        text=True,
        env=dict(os.environ, TZ="UTC"),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == len(events)
    hello = tmp_path / "openat-write-close" / "hello.txt"
    assert any(
        " openat < " in ln
        and f"name={hello}" in ln
        and "dirfd=-100(AT_FDCWD)" in ln
        and "O_TRUNC|O_CREAT|O_WRONLY" in ln
        for ln in lines
    )
    assert any(" execve < " in ln and "exe=true args=arg1.arg two." in ln for ln in lines)
    assert any(" write < " in ln and "data=hello sentry" in ln for ln in lines)
    assert any(
        " connect < " in ln and "tuple=127.0.0.1:" in ln and "->127.0.0.1:" in ln for ln in lines
    )
