"""``sentry capture -w FILE [FILTER]`` through the eBPF probe, for tests that act while it
writes: started, waited for until the file has its first block, stopped by a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def live_capture(
    out: Path, *filter_args: str, stop: int = signal.SIGINT, start_timeout: float = 120
) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        ["sentry", "capture", "-w", str(out), *filter_args],
        env=dict(os.environ, SENTRY_DRIVER="ebpf"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + start_timeout
        while not (out.exists() and out.stat().st_size > 0) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.5)
        yield proc
    finally:
        proc.send_signal(stop)
        proc.wait(timeout=60)
