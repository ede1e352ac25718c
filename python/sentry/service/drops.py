"""Syscall event drop monitoring: notice drops once per second of event time and act.

Configured by ``syscall_event_drops`` (as in falco.yaml): when the capture counters show
new drops in the last second and their share of events exceeds ``threshold``, the
configured ``actions`` run, at most as often as the token bucket (``rate``, ``max_burst``)
allows: ``log`` writes a line on stderr, ``alert`` raises a Critical alert, ``exit`` stops
the daemon with a non-zero status. ``simulate_drops`` pretends one drop per second (tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentry.capture.source import CaptureStats
from sentry.log import log as log_line
from sentry.outputs.tokenbucket import TokenBucket

ONE_SECOND_NS = 1_000_000_000
DROP_RULE = "Falco internal: syscall event drop"


@dataclass(slots=True)
class DropReport:
    """One detected drop episode: the counter deltas over the last check interval."""

    ts: int
    events: int
    drops: int
    drops_buffer: int
    drops_page_fault: int
    drops_bug: int
    preemptions: int

    def text(self) -> str:
        return f"{DROP_RULE}. {self.drops} system calls dropped in last second."

    def fields(self) -> dict[str, Any]:
        return {
            "n_evts": self.events,
            "n_drops": self.drops,
            "n_drops_buffer": self.drops_buffer,
            "n_drops_pf": self.drops_page_fault,
            "n_drops_bug": self.drops_bug,
            "n_preemptions": self.preemptions,
        }


class DropExit(Exception):
    """Raised by :meth:`DropMonitor.check` when the ``exit`` action fires."""


class DropMonitor:
    """Call :meth:`check` with each event's timestamp; it looks at the stats once a second."""

    def __init__(
        self,
        *,
        actions: list[str],
        threshold: float,
        rate: float,
        max_burst: int,
        simulate: bool,
        stats: Callable[[], CaptureStats],
        alert: Callable[[DropReport], None],
        log: Callable[[str], None] | None = None,
    ):
        self.actions = [a for a in actions if a != "ignore"]
        self.threshold = threshold
        self.simulate = simulate
        self._stats = stats
        self._alert = alert
        self._log = log or log_line
        self._rate, self._burst = rate, max_burst
        self._bucket: TokenBucket | None = None
        self._last = CaptureStats()
        self.next_check_ts = 0
        self.detected = 0
        self.actions_taken = 0

    def check(self, ts: int) -> None:
        """Cheap unless a second of event time has passed since the last look."""
        if ts <= self.next_check_ts:
            return
        if self.next_check_ts == 0:
            self.next_check_ts = ts + ONE_SECOND_NS
            self._bucket = TokenBucket(self._rate, self._burst, now_ns=ts)
            return
        self.next_check_ts = ts + ONE_SECOND_NS
        now = self._stats()
        last, self._last = (
            self._last,
            CaptureStats(**{f: getattr(now, f) for f in now.__dataclass_fields__}),
        )
        report = DropReport(
            ts,
            now.events - last.events,
            now.drops - last.drops,
            now.drops_buffer - last.drops_buffer,
            now.drops_page_fault - last.drops_page_fault,
            now.drops_bug - last.drops_bug,
            now.preemptions - last.preemptions,
        )
        if self.simulate:
            report.drops = report.drops_buffer = 1
        if report.drops <= 0:
            return
        self.detected += 1
        ratio = report.drops / max(1, report.events + report.drops)
        if ratio < self.threshold and not self.simulate:
            return
        assert self._bucket is not None
        if not self._bucket.claim(ts):
            return
        self.actions_taken += 1
        self._act(report)

    def _act(self, report: DropReport) -> None:
        for action in self.actions:
            if action == "log":
                self._log(report.text())
            elif action == "alert":
                self._alert(report)
            elif action == "exit":
                self._log(f"{report.text()} Exiting.")
                raise DropExit(report.text())

    def summary(self) -> str:
        return (
            "Syscall event drop monitoring:\n"
            f"   - event drop detected: {self.detected} occurrences\n"
            f"   - num times actions taken: {self.actions_taken}"
        )
