"""Helpers for the in-guest module tests: capture what a child process does."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentry.capture.kmod import KmodSource
from sentry.capture.source import CaptureStats
from sentry.events.event import Event

HERE = Path(__file__).resolve().parent


def module_path() -> Path:
    """The built module: $SENTRY_KO, else driver/sentry.ko in this tree."""
    return Path(os.environ.get("SENTRY_KO", HERE.parent.parent / "driver" / "sentry.ko"))


@dataclass
class Trace:
    """Events captured while a workload ran (detached), and the counters after it."""

    events: list[Event]
    stats: CaptureStats
    pid: int
    output: str = ""
    by_name: dict[str, list[Event]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for e in self.events:
            self.by_name.setdefault(e.name + e.direction, []).append(e)

    def find(self, evt: str, direction: str, /, **params: object) -> list[Event]:
        """Events of that type whose named parameters equal the given values."""
        found = []
        for e in self.by_name.get(evt + direction, []):
            if all(e.param_by_name(k) == v for k, v in params.items()):
                found.append(e)
        return found


def drain(src: KmodSource, until: float, quiet: float = 0.5) -> list[Event]:
    """Read (detaching) until `until` has passed and the rings were empty for `quiet` s."""
    got: list[Event] = []
    last = time.monotonic()
    while True:
        batch = src.read_batch()
        now = time.monotonic()
        if batch:
            got.extend(e.detach() for e in batch)
            last = now
        elif now >= until and now - last >= quiet:
            return got
        else:
            time.sleep(0.02)


def capture(argv: list[str], **kw: Any) -> Trace:
    """Run argv with every syscall captured (this process excluded); return what was seen."""
    with KmodSource(**kw) as src:
        got: list[Event] = []
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        while proc.poll() is None:
            got.extend(e.detach() for e in src.read_batch())
            time.sleep(0.02)
        got.extend(drain(src, time.monotonic()))
        output = proc.stdout.read() if proc.stdout else ""
        stats = src.stats()
    assert proc.returncode == 0, output
    return Trace(got, stats, proc.pid, output)


def reload_module(**params: int) -> None:
    """rmmod sentry, then insmod it again with these module parameters."""
    subprocess.run(["rmmod", "sentry"], check=True)
    args = [f"{k}={v}" for k, v in params.items()]
    subprocess.run(["insmod", str(module_path()), *args], check=True)
