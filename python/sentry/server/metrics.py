"""Prometheus metrics for ``GET /metrics``, read from the daemon's counters at scrape time.

Nothing is counted twice: the pipeline keeps plain integers (cheap per event) and this
collector turns a :class:`MetricsSnapshot` into metric families only when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from sentry.outputs.channels import DeliveryStats


@dataclass
class MetricsSnapshot:
    """The daemon's counters at one moment."""

    events: dict[str, int] = field(default_factory=dict)  # by source
    drops: dict[str, int] = field(default_factory=dict)  # by cause
    unreadable: int = 0  # events delivered with a user-memory parameter left empty
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, priority)
    eval_seconds: float = 0.0
    eval_events: int = 0
    outputs: dict[str, DeliveryStats] = field(default_factory=dict)  # by channel
    throttled: int = 0
    requests: dict[str, int] = field(default_factory=dict)  # webhook answers by status
    rules_loaded: int = 0
    reloads: dict[str, int] = field(default_factory=dict)  # "ok" / "failed"
    # Container engines: (engine, socket) -> lookups by result / errors by kind / state.
    container_lookups: dict[tuple[str, str, str], int] = field(default_factory=dict)
    container_errors: dict[tuple[str, str, str], int] = field(default_factory=dict)
    container_engine_up: dict[tuple[str, str], int] = field(default_factory=dict)
    alerts_held: dict[str, int] = field(default_factory=dict)  # released_ready/_timeout ...


class SentryCollector(Collector):
    """Builds the metric families from ``snapshot()`` on each scrape."""

    def __init__(self, snapshot: Callable[[], MetricsSnapshot]):
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self._snapshot()
        events = CounterMetricFamily("sentry_events", "Events evaluated, by source",
                                     labels=["source"])
        for source, n in sorted(s.events.items()):
            events.add_metric([source], n)
        yield events
        drops = CounterMetricFamily("sentry_event_drops", "Events lost before evaluation, by "
                                    "cause", labels=["cause"])
        for cause, n in sorted(s.drops.items()):
            drops.add_metric([cause], n)
        yield drops
        yield CounterMetricFamily("sentry_event_params_unreadable", "Events delivered with a "
                                  "parameter left empty (user memory not readable)",
                                  value=s.unreadable)
        alerts = CounterMetricFamily("sentry_alerts", "Alerts raised, by rule and priority",
                                     labels=["rule", "priority"])
        for (rule, prio), n in sorted(s.alerts.items()):
            alerts.add_metric([rule, prio], n)
        yield alerts
        yield CounterMetricFamily("sentry_evaluation_seconds", "Time spent evaluating rules",
                                  value=s.eval_seconds)
        yield CounterMetricFamily("sentry_evaluated_events", "Events run through the rules",
                                  value=s.eval_events)
        delivered = CounterMetricFamily("sentry_output_delivered", "Alerts delivered, by "
                                        "channel", labels=["channel"])
        failures = CounterMetricFamily("sentry_output_failures", "Alerts not delivered, by "
                                       "channel and cause", labels=["channel", "cause"])
        retries = CounterMetricFamily("sentry_output_retries", "Delivery attempts retried, by "
                                      "channel", labels=["channel"])
        for name, st in sorted(s.outputs.items()):
            delivered.add_metric([name], st.delivered)
            retries.add_metric([name], st.retries)
            failures.add_metric([name, "error"], st.failed)
            failures.add_metric([name, "queue_full"], st.queue_full)
            failures.add_metric([name, "shutdown"], st.shutdown)
        yield delivered
        yield failures
        yield retries
        yield CounterMetricFamily("sentry_alerts_throttled", "Alerts dropped by the outputs "
                                  "rate limit", value=s.throttled)
        requests = CounterMetricFamily("sentry_webhook_requests", "Webhook requests, by HTTP "
                                       "status", labels=["code"])
        for code, n in sorted(s.requests.items()):
            requests.add_metric([code], n)
        yield requests
        yield GaugeMetricFamily("sentry_rules_loaded", "Rules currently loaded",
                                value=s.rules_loaded)
        reloads = CounterMetricFamily("sentry_rule_reloads", "Rule reloads (SIGHUP), by result",
                                      labels=["result"])
        for result, n in sorted(s.reloads.items()):
            reloads.add_metric([result], n)
        yield reloads
        lookups = CounterMetricFamily("sentry_container_lookups", "Container metadata lookups, "
                                      "by engine, socket and result",
                                      labels=["engine", "socket", "result"])
        for lkey, n in sorted(s.container_lookups.items()):
            lookups.add_metric(list(lkey), n)
        yield lookups
        errors = CounterMetricFamily("sentry_container_engine_errors", "Container engine "
                                     "calls that failed, by engine, socket and kind",
                                     labels=["engine", "socket", "kind"])
        for ekey, n in sorted(s.container_errors.items()):
            errors.add_metric(list(ekey), n)
        yield errors
        up = GaugeMetricFamily("sentry_container_engine_up", "Whether a container engine "
                               "socket answers (1) or not (0)", labels=["engine", "socket"])
        for ukey, n in sorted(s.container_engine_up.items()):
            up.add_metric(list(ukey), n)
        yield up
        held = CounterMetricFamily("sentry_alerts_held", "Alerts held for their container's "
                                   "metadata, by outcome", labels=["outcome"])
        for outcome, n in sorted(s.alerts_held.items()):
            held.add_metric([outcome], n)
        yield held


def make_registry(snapshot: Callable[[], MetricsSnapshot]) -> CollectorRegistry:
    """A registry holding only Sentry's collector (no process/platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SentryCollector(snapshot))
    return registry
