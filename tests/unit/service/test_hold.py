"""Alerts held for their container's metadata: released once, when the runtime answers,
when no runtime knows the container, or when the wait is over; never for the host."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

from sentry.inspect.containers import (
    HOST_ID,
    ContainerIdentity,
    ContainerInfo,
    ContainerTable,
)
from sentry.rules.alert import Alert
from sentry.rules.definitions import Priority
from sentry.service.hold import ContainerAlertHold

CID = "a0dd4d5e1c2b" + "0" * 52


def _setup(
    hold_s: float = 5.0,
) -> tuple[ContainerTable, ContainerAlertHold, list[Alert], threading.Event]:
    table = ContainerTable()
    table.on_new = lambda ident: None  # a resolver is asking
    out: list[Alert] = []
    got = threading.Event()

    def sink(alert: Alert) -> None:
        out.append(alert)
        got.set()

    return table, ContainerAlertHold(table, sink, hold_s), out, got


def _event(cid: str) -> SimpleNamespace:
    return SimpleNamespace(thread=SimpleNamespace(container_id=cid), ts=1)


def _finish(table: ContainerTable, cid: str) -> Callable[[], Alert]:
    def finish() -> Alert:
        info = table.get(cid[:12])
        name = info.name if info is not None else None
        return Alert(1, "r", Priority.ERROR, f"name={name}")

    return finish


def test_alert_waits_for_the_runtime_and_goes_out_with_its_metadata() -> None:
    table, hold, out, got = _setup()
    table.seen(ContainerIdentity(CID, "docker"))
    key = hold.key(_event(CID[:12]))
    assert key == CID[:12]
    hold.add(key, _finish(table, CID))
    assert out == []
    table.update(ContainerInfo(CID[:12], type="docker", name="web", full_id=CID))
    assert got.wait(2)
    assert [a.message for a in out] == ["name=web"]
    assert (hold.stats.released_ready, hold.stats.waiting) == (1, 0)


def test_alert_goes_out_when_the_wait_is_over() -> None:
    table, hold, out, got = _setup(hold_s=0.2)
    table.seen(ContainerIdentity(CID, "docker"))
    start = time.monotonic()
    hold.add(CID[:12], _finish(table, CID))
    assert got.wait(5)
    assert time.monotonic() - start >= 0.19
    assert [a.message for a in out] == ["name=None"]
    assert hold.stats.released_timeout == 1
    table.update(ContainerInfo(CID[:12], name="late", full_id=CID))
    time.sleep(0.1)
    assert len(out) == 1  # released exactly once


def test_no_runtime_knows_it_then_no_wait() -> None:
    table, hold, _, got = _setup()
    table.seen(ContainerIdentity(CID, "docker"))
    hold.add(CID[:12], _finish(table, CID))
    table.mark_failed(CID[:12])
    assert got.wait(2)
    assert hold.key(_event(CID[:12])) is None  # later alerts of it are not held


def test_host_and_known_containers_are_not_held() -> None:
    table, hold, _, _ = _setup()
    assert hold.key(_event(HOST_ID)) is None
    table.update(ContainerInfo(CID[:12], name="web", full_id=CID))
    assert hold.key(_event(CID[:12])) is None
    assert hold.key(SimpleNamespace(thread=None, ts=1)) is None


def test_close_releases_what_still_waits() -> None:
    table, hold, out, _ = _setup(hold_s=60)
    table.seen(ContainerIdentity(CID, "docker"))
    for _ in range(3):
        hold.add(CID[:12], _finish(table, CID))
    hold.close()
    assert len(out) == 3 and hold.stats.waiting == 0
