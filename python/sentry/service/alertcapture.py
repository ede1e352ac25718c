"""Captures around alerts: a ``.scap`` per alert holding the events before and after it.

Falco 0.42's ``capture`` configuration (``enabled``, ``path_prefix``, ``mode: rules |
all_rules``, ``default_duration`` in ms) and its per-rule ``capture: true`` /
``capture_duration``, plus Sentry's **pre-alert window**: the last ``pre_alert_window`` ms
of events (at most ``pre_alert_max_bytes`` of records) are kept in memory, so the file an
alert starts holds what led to it, then ``capture_duration`` ms after it. Files are named as
Falco names them, ``<path_prefix>_<alert ts in ns>_<alert evt.num>.scap``; each starts with a
process list of the threads known when it is opened, and the files they have open, so sysdig
(``-r``) and ``sentry tail -e`` read it alone. An alert while a file is open extends it.
``max_file_bytes`` cuts a file short and ``max_files_per_minute`` skips alerts beyond it;
both are counted.

:meth:`AlertCapture.tee` wraps an event source: each batch's records are copied into the
window (and the open file) before the engine sees the batch, so the alerting event is there
when the alert arrives (:meth:`AlertCapture.on_alert`, chained before the outputs).
"""

from __future__ import annotations

import collections
import dataclasses
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentry.capture.source import EventSource
    from sentry.events.event import Event
    from sentry.inspect.inspector import Inspector
    from sentry.service.config import Config

MS = 1_000_000


def rule_capture_flags(paths: list[Path]) -> dict[str, tuple[bool, int | None]]:
    """Per rule name, its ``capture`` and ``capture_duration`` (ms) from the rules files
    (a later mention of a rule wins, as an override would)."""
    from sentry.rules.yamlload import parse_yaml_documents

    files: list[Path] = []
    for p in paths:
        files += (
            sorted(c for c in p.iterdir() if c.suffix in (".yaml", ".yml")) if p.is_dir() else [p]
        )
    flags: dict[str, tuple[bool, int | None]] = {}
    for f in files:
        try:
            docs = parse_yaml_documents(f.read_text(encoding="utf-8"), str(f))
        except Exception:  # the loader has reported it
            continue
        for doc in docs:
            for item in doc if isinstance(doc, list) else []:
                if not isinstance(item, dict) or not isinstance(item.get("rule"), str):
                    continue
                if "capture" not in item and "capture_duration" not in item:
                    continue
                old = flags.get(item["rule"], (False, None))
                dur = item.get("capture_duration", old[1])
                flags[item["rule"]] = (
                    bool(item.get("capture", old[0])),
                    dur if isinstance(dur, int) else None,
                )
    return flags


