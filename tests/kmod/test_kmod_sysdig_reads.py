"""What the module captures, written to a .scap file, reads back in the real sysdig with
the process, file and flags it should have: the reference reader agrees with our encoding."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kmod_helpers import capture

from sentry.capture.scapwriter import ScapWriter

# "*": print every matching event, also those lacking a field (write has no flags).
FORMAT = "*%proc.name ## %proc.args ## %evt.type ## %evt.arg.flags ## %fd.name"


@pytest.mark.sysdig
def test_sysdig_reads_a_module_capture(tmp_path: Path) -> None:
    sysdig = shutil.which("sysdig")
    if sysdig is None:
        pytest.fail("sysdig is not installed (scripts/install.sh installs it)")
    target = tmp_path / "seen-by-sysdig.txt"
    code = (
        f"import os; fd = os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT, 0o600); "
        "os.write(fd, b'payload'); os.close(fd)"
    )
    trace = capture([sys.executable, "-c", code, "marker-arg"])
    scap = tmp_path / "kmod.scap"
    writer = ScapWriter(scap)
    writer.write_events(trace.events)
    writer.close()
    out = subprocess.run(
        [sysdig, "-r", str(scap), "-p", FORMAT, f"fd.name={target} and evt.dir=<"],
        capture_output=True,
        text=True,
        env=dict(os.environ, TZ="UTC"),
        check=True,
    ).stdout
    lines = [line.split(" ## ") for line in out.splitlines() if line.strip()]
    assert lines and all(len(line) == 5 for line in lines), out
    name, args, etype, flags, fdname = lines[0]
    assert name == Path(sys.executable).name
    assert "marker-arg" in args
    assert etype == "openat"
    assert "O_WRONLY" in flags and "O_CREAT" in flags
    assert fdname == str(target)
    assert [line[2] for line in lines] == ["openat", "write", "close"]
