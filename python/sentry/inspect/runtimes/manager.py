"""The resolvers: runtime clients run in background threads, writing into the container table.

For each configured socket, two threads:

- a **watcher** lists the runtime's containers at start (and after each reconnect), then
  follows its event stream (or polls), queueing every container created or started;
- a **lookup worker** answers queued ids with the runtime's metadata
  (:meth:`ContainerTable.update`).

The inspector's :meth:`ContainerTable.seen` hands each new id to the workers of the runtimes
its cgroup layout may belong to; when all of them have answered without knowing it (or
could not answer), the id is marked failed so that held alerts go out at once. No call ever
runs on the event path. A socket that is missing is said once and looked for again every
few seconds; one that times out, answers garbage or goes away is counted, said once per
outage, and retried with back-off (1 s doubling to 30 s).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sentry.inspect.containers import SHORT_ID_LEN, ContainerIdentity, ContainerTable, LookupState
from sentry.inspect.runtimes.base import RuntimeAPIError, RuntimeClient
from sentry.log import log as _log

if TYPE_CHECKING:
    from sentry.service.config import Config


SOCKET_RECHECK_S = 5.0
BACKOFF_MIN_S, BACKOFF_MAX_S = 1.0, 30.0
QUEUE_SIZE = 10_000
# Which engines a cgroup layout may belong to (None: any).
_ENGINES_FOR = {
    "docker": ("docker",),
    "podman": ("podman",),
    "containerd": ("cri",),
    "cri-o": ("cri",),
}


@dataclass
class EngineStats:
    """What one runtime socket did, for /metrics and the log."""

    engine: str
    socket: str
    state: str = "starting"  # starting, up, down, absent, stopped
    lookups: Counter[str] = field(default_factory=Counter)  # ok, not_found, error, skipped
    errors: Counter[str] = field(default_factory=Counter)  # timeout, unavailable, protocol
    events: int = 0  # containers the watcher was told of
    queue_full: int = 0


class _Engine:
    """One client with its watcher and lookup worker."""

    def __init__(self, client: RuntimeClient, owner: Resolvers):
        self.client = client
        self.owner = owner
        self.stats = EngineStats(client.name, client.socket_path)
        self.queue: queue.Queue[tuple[str, bool]] = queue.Queue(QUEUE_SIZE)
        self._said_absent = False
        self._outage = False
        self._threads: list[threading.Thread] = []

    @property
    def up(self) -> bool:
        return self.stats.state == "up"

    def start(self) -> None:
        for target, kind in ((self._watch_loop, "watch"), (self._lookup_loop, "lookup")):
            t = threading.Thread(
                target=target, daemon=True, name=f"containers-{self.client.name}-{kind}"
            )
            t.start()
            self._threads.append(t)

    def submit(self, full_id: str, asked: bool) -> bool:
        """Queue a lookup; ``asked``: the table waits for this answer (seen, not an event)."""
        try:
            self.queue.put_nowait((full_id, asked))
            return True
        except queue.Full:
            self.stats.queue_full += 1
            return False

    # -- watcher

    def _watch_loop(self) -> None:
        stop = self.owner.stopping
        backoff = BACKOFF_MIN_S
        while not stop.is_set():
            if not os.path.exists(self.client.socket_path):
                self.stats.state = "absent"
                if not self._said_absent:
                    self._said_absent = True
                    _log(
                        f"container engine {self.client.name}: no socket at "
                        f"{self.client.socket_path} (looked for again every "
                        f"{SOCKET_RECHECK_S:g} s)",
                        "info",
                    )
                stop.wait(SOCKET_RECHECK_S)
                continue
            try:
                ids = self.client.list_ids()
                self.stats.state = "up"
                if self._outage or self._said_absent:
                    _log(
                        f"container engine {self.client.name}: {self.client.socket_path} "
                        "answers again",
                        "info",
                    )
                self._outage = self._said_absent = False
                backoff = BACKOFF_MIN_S
                for full_id in ids:
                    info = self.owner.table.get(full_id[:SHORT_ID_LEN])
                    if info is None or info.state is not LookupState.DONE:
                        self.submit(full_id, False)
                self.client.watch(stop, self._told)
            except RuntimeAPIError as err:
                self._failed(err)
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except Exception as err:  # a client bug must not end the thread
                self._failed(RuntimeAPIError(self.client.name, "protocol", repr(err)))
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        self.stats.state = "stopped"

    def _told(self, full_id: str) -> None:
        self.stats.events += 1
        self.submit(full_id, False)

    def _failed(self, err: RuntimeAPIError) -> None:
        self.stats.errors[err.kind] += 1
        if self.owner.stopping.is_set():
            return
        self.stats.state = "down"
        if not self._outage:
            self._outage = True
            _log(
                f"container engine {err}; retrying with back-off, alerts carry the fields "
                "known until then",
                "warning",
            )

    # -- lookups

    def _lookup_loop(self) -> None:
        stop = self.owner.stopping
        while not stop.is_set():
            try:
                full_id, asked = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            found = False
            if self.stats.state in ("absent", "down") and asked:
                self.stats.lookups["skipped"] += 1
            else:
                try:
                    info = self.client.inspect(full_id)
                except RuntimeAPIError as err:
                    self.stats.lookups["error"] += 1
                    self._failed(err)
                except Exception as err:  # garbage the client did not foresee
                    self.stats.lookups["error"] += 1
                    self._failed(RuntimeAPIError(self.client.name, "protocol", repr(err)))
                else:
                    if info is None:
                        self.stats.lookups["not_found"] += 1
                    else:
                        self.stats.lookups["ok"] += 1
                        found = True
                        self.owner.table.update(info)
            if asked:
                self.owner.answered(full_id, found)

    def join(self, timeout: float) -> None:
        for t in self._threads:
            t.join(timeout)
        with contextlib.suppress(Exception):  # closing a broken channel may fail
            self.client.close()


class Resolvers:
    """Every configured runtime client, answering the container table in the background."""

    def __init__(self, table: ContainerTable, clients: Sequence[RuntimeClient]):
        self.table = table
        self.stopping = threading.Event()
        self.engines = [_Engine(c, self) for c in clients]
        self._outstanding: dict[str, int] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.table.on_new = self._seen
        for engine in self.engines:
            engine.start()

    def stop(self, timeout: float = 2.0) -> None:
        self.table.on_new = None
        self.stopping.set()
        for engine in self.engines:
            engine.join(timeout)

    def _seen(self, ident: ContainerIdentity) -> None:
        names = _ENGINES_FOR.get(ident.runtime or "")
        targets = [e for e in self.engines if names is None or e.client.name in names]
        with self._lock:
            self._outstanding[ident.full_id] = len(targets)
        for engine in targets:
            if not engine.submit(ident.full_id, True):
                self.answered(ident.full_id, False)
        if not targets:
            self.table.mark_failed(ident.id)

    def answered(self, full_id: str, found: bool) -> None:
        """One engine answered a lookup the table waits for."""
        with self._lock:
            left = self._outstanding.get(full_id)
            if left is None:
                return
            if found or left <= 1:
                del self._outstanding[full_id]
                done = True
            else:
                self._outstanding[full_id] = left - 1
                done = False
        if done and not found:
            self.table.mark_failed(full_id[:SHORT_ID_LEN])

    def stats(self) -> list[EngineStats]:
        return [e.stats for e in self.engines]


def clients_from_config(cfg: Config, host_root: str | None = None) -> list[RuntimeClient]:
    """The runtime clients ``container_engines`` asks for, sockets under ``HOST_ROOT``."""
    from sentry.inspect.runtimes.cri import CriClient
    from sentry.inspect.runtimes.dockerapi import DockerClient

    root = (host_root if host_root is not None else os.environ.get("HOST_ROOT", "")).rstrip("/")
    timeout = cfg.get("container_engines.lookup_timeout_ms") / 1000
    poll = cfg.get("container_engines.poll_interval_ms") / 1000
    clients: list[RuntimeClient] = []
    makers: dict[str, Callable[[str], RuntimeClient]] = {
        "docker": lambda p: DockerClient(p, name="docker", timeout=timeout),
        "podman": lambda p: DockerClient(p, name="podman", timeout=timeout),
        "cri": lambda p: CriClient(p, timeout=timeout, poll_interval=poll),
    }
    for engine, make in makers.items():
        if not cfg.get(f"container_engines.{engine}.enabled"):
            continue
        for sock in cfg.get(f"container_engines.{engine}.sockets"):
            clients.append(make(root + sock))
    return clients