class AlertCapture:
    """The window, the file being written, the caps and their counters."""

    def __init__(
        self,
        section: dict[str, Any],
        rule_flags: dict[str, tuple[bool, int | None]],
        threads: Callable[[], list[Any]],
        fds: Callable[[], list[Any]] = list,
    ):
        self.prefix = str(section["path_prefix"])
        self.all_rules = section["mode"] == "all_rules"
        self.default_ns = int(section["default_duration"]) * MS
        self.window_ns = int(section["pre_alert_window"]) * MS
        self.window_bytes = int(section["pre_alert_max_bytes"])
        self.max_file_bytes = int(section["max_file_bytes"])
        self.per_minute = int(section["max_files_per_minute"])
        self.flags = rule_flags
        self.threads = threads  # the process list for a new file
        self.fds = fds  # and its fd list
        self.window: collections.deque[tuple[int, int, int, bytes]] = collections.deque()
        self.window_size = 0
        self.writer: Any = None
        self.path = ""
        self.until = 0
        self.written = 0
        self.started: collections.deque[float] = collections.deque()
        self.files: list[str] = []
        self.skipped = 0  # alerts over max_files_per_minute
        self.cut = 0  # files cut at max_file_bytes
        self.failed = 0  # files that could not be opened
        # Alerts also arrive on other threads than the reader's (held alerts released by the
        # container lookups): the window and the file change under this lock only.
        self._lock = threading.RLock()

    # -- events

    def tee(self, source: EventSource) -> EventSource:
        return _Tee(source, self)

    def record(self, batch: list[Any]) -> None:
        with self._lock:
            self._record(batch)

    def _record(self, batch: list[Any]) -> None:
        window, keep = self.window, self.window_ns
        for ev in batch:
            rec = ev.record()
            window.append((ev.ts, ev.num, ev.cpu, rec))
            self.window_size += len(rec)
            if self.writer is not None:
                self._write(ev.ts, ev.cpu, rec)
        # Older events go; this batch's stay whole (the engine has yet to see them).
        cutoff, spare = batch[0].ts - keep, len(window) - len(batch)
        while spare > 0 and (window[0][0] < cutoff or self.window_size > self.window_bytes):
            self.window_size -= len(window.popleft()[3])
            spare -= 1
        if self.writer is not None and window and window[-1][0] > self.until:
            self.close()

    def _write(self, ts: int, cpu: int, rec: bytes) -> None:
        if ts > self.until:
            return
        if self.written + len(rec) > self.max_file_bytes:
            self.cut += 1
            self.close()
            return
        self.writer.write_record(rec, cpu)
        self.written += len(rec)

    # -- alerts

    def on_alert(self, alert: Any) -> None:
        with self._lock:
            self._on_alert(alert)

    def _on_alert(self, alert: Any) -> None:
        if alert.source != "syscall":  # audit events have no syscalls; drop reports no rule
            return
        capture, duration = self.flags.get(alert.rule, (False, None))
        if not (capture or self.all_rules):
            return
        until = alert.time_ns + (duration * MS if duration is not None else self.default_ns)
        if self.writer is not None:
            if alert.time_ns <= self.until:  # one file at a time: an alert extends it
                self.until = max(self.until, until)
                return
            self.close()
        now = time.monotonic()
        while self.started and now - self.started[0] > 60:
            self.started.popleft()
        if len(self.started) >= self.per_minute:
            self.skipped += 1
            return
        self.started.append(now)
        num = next((n for ts, n, _, _ in reversed(self.window) if ts == alert.time_ns), 0)
        self._open(alert.time_ns, num, until)

    def _open(self, ts: int, num: int, until: int) -> None:
        from sentry.capture.scapmeta import MachineInfo
        from sentry.capture.scapwriter import ScapWriter

        self.path = f"{self.prefix}_{ts}_{num}.scap"
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.writer = ScapWriter(
                self.path,
                machine=MachineInfo(num_cpus=_cpus()),
                threads=[_in_range(t) for t in self.threads()],
                fds=self.fds(),
            )
        except (OSError, ValueError, struct.error) as err:  # the alert still goes out
            self.failed += 1
            print(f"sentry: capture {self.path} not written: {err}", file=sys.stderr)
            self.writer = None
            return
        self.until, self.written = until, 0
        self.files.append(self.path)
        start = ts - self.window_ns
        for ets, _num, cpu, rec in list(self.window):
            if self.writer is None:
                break
            if ets >= start:
                self._write(ets, cpu, rec)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            print(
                f"sentry: capture written: {self.path} ({self.written} bytes of events)",
                file=sys.stderr,
                flush=True,
            )


def _in_range(t: Any) -> Any:
    """A live thread entry the scap layout can hold (ids a kernel reported as -1 -> 0)."""
    bad = {
        k: 0 for k in ("tid", "pid", "ptid", "vtid", "vpid") if not 0 <= getattr(t, k, 0) < 1 << 64
    }
    bad |= {k: 0 for k in ("sid", "vpgid") if not -(1 << 63) <= getattr(t, k, 0) < 1 << 63}
    return dataclasses.replace(t, **bad) if bad else t


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


class _Tee:
    """A source whose batches also go to an AlertCapture; everything else is the source's."""

    def __init__(self, source: EventSource, capture: AlertCapture):
        self._source = source
        self._capture = capture

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("_source", "_capture"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._source, name, value)

    @property
    def syscall_ids(self) -> frozenset[int] | None:
        """The reader's (SkipsGeneric), seen on the class: isinstance does not call
        ``__getattr__`` on Python 3.12+. Set through ``__setattr__``, on the source."""
        ids: frozenset[int] | None = getattr(self._source, "syscall_ids", None)
        return ids

    def batches(self) -> Iterator[list[Event]]:
        record = self._capture.record
        for batch in self._source.batches():
            if batch:
                record(batch)
            yield batch

    def close(self) -> None:
        capture = self._capture
        capture.close()
        if capture.skipped or capture.cut or capture.failed:
            print(
                f"sentry: alert captures: {len(capture.files)} written, {capture.skipped} "
                f"skipped (max_files_per_minute), {capture.cut} cut at max_file_bytes, "
                f"{capture.failed} failed",
                file=sys.stderr,
            )
        self._source.close()


def from_config(cfg: Config, rule_paths: list[Path], inspector: Inspector) -> AlertCapture | None:
    """The configured AlertCapture (None when ``capture.enabled`` is false)."""
    if not cfg.get("capture.enabled"):
        return None
    from sentry.inspect.snapshot import host_fds, host_threads

    return AlertCapture(
        cfg.section("capture"),
        rule_capture_flags(rule_paths),
        lambda: host_threads(inspector),
        lambda: host_fds(inspector),
    )
