"""End to end on this host through the eBPF probe: `sentry run --json` and `sentry tail`.

Each test starts the CLI, then repeats its trigger until the CLI reports it (the CLI needs
a moment to load rules and the probe; repeating avoids guessing how long). The deadline
only guards against a hang; speed is measured in bench/.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
DEADLINE = 60.0


class Cli:
    """A running sentry command whose stdout lines are collected by a thread."""

    def __init__(self, args: list[str]):
        env = dict(os.environ, SENTRY_DRIVER="ebpf")  # tail has no --driver flag
        self.proc = subprocess.Popen(
            SENTRY + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, trigger: Callable[[], object], match: Callable[[str], bool]) -> str:
        """Run trigger every half second until a line matches; that line."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                pytest.fail(f"sentry exited {self.proc.returncode}: {err[-2000:]}")
            trigger()
            stop = time.monotonic() + 0.5
            while time.monotonic() < stop:
                try:
                    line = self.lines.get(timeout=0.05)
                except queue.Empty:
                    continue
                self.seen.append(line)
                if match(line):
                    return line
        pytest.fail(f"not reported within {DEADLINE}s; last lines: {self.seen[-5:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def cli_factory(ebpf_source: object) -> Iterator[Callable[[list[str]], Cli]]:
    started: list[Cli] = []

    def start(args: list[str]) -> Cli:
        cli = Cli(args)
        started.append(cli)
        return cli

    yield start
    for cli in started:
        cli.stop()


def test_run_alerts_on_vi_writing_below_root(
    cli_factory: Callable[[list[str]], Cli], tmp_path: Path
) -> None:
    vi = tmp_path / "vi"
    vi.symlink_to("/usr/bin/touch")  # a program named vi that writes a file
    target = Path(f"/sentry-e2e-{uuid.uuid4().hex[:8]}")
    cli = cli_factory(["run", "--driver", "ebpf", "--json"])
    try:

        def trigger() -> None:
            subprocess.run([str(vi), str(target)], check=True)

        def match(line: str) -> bool:
            if not line.startswith("{"):
                return False
            alert = json.loads(line)
            fields = alert.get("output_fields", {})
            return fields.get("fd.name") == str(target) and fields.get("proc.name") == "vi"

        alert = json.loads(cli.wait_for(trigger, match))
    finally:
        target.unlink(missing_ok=True)
    assert alert["priority"] == "Error"
    assert alert["source"] == "syscall"
    assert str(target) in alert["output"]


def test_tail_shows_cat_opening_etc_hostname(cli_factory: Callable[[list[str]], Cli]) -> None:
    cli = cli_factory(["tail", "proc.name=cat and evt.type=openat"])
    pids: list[int] = []

    def trigger() -> None:
        proc = subprocess.Popen(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL)
        pids.append(proc.pid)
        proc.wait()

    def match(line: str) -> bool:
        return "/etc/hostname" in line and any(f"cat ({pid})" in line for pid in pids)

    line = cli.wait_for(trigger, match)
    assert "openat" in line
