"""Syscall drop monitoring: once per second of event time, act on new drops over threshold."""

from __future__ import annotations

import pytest

from sentry.capture.source import CaptureStats
from sentry.service.drops import DropExit, DropMonitor, DropReport

SECOND = 1_000_000_000


class Counters:
    """Capture counters that the test advances, as a driver's control page would."""

    def __init__(self) -> None:
        self.now = CaptureStats()

    def __call__(self) -> CaptureStats:
        return self.now


def _monitor(
    counters: Counters, actions: list[str], **kw: object
) -> tuple[DropMonitor, list[DropReport], list[str]]:
    alerts: list[DropReport] = []
    logs: list[str] = []
    settings: dict[str, object] = {
        "threshold": 0.1,
        "rate": 0.0,
        "max_burst": 10,
        "simulate": False,
    }
    settings.update(kw)
    mon = DropMonitor(
        actions=actions, stats=counters, alert=alerts.append, log=logs.append, **settings
    )  # type: ignore[arg-type]
    return mon, alerts, logs


def test_drops_over_threshold_log_and_alert_once_per_second() -> None:
    counters = Counters()
    mon, alerts, logs = _monitor(counters, ["log", "alert"])
    mon.check(1 * SECOND)  # starts the clock
    counters.now = CaptureStats(events=100, drops_buffer=50)
    mon.check(int(1.5 * SECOND))  # not a second yet
    assert alerts == []
    mon.check(int(2.1 * SECOND))
    assert len(alerts) == 1 and alerts[0].drops == 50 and alerts[0].drops_buffer == 50
    assert "50 system calls dropped" in logs[0]
    mon.check(int(3.2 * SECOND))  # no new drops since: nothing
    assert len(alerts) == 1
    assert "event drop detected: 1 occurrences" in mon.summary()


def test_drops_under_threshold_are_counted_but_not_acted_on() -> None:
    counters = Counters()
    mon, alerts, logs = _monitor(counters, ["log", "alert"], threshold=0.5)
    mon.check(SECOND)
    counters.now = CaptureStats(events=1000, drops_buffer=10)
    mon.check(3 * SECOND)
    assert (mon.detected, mon.actions_taken, alerts, logs) == (1, 0, [], [])


def test_token_bucket_limits_actions() -> None:
    counters = Counters()
    mon, alerts, _ = _monitor(counters, ["alert"], rate=0.001, max_burst=2, simulate=True)
    for second in range(1, 7):
        mon.check(second * SECOND + second)  # just over a second apart
    assert mon.detected == 5
    assert len(alerts) == mon.actions_taken == 2


def test_exit_action_stops() -> None:
    counters = Counters()
    mon, _, logs = _monitor(counters, ["exit"], simulate=True)
    mon.check(SECOND)
    with pytest.raises(DropExit):
        mon.check(3 * SECOND)
    assert logs[-1].endswith("Exiting.")


def test_ignore_does_nothing() -> None:
    counters = Counters()
    mon, alerts, logs = _monitor(counters, ["ignore"], simulate=True)
    mon.check(SECOND)
    mon.check(3 * SECOND)
    assert mon.detected == 1 and alerts == [] and logs == []


def test_page_faulted_events_are_delivered_not_dropped() -> None:
    """A parameter left empty (user memory unreadable) is not a lost event."""
    counters = Counters()
    mon, alerts, logs = _monitor(counters, ["log", "alert"], threshold=0.0)
    mon.check(SECOND)
    counters.now = CaptureStats(events=1000, drops_page_fault=400, suppressed=10**6)
    mon.check(3 * SECOND)
    assert (mon.detected, alerts, logs) == (0, [], [])
    counters.now = CaptureStats(
        events=1100, drops_page_fault=500, drops_buffer=7, preemptions=1, suppressed=10**6
    )
    mon.check(5 * SECOND)
    assert [(a.drops, a.drops_page_fault) for a in alerts] == [(8, 100)]
