"""A successful execveat captured live through the probe, written as a .scap, read back by
the real sysdig and by ``sentry tail -e``: scap reports it as an execveat enter and an execve
exit (sysdig 0.29 crashed on the successful execveat exit our drivers used to write)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from driver_cases import run_trigger
from sentry.capture.scapwriter import ScapWriter

pytestmark = [pytest.mark.root, pytest.mark.sysdig]

# As runc starts a container: execveat(fd, "", AT_EMPTY_PATH) on the program's fd; first a
# failed execveat (its exit stays an execveat exit).
TRIGGER = """
argv = (ctypes.c_char_p * 3)(b"echo", b"from-execveat", None)
envp = (ctypes.c_char_p * 1)(None)
libc.syscall(ctypes.c_long(322), ctypes.c_long(-100), ctypes.c_char_p(b"/sentry-none"),
             argv, envp, ctypes.c_long(0))
fd = os.open("/bin/echo", os.O_RDONLY)
libc.syscall(ctypes.c_long(322), ctypes.c_long(fd), ctypes.c_char_p(b""), argv, envp,
             ctypes.c_long(0x1000))  # AT_EMPTY_PATH
"""
FMT = "*%evt.type %evt.dir %proc.pid %proc.name %proc.exe %evt.res"
FILTER = "evt.type in (execve, execveat)"


def test_sysdig_and_tail_read_a_successful_execveat(ebpf_source: object, tmp_path: Path) -> None:
    if shutil.which("sysdig") is None:
        if os.environ.get("CI"):
            pytest.fail("sysdig is not installed (scripts/install.sh installs it)")
        pytest.skip("sysdig is not installed")
    cap = run_trigger(ebpf_source, TRIGGER, tmp_path)
    assert "from-execveat" in cap.output
    mine = [ev.type for ev in cap.events if ev.tid == cap.pid and ev.type in (330, 331, 293)]
    # The exit of the execve that started the trigger may come first (a guest's kernel
    # delivers it once the probe follows the child): the execveat sequence is what counts.
    assert 330 in mine, mine
    assert mine[mine.index(330) :] == [330, 331, 330, 293], mine
    capture = tmp_path / "execveat.scap"
    with ScapWriter(capture) as writer:
        writer.write_events(cap.events)
    out = subprocess.run(
        ["sysdig", "-r", str(capture), "-p", FMT, FILTER],
        capture_output=True,
        text=True,
        env=dict(os.environ, TZ="UTC"),
        timeout=120,
    )
    assert out.returncode == 0, (out.returncode, out.stderr)
    pid = cap.pid
    lines = [ln for ln in out.stdout.splitlines() if ln.split()[2:3] == [str(pid)]]
    assert lines[-1] == f"execve < {pid} echo echo SUCCESS", lines
    assert lines[-2].startswith("execveat > "), lines
    assert [ln for ln in lines if ln.startswith("execveat < ")][-1].endswith(" ENOENT"), lines
    ours = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sentry.cli.main import main; main()",
            "tail",
            "-e",
            str(capture),
            "-p",
            FMT,
            FILTER,
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, TZ="UTC"),
        timeout=120,
    )
    assert ours.returncode == 0, ours.stderr
    assert [ln for ln in ours.stdout.splitlines() if ln.split()[2:3] == [str(pid)]] == lines
    # The program's path, from the execveat enter's dirfd (AT_EMPTY_PATH), as libs resolves
    # it (sysdig 0.29 leaves proc.exepath empty here). Only echo's exit: that of the execve
    # which started the trigger (python) may be in the capture too, as above.
    path = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sentry.cli.main import main; main()",
            "tail",
            "-e",
            str(capture),
            "-p",
            "%proc.exepath",
            f"evt.type=execve and evt.dir=< and proc.pid={pid} and proc.name=echo",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert path.returncode == 0, path.stderr
    assert path.stdout.split() == ["/bin/echo"], path.stdout
    # Rules on execveat still fire: the default rule on its enter, and one on the default
    # macro new_program_started (evt.type in (execve, execveat) and evt.dir=< ...).
    extra = tmp_path / "started.yaml"
    extra.write_text(
        "- rule: Echo Started\n  desc: test\n"
        "  condition: new_program_started and proc.name=echo\n"
        "  output: started %proc.name exepath=%proc.exepath\n"
        "  priority: NOTICE\n"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sentry.cli.main import main; main()",
            "run",
            "-r",
            str(root / "rules" / "sentry_rules.yaml"),
            "-r",
            str(extra),
            "-e",
            str(capture),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Program executed from a file descriptor" in run.stdout, run.stdout
    assert "started echo exepath=/bin/echo" in run.stdout, run.stdout
