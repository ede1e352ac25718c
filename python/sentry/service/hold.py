"""Alerts held for their container's metadata, so that the first alert of a fresh container
already names its image and pod.

Only the alert waits, never the event: the engine renders it at once but for its
``container.*``/``k8s.*`` fields and hands :class:`ContainerAlertHold` a ``finish()``. The
alert goes out as soon as the container table hears from a runtime (or that none knows the
container), or when ``hold_s`` has passed, with whatever is known then. Every alert held is
released exactly once (on shutdown too, before the outputs drain).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentry.inspect.containers import HOST_ID, ContainerInfo, ContainerTable, LookupState
from sentry.log import log as _log
from sentry.rules.alert import Alert

Finish = Callable[[], Alert]


@dataclass
class HoldStats:
    held: int = 0  # alerts that waited
    released_ready: int = 0  # ... and went out with the metadata (or its final absence)
    released_timeout: int = 0  # ... and went out when their wait was over
    failed: int = 0  # could not be built (a bug; logged)

    @property
    def waiting(self) -> int:
        return self.held - self.released_ready - self.released_timeout - self.failed


class ContainerAlertHold:
    """The engine's :class:`~sentry.pipeline.AlertHold` for container metadata."""

    def __init__(
        self,
        table: ContainerTable,
        sink: Callable[[Alert], None],
        hold_s: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.table = table
        self.sink = sink
        self.hold_s = hold_s
        self.stats = HoldStats()
        self._clock = clock
        self._held: dict[str, list[tuple[float, Finish]]] = {}
        self._cv = threading.Condition()
        self._stopped = False
        table.add_listener(self._on_update)
        self._timer = threading.Thread(target=self._expire_loop, name="alert-hold", daemon=True)
        self._timer.start()

    def key(self, ev: Any) -> str | None:
        """The container to wait for: the event's, while a runtime is being asked."""
        th = ev.thread
        if th is None:
            return None
        cid: str = th.container_id
        if cid == HOST_ID:
            return None
        info = self.table.get(cid)
        return cid if info is not None and info.state is LookupState.PENDING else None

    def add(self, key: str, finish: Finish) -> None:
        with self._cv:
            self.stats.held += 1
            info = self.table.get(key)
            # The answer may have come between key() and now: then there is nothing to wait for.
            if not self._stopped and info is not None and info.state is LookupState.PENDING:
                self._held.setdefault(key, []).append((self._clock() + self.hold_s, finish))
                self._cv.notify()
                return
        self._release([finish], timeout=False)

    def _on_update(self, info: ContainerInfo) -> None:
        if info.state is LookupState.PENDING:
            return
        with self._cv:
            items = self._held.pop(info.id, None)
        if items:
            self._release([f for _, f in items], timeout=False)

    def _expire_loop(self) -> None:
        while True:
            with self._cv:
                if self._stopped:
                    return
                now = self._clock()
                due: list[Finish] = []
                soonest = None
                for key in list(self._held):
                    keep = []
                    for deadline, finish in self._held[key]:
                        if deadline <= now:
                            due.append(finish)
                        else:
                            keep.append((deadline, finish))
                            soonest = deadline if soonest is None else min(soonest, deadline)
                    if keep:
                        self._held[key] = keep
                    else:
                        del self._held[key]
                if not due:
                    self._cv.wait(None if soonest is None else max(0.0, soonest - now))
                    continue
            self._release(due, timeout=True)

    def _release(self, finishes: list[Finish], *, timeout: bool) -> None:
        for finish in finishes:
            try:
                alert = finish()
            except Exception as err:  # a field that fails must not lose the others
                with self._cv:
                    self.stats.failed += 1
                _log(f"a held alert could not be built: {err!r}")
                continue
            with self._cv:
                if timeout:
                    self.stats.released_timeout += 1
                else:
                    self.stats.released_ready += 1
            self.sink(alert)

    def close(self) -> None:
        """Release every alert still waiting (with what is known) and stop the timer."""
        with self._cv:
            self._stopped = True
            items = [f for entries in self._held.values() for _, f in entries]
            self._held.clear()
            self._cv.notify()
        self._release(items, timeout=True)
        self._timer.join(1.0)
