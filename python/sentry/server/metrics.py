"""Prometheus metrics for ``GET /metrics``, read from the daemon's counters at scrape time.

Nothing is counted twice: the pipeline keeps plain integers (cheap per event) and this
collector turns a :class:`MetricsSnapshot` into metric families only when scraped.

Two sets of names: Sentry's own (``sentry_events_total``, ``sentry_alerts_total`` ...) and,
where a number means what one of Falco's does, Falco's Prometheus name (Falco >= 0.38) with
its ``falcosecurity_falco_`` / ``falcosecurity_scap_`` / ``falcosecurity_evt_`` prefix
replaced by ``sentry_``: ``sentry_rules_matches_total{rule_name,priority,source,tags}``,
``sentry_n_evts_total``, ``sentry_n_drops_total``, ``sentry_n_drops_buffer_total{dir,drop}``,
``sentry_n_suppressed_total`` (with ``sentry_n_suppressed_quiet_total``: not drops),
``sentry_outputs_queue_num_drops_total``, ``sentry_cpu_usage_ratio``,
``sentry_memory_rss_bytes``, ``sentry_n_threads``, ``sentry_n_drops_full_threadtable``,
``sentry_version_info`` ... (see :func:`falco_named`). Labels
are Falco's too: ``priority`` is the number (4 for Warning), ``tags`` the sorted tags joined
by ``", "``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from sentry.outputs.channels import DeliveryStats
from sentry.rules.definitions import Priority


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
    # Loaded rules: name -> (priority, source, tags), for the Falco-named rule counters.
    rules: dict[str, tuple[Priority, str, tuple[str, ...]]] = field(default_factory=dict)
    capture_events: int | None = None  # events the live driver wrote (None: no driver)
    # Left out on purpose by the driver (not drops): "all" (interest set, own process,
    # sampling, quiet opens), "quiet" (opens/closes of quiet files), "held_written".
    suppressed: dict[str, int] = field(default_factory=dict)
    engine_name: str = ""  # the live driver: "kmod", "ebpf" ("" without one)
    # --rule-stats: rule name -> [events evaluated, matches, nanoseconds] (rulestats.py)
    rule_cost: dict[str, list[int]] = field(default_factory=dict)
    # The inspector's thread table (None without one): threads now, threads not kept
    # because it was full (Falco's n_drops_full_threadtable), threads purged.
    threads: int | None = None
    threads_dropped_full: int = 0
    threads_purged: int = 0


class SentryCollector(Collector):
    """Builds the metric families from ``snapshot()`` on each scrape."""

    def __init__(self, snapshot: Callable[[], MetricsSnapshot]):
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self._snapshot()
        events = CounterMetricFamily(
            "sentry_events", "Events evaluated, by source", labels=["source"]
        )
        for source, n in sorted(s.events.items()):
            events.add_metric([source], n)
        yield events
        drops = CounterMetricFamily(
            "sentry_event_drops", "Events lost before evaluation, by cause", labels=["cause"]
        )
        for cause, n in sorted(s.drops.items()):
            drops.add_metric([cause], n)
        yield drops
        yield CounterMetricFamily(
            "sentry_event_params_unreadable",
            "Events delivered with a parameter left empty (user memory not readable)",
            value=s.unreadable,
        )
        alerts = CounterMetricFamily(
            "sentry_alerts", "Alerts raised, by rule and priority", labels=["rule", "priority"]
        )
        for (rule, prio), n in sorted(s.alerts.items()):
            alerts.add_metric([rule, prio], n)
        yield alerts
        yield CounterMetricFamily(
            "sentry_evaluation_seconds", "Time spent evaluating rules", value=s.eval_seconds
        )
        yield CounterMetricFamily(
            "sentry_evaluated_events", "Events run through the rules", value=s.eval_events
        )
        delivered = CounterMetricFamily(
            "sentry_output_delivered", "Alerts delivered, by channel", labels=["channel"]
        )
        failures = CounterMetricFamily(
            "sentry_output_failures",
            "Alerts not delivered, by channel and cause",
            labels=["channel", "cause"],
        )
        retries = CounterMetricFamily(
            "sentry_output_retries", "Delivery attempts retried, by channel", labels=["channel"]
        )
        for name, st in sorted(s.outputs.items()):
            delivered.add_metric([name], st.delivered)
            retries.add_metric([name], st.retries)
            failures.add_metric([name, "error"], st.failed)
            failures.add_metric([name, "queue_full"], st.queue_full)
            failures.add_metric([name, "shutdown"], st.shutdown)
        yield delivered
        yield failures
        yield retries
        yield CounterMetricFamily(
            "sentry_alerts_throttled", "Alerts dropped by the outputs rate limit", value=s.throttled
        )
        requests = CounterMetricFamily(
            "sentry_webhook_requests", "Webhook requests, by HTTP status", labels=["code"]
        )
        for code, n in sorted(s.requests.items()):
            requests.add_metric([code], n)
        yield requests
        yield GaugeMetricFamily(
            "sentry_rules_loaded", "Rules currently loaded", value=s.rules_loaded
        )
        reloads = CounterMetricFamily(
            "sentry_rule_reloads", "Rule reloads (SIGHUP), by result", labels=["result"]
        )
        for result, n in sorted(s.reloads.items()):
            reloads.add_metric([result], n)
        yield reloads
        lookups = CounterMetricFamily(
            "sentry_container_lookups",
            "Container metadata lookups, by engine, socket and result",
            labels=["engine", "socket", "result"],
        )
        for lkey, n in sorted(s.container_lookups.items()):
            lookups.add_metric(list(lkey), n)
        yield lookups
        errors = CounterMetricFamily(
            "sentry_container_engine_errors",
            "Container engine calls that failed, by engine, socket and kind",
            labels=["engine", "socket", "kind"],
        )
        for ekey, n in sorted(s.container_errors.items()):
            errors.add_metric(list(ekey), n)
        yield errors
        up = GaugeMetricFamily(
            "sentry_container_engine_up",
            "Whether a container engine socket answers (1) or not (0)",
            labels=["engine", "socket"],
        )
        for ukey, n in sorted(s.container_engine_up.items()):
            up.add_metric(list(ukey), n)
        yield up
        held = CounterMetricFamily(
            "sentry_alerts_held",
            "Alerts held for their container's metadata, by outcome",
            labels=["outcome"],
        )
        for outcome, n in sorted(s.alerts_held.items()):
            held.add_metric([outcome], n)
        yield held
        if s.rule_cost:  # sentry run --rule-stats
            fams = [
                CounterMetricFamily(f"sentry_rule_{name}", doc, labels=["rule_name"])
                for name, doc in (
                    ("evaluations", "Events a rule was evaluated on"),
                    ("matches", "Events a rule matched"),
                    ("cpu_seconds", "Time spent evaluating a rule"),
                )
            ]
            for rule, (evaluated, matched, ns) in sorted(s.rule_cost.items()):
                for fam, value in zip(fams, (evaluated, matched, ns / 1e9), strict=True):
                    fam.add_metric([rule], value)
            yield from fams
        yield from falco_named(s)


def _process_usage() -> tuple[float, int, int]:
    """This process's CPU use since it started (a ratio of one CPU, as Falco's
    ``cpu_usage_ratio``), resident and virtual memory in bytes; zeros when /proc is silent."""
    proc = Path("/proc")
    try:
        stat = (proc / "self" / "stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        ticks = os.sysconf("SC_CLK_TCK")
        cpu_s = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        started_s = int(fields[19]) / ticks  # since boot
        uptime_s = float((proc / "uptime").read_text().split()[0])
        pages = (proc / "self" / "statm").read_text().split()
    except (OSError, ValueError, IndexError):
        return 0.0, 0, 0
    page = os.sysconf("SC_PAGE_SIZE")
    elapsed = uptime_s - started_s
    return (cpu_s / elapsed if elapsed > 0 else 0.0), int(pages[1]) * page, int(pages[0]) * page


_START_NS = time.time_ns()  # when the daemon's process imported its metrics


def falco_named(s: MetricsSnapshot) -> Iterator[Metric]:
    """The metric families Falco exports under ``falcosecurity_*``, named ``sentry_*``."""
    from sentry.version import version

    def info(name: str, doc: str, **labels: str) -> GaugeMetricFamily:
        fam = GaugeMetricFamily(name, doc, labels=list(labels))
        fam.add_metric(list(labels.values()), 1)
        return fam

    yield info("sentry_version_info", "Sentry's version", version=version())
    yield info(
        "sentry_kernel_release_info",
        "The kernel release (uname -r)",
        kernel_release=os.uname().release,
    )
    yield info("sentry_hostname_info", "The host name alerts carry", hostname=socket.gethostname())
    if s.engine_name:
        yield info(
            "sentry_engine_name_info",
            "The live capture driver",
            engine_name=s.engine_name,
            evt_source="syscall",
        )
    yield GaugeMetricFamily(
        "sentry_start_timestamp_nanoseconds",
        "When Sentry started (ns since the epoch)",
        value=_START_NS,
    )
    yield CounterMetricFamily(
        "sentry_duration_seconds",
        "Seconds since Sentry started",
        value=(time.time_ns() - _START_NS) // 1_000_000_000,
    )
    yield GaugeMetricFamily(
        "sentry_host_num_cpus_total", "CPUs on the host", value=os.cpu_count() or 0
    )
    cpu, rss, vsz = _process_usage()
    yield GaugeMetricFamily(
        "sentry_cpu_usage_ratio",
        "CPU used by Sentry since it started, as a ratio of one CPU",
        value=cpu,
    )
    yield GaugeMetricFamily("sentry_memory_rss_bytes", "Sentry's resident memory", value=rss)
    yield GaugeMetricFamily("sentry_memory_vsz_bytes", "Sentry's virtual memory", value=vsz)
    matches = CounterMetricFamily(
        "sentry_rules_matches",
        "Alerts raised, by rule (Falco's labels: priority number, sorted tags)",
        labels=["rule_name", "priority", "source", "tags"],
    )
    counts: dict[str, int] = {}
    prios: dict[str, str] = {}
    for (rule, prio), n in s.alerts.items():
        counts[rule] = counts.get(rule, 0) + n
        prios[rule] = prio
    for rule in sorted(set(s.rules) | set(counts)):
        if rule in s.rules:
            prio_num, source, tags = int(s.rules[rule][0]), s.rules[rule][1], s.rules[rule][2]
        else:  # raised by rules since reloaded away, or internal (syscall event drops)
            prio_num, source, tags = int(Priority.parse(prios[rule])), "internal", ()
        matches.add_metric(
            [rule, str(prio_num), source, ", ".join(sorted(tags))], counts.get(rule, 0)
        )
    yield matches
    if s.capture_events is not None:
        yield CounterMetricFamily(
            "sentry_n_evts", "Events the driver wrote to its rings", value=s.capture_events
        )
        lost = sum(s.drops.get(k, 0) for k in ("buffer", "bug", "preemption"))
        yield CounterMetricFamily(
            "sentry_n_drops",
            "Events the driver lost (ring full, internal error, re-entry)",
            value=lost,
        )
        # The drivers count ring-full drops as one number, not by syscall family as
        # Falco's do: one sample, dir and drop "all".
        buffer = CounterMetricFamily(
            "sentry_n_drops_buffer", "Events lost because a ring was full", labels=["dir", "drop"]
        )
        buffer.add_metric(["all", "all"], s.drops.get("buffer", 0))
        yield buffer
        yield CounterMetricFamily(
            "sentry_n_drops_bug",
            "Events lost to an internal driver error",
            value=s.drops.get("bug", 0),
        )
        yield CounterMetricFamily(
            "sentry_n_suppressed",
            "Events the driver left out on purpose (interest set, own process, sampling, "
            "quiet opens): not drops",
            value=s.suppressed.get("all", 0),
        )
        yield CounterMetricFamily(
            "sentry_n_suppressed_quiet",
            "Opens and closes of quiet files (no rule can match them) left out in the kernel",
            value=s.suppressed.get("quiet", 0),
        )
        yield CounterMetricFamily(
            "sentry_n_quiet_held_written",
            "Held opens of quiet files written late, before another event of their process",
            value=s.suppressed.get("held_written", 0),
        )
    if s.threads is not None:
        yield GaugeMetricFamily("sentry_n_threads", "Threads in the thread table", value=s.threads)
        yield CounterMetricFamily(
            "sentry_n_drops_full_threadtable",
            "Threads not tracked because the thread table was full (thread_table_size)",
            value=s.threads_dropped_full,
        )
        yield CounterMetricFamily(
            "sentry_threads_purged",
            "Threads purged from the table (exit lost, idle, gone from /proc)",
            value=s.threads_purged,
        )
    yield CounterMetricFamily(
        "sentry_outputs_queue_num_drops",
        "Alerts dropped because an output's queue was full",
        value=sum(st.queue_full for st in s.outputs.values()),
    )


def engine_name(source: object) -> str:
    """The name Falco's ``engine_name`` label would give a live source ("" for others)."""
    return {"KmodSource": "kmod", "EbpfSource": "ebpf"}.get(type(source).__name__, "")


def make_registry(snapshot: Callable[[], MetricsSnapshot]) -> CollectorRegistry:
    """A registry holding only Sentry's collector (no process/platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SentryCollector(snapshot))
    return registry
