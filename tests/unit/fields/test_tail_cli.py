"""``sentry tail`` and ``sentry capture`` as a user runs them: errors are one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SENTRY, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    ("filt", "says"),
    [
        ("evt.type =", "column"),
        ("proc.nmae = cat", "did you mean proc.name"),
        ("proc.aname[x] = a", "number"),
        ("(evt.type = open", "column"),
    ],
)
def test_bad_filter_is_one_message_and_exit_1(trace_dir: Path, filt: str, says: str) -> None:
    done = run("tail", "-e", str(trace_dir / "syscall.scap"), filt)
    assert done.returncode == 1
    assert says in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_bad_format_and_missing_file(trace_dir: Path, tmp_path: Path) -> None:
    done = run("tail", "-e", str(trace_dir / "syscall.scap"), "-p", "%proc.nope")
    assert done.returncode == 1 and "proc.nope" in done.stderr
    assert "Traceback" not in done.stderr
    done = run("tail", "-e", str(tmp_path / "absent.scap"))
    assert done.returncode == 1 and "absent.scap" in done.stderr
    garbage = tmp_path / "garbage.scap"
    garbage.write_bytes(b"not a capture at all")
    done = run("tail", "-e", str(garbage))
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_tail_prints_matching_lines(trace_dir: Path) -> None:
    done = run(
        "tail",
        "-e",
        str(trace_dir / "open-multiple-files.scap"),
        "evt.type = open and evt.dir = < and fd.name = /tmp/file-3",
    )
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("1108 01:22:15.286829705 0 python (16569) < open fd=3")


def test_capture_needs_an_output(trace_dir: Path) -> None:
    done = run("capture", "-e", str(trace_dir / "syscall.scap"))
    assert done.returncode == 1 and "-w" in done.stderr


def test_tail_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """``sentry tail ... | head -1``: far more output than a pipe holds, reader gone early."""
    from sentry.capture.scapwriter import ScapWriter

    big = tmp_path / "many.scap"
    with ScapWriter(big) as w:
        for _ in range(20_000):
            w.write_event("close>", 3, tid=42)
    proc = subprocess.Popen(
        [*SENTRY, "tail", "-e", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert err == ""
