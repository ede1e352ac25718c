"""The seed scenario, live: a process named vi opens /hoge.sh for writing while
``sentry run`` watches through the kernel module with the default rules, and the alert
"File below / or /root opened for writing" comes out (as JSON, like Falco's)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "sentry_rules.yaml"
RULE = "File Written Below Root Or Root Home"


def _devices_held(pid: int) -> bool:
    """True once process pid has every /dev/sentryN open (sentry run is reading).

    Looked up in /proc rather than by trying to open the devices ourselves: such a probe
    could take a device just as sentry run opens it (EBUSY) and would attach and detach
    the module's tracepoints on every try."""
    devices = {str(dev) for dev in Path("/dev").glob("sentry[0-9]*")}
    held = set()
    try:
        links = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # exited: the caller sees it through poll()
        return False
    for link in links:
        try:
            held.add(os.readlink(link))
        except OSError:  # closed meanwhile
            continue
    return bool(devices) and devices <= held


def _lines(stream, out: queue.Queue[str]) -> None:
    for line in stream:
        out.put(line)


def test_vi_writing_below_root_raises_the_alert(tmp_path: Path) -> None:
    shell = shutil.which("dash") or shutil.which("sh")
    assert shell
    vi = tmp_path / "vi"
    shutil.copy(shell, vi)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    run = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sentry.cli.main import main; main()",
            "run",
            "-r",
            str(RULES),
            "--json",
            "--driver",
            "kmod",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(run.stdout, lines), daemon=True).start()
    try:
        deadline = time.monotonic() + 300  # rule loading is slow under emulation
        while not _devices_held(run.pid):
            if run.poll() is not None:
                pytest.fail(f"sentry run exited {run.returncode}: {run.stderr.read()}")
            assert time.monotonic() < deadline, "sentry run never opened the devices"
            time.sleep(0.5)
        alert = None
        for _attempt in range(10):  # capture starts just after the devices are open
            subprocess.run([str(vi), "-c", "echo hi > /hoge.sh"], check=True)
            try:
                while alert is None:
                    doc = json.loads(lines.get(timeout=20))
                    if doc.get("rule") == RULE and "/hoge.sh" in doc.get("output", ""):
                        alert = doc
            except queue.Empty:
                continue
            break
        assert alert is not None, "no alert for /hoge.sh"
        assert ": Error File below / or /root opened for writing (" in alert["output"]
        assert alert["priority"] == "Error"
        assert alert["output_fields"]["proc.name"] == "vi"
        assert alert["output_fields"]["fd.name"] == "/hoge.sh"
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(timeout=60)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
