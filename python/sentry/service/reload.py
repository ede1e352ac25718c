"""What a SIGHUP takes from a newly read configuration, and what waits for a restart.

Falco rebuilds its whole application on SIGHUP. Sentry rebuilds beside the running pieces
and swaps them in at once, so that the reader never waits on a reload:

- **reloaded**: the outputs (``*_output`` sections, ``outputs.*``, ``buffered_outputs``),
  the alert format (``json_output``, ``json_include_*``) and Sentry's own log settings
  (``log_*``); with them, the rules, read again with the new file's selection (``priority``,
  ``rules`` enable/disable, and ``rules_file`` when the rules come from the configuration,
  not ``-r``);
- **not reloaded** (a change is logged, and waits for a restart): everything else, e.g. the
  web server and metrics endpoint (a bound socket), ``container_engines`` (the runtime
  clients), ``syscall_event_drops``, ``time_format_iso_8601``, ``rule_matching`` and the
  driver (``--driver``, a CLI flag).

An output whose settings did not change keeps running as it is (its queue, connection and
counters); a changed or new one is built beside it, the old one is drained after the swap.
The counters of drained outputs stay on ``/metrics``, added to their successor's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import fields

from sentry.outputs.channels import Delivery, DeliveryStats
from sentry.outputs.dispatch import Outputs
from sentry.service.config import Config
from sentry.service.outputsetup import build_channels, deliver

# Keys a reload applies: by prefix (a section) or whole name.
RELOADED = (
    "stdout_output.",
    "file_output.",
    "syslog_output.",
    "program_output.",
    "http_output.",
    "outputs.",
    "buffered_outputs",
    "json_",
    "log_",
    "priority",
    "rules",
    "rules_file",
)
# What every output's delivery reads, beside its own section.
_DELIVERY_KEYS = (
    "buffered_outputs",
    "outputs.queue_size",
    "outputs.max_retries",
    "outputs.retry_backoff",
)


def _reloaded(key: str) -> bool:
    return any(key == p or (p.endswith(("_", ".")) and key.startswith(p)) for p in RELOADED)


def changed_keys(old: Config, new: Config) -> list[str]:
    """Every key whose value differs between the two configurations."""
    return sorted(
        k for k in new.values.keys() | old.values.keys() if old.values.get(k) != new.values.get(k)
    )


def restart_only(keys: Iterable[str]) -> list[str]:
    """The changed keys a reload does not apply."""
    return [k for k in keys if not _reloaded(k)]


def _channel_changed(name: str, keys: list[str]) -> bool:
    section = f"{name}_output."
    return any(k.startswith(section) or k in _DELIVERY_KEYS for k in keys)


def plan_outputs(running: Outputs, old: Config, new: Config) -> tuple[Outputs, list[Delivery]]:
    """The outputs for ``new``: unchanged channels keep their running delivery, changed and
    new ones get a new one. Returns them (not yet used) and the deliveries they replace
    (still running: drain them after the swap). Raises ConfigError on a bad setting, having
    built nothing that runs."""
    keys = changed_keys(old, new)
    if not any(_reloaded(k) for k in keys):
        return running, []
    by_name = {d.channel.name: d for d in running.deliveries}
    wanted = build_channels(new)  # cheap: no channel opens anything before its first send
    kept: list[Delivery] = []
    fresh: list[Delivery] = []
    for channel in wanted:
        current = by_name.get(channel.name)
        if current is not None and not _channel_changed(channel.name, keys):
            channel.close()
            kept.append(current)
        else:
            fresh.append(deliver(new, channel))
    retired = [d for d in running.deliveries if d not in kept]
    outputs = Outputs([*kept, *fresh], new.get("outputs.rate"), new.get("outputs.max_burst"))
    outputs.emitted, outputs.throttled = running.emitted, running.throttled
    return outputs, retired


class Retired:
    """The outputs a reload replaced: draining ones (their live counters) and, once drained,
    their final counters by channel name, so that ``/metrics`` never loses a count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._draining: list[Delivery] = []
        self._totals: dict[str, DeliveryStats] = {}

    def add(self, deliveries: list[Delivery]) -> None:
        """Take ``deliveries`` (in the same step as they stop receiving alerts)."""
        with self._lock:
            self._draining.extend(deliveries)

    def drain(self, timeout: float = 5.0) -> None:
        """Close the deliveries taken (what is queued is delivered, or counted), keeping
        their counters."""
        with self._lock:
            deliveries = list(self._draining)
        for d in deliveries:
            d.close(timeout)
            with self._lock:
                _add(self._totals.setdefault(d.channel.name, DeliveryStats()), d.stats)
                self._draining.remove(d)

    def merged(self, live: dict[str, DeliveryStats]) -> dict[str, DeliveryStats]:
        """``live`` with the replaced outputs' counters added, by channel name."""
        out: dict[str, DeliveryStats] = {}
        with self._lock:
            parts = [
                *live.items(),
                *self._totals.items(),
                *((d.channel.name, d.stats) for d in self._draining),
            ]
        for name, stats in parts:
            _add(out.setdefault(name, DeliveryStats()), stats)
        return out


def _add(total: DeliveryStats, part: DeliveryStats) -> None:
    for f in fields(DeliveryStats):
        setattr(total, f.name, getattr(total, f.name) + getattr(part, f.name))
