"""The seed scenario, live: a process named vi opens /hoge.sh for writing while
``sentry run`` watches through the kernel module with the default rules, and the alert
"File below / or /root opened for writing" comes out (as JSON, like Falco's)."""

from __future__ import annotations

import errno
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


def _devices_held() -> bool:
    """True once another process has every /dev/sentryN open (sentry run is reading)."""
    for dev in sorted(Path("/dev").glob("sentry[0-9]*")):
        try:
            os.close(os.open(dev, os.O_RDWR))
            return False
        except OSError as err:
            if err.errno != errno.EBUSY:
                raise
    return True


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
        [sys.executable, "-c", "from sentry.cli.main import main; main()", "run",
         "-r", str(RULES), "--json", "--driver", "kmod"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(run.stdout, lines), daemon=True).start()
    try:
        deadline = time.monotonic() + 300  # rule loading is slow under emulation
        while not _devices_held():
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
