"""``sentry run`` as a long-running service: live events and/or the audit webhook.

The :class:`Daemon` owns what a replay does not need: the embedded web server (Kubernetes
audit events in, metrics out) and the process signals

- ``SIGHUP`` reads the configuration and the rules again and swaps in the outputs, alert
  format and rules they give in one step (:mod:`.reload` says which keys wait for a
  restart); a reload that fails keeps everything running as it was and says why,
- ``SIGTERM`` / ``SIGINT`` stop reading, let the outputs drain, and exit 0,
- ``SIGUSR1`` reopens output files and programs (log rotation), as Falco does.

Syscall events are evaluated on the main thread (the pipeline's run loop); audit events from
the webhook on the server's threads, one request at a time, so a POST is answered once its
alerts are queued on the outputs. Every counter the metrics endpoint shows lives here.
"""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

from sentry.capture.k8saudit import AuditEvent
from sentry.errors import SentryError
from sentry.log import log as _log
from sentry.outputs.channels import DeliveryStats, Message
from sentry.outputs.dispatch import Outputs
from sentry.pipeline import Demand, Pipeline, PipelineOptions, push_down
from sentry.rules.alert import Alert, json_options
from sentry.rules.definitions import Priority
from sentry.rules.ruleset import Ruleset
from sentry.server.metrics import MetricsSnapshot, engine_name, make_registry
from sentry.server.webserver import ServerSettings, Unavailable, WebServer
from sentry.service.config import Config, apply_log_settings
from sentry.service.containers import ContainerMetadata
from sentry.service.drops import DROP_RULE, DropExit, DropMonitor, DropReport
from sentry.service.outputsetup import build_outputs
from sentry.service.reload import Retired, changed_keys, plan_outputs, restart_only

if TYPE_CHECKING:
    from pathlib import Path

    from sentry.capture.source import CaptureStats, EventSource, LiveSource
    from sentry.events.event import Event
    from sentry.inspect.inspector import Inspector

RELOAD_REST = 2.0  # after a reload, no other for twice as long as it took ...
RELOAD_REST_MAX_S = 30.0  # ... and at most this long


class Stop(Exception):
    """Unwinds the main loop on SIGTERM/SIGINT."""


class _TimedSource:
    """The daemon's source as the pipeline reads it: each batch through ``timed`` (which
    adds the time spent on it to the evaluation time)."""

    def __init__(
        self, source: EventSource, timed: Callable[[EventSource], Iterator[list[Event]]]
    ) -> None:
        self._source = source
        self._timed = timed

    def batches(self) -> Iterator[list[Event]]:
        return self._timed(self._source)

    def stats(self) -> CaptureStats:
        return self._source.stats()

    def close(self) -> None:
        self._source.close()


class Daemon:
    """Rules, outputs, web server and signals for one ``sentry run`` without ``-e``."""

    def __init__(
        self,
        cfg: Config,
        load_rules: Callable[[], Ruleset],
        *,
        json_output: bool = False,
        all_events: bool = False,
        load_config: Callable[[], Config] | None = None,
    ):
        self.cfg = cfg
        self._load_rules = load_rules
        self._load_config = load_config  # SIGHUP reads the configuration again with it
        self._json_flag = json_output
        self._as_json = json_output or cfg.get("json_output")
        self._include_output = cfg.get("json_include_output_property")
        self._json_options = json_options(cfg)
        self.options = PipelineOptions(
            all_events=all_events,
            time_iso8601=cfg.get("time_format_iso_8601"),
            rule_matching=cfg.get("rule_matching"),
        )
        self.ruleset = load_rules()
        self.outputs: Outputs = build_outputs(cfg)
        self._emit = threading.Lock()  # a reload swaps the outputs between alerts
        self.retired = Retired()  # outputs a reload replaced: their counters stay
        self.outputs_gone = threading.Event()  # stdout's reader left: stop, as on SIGTERM
        for delivery in self.outputs.deliveries:
            delivery.on_closed = self.outputs_gone.set
        self.pipeline = Pipeline(self.ruleset, self._on_alert, self.options)
        self._lock = threading.Lock()  # one webhook evaluation at a time; reload swaps
        self._counts = threading.Lock()  # counters written by the main and webhook threads
        self.alerts: Counter[tuple[str, str]] = Counter()
        self.audit_events = 0
        self.eval_ns = 0
        self.reloads: Counter[str] = Counter()
        self.web: WebServer | None = None
        self.source: EventSource | None = None
        self._reload = threading.Event()
        self._stopped = threading.Event()
        self._control: threading.Thread | None = None
        self._saved_handlers: dict[int, Any] = {}
        self.retune: Callable[[Ruleset], None] | None = None  # new rules -> driver interest
        self.containers: ContainerMetadata | None = None  # runtime resolvers, alert hold
        self.inspector: Inspector | None = None  # the live state (thread counters: /metrics)

    # -- alerts

    def _on_alert(self, alert: Alert) -> None:
        doc = alert.to_json(self._include_output, **self._json_options)
        with self._counts:
            self.alerts[(alert.rule, alert.priority.label)] += 1
        text = alert.output
        if alert.explain is not None and not self._as_json:  # --explain
            from sentry.rules.explain import render

            text += "\n" + render(alert.explain, margin="    ")
        msg = Message(
            doc if self._as_json else text, doc.encode(), alert.priority.name.lower(), alert.rule
        )
        with self._emit:  # never into outputs a reload is draining: it counts them all
            self.outputs.emit(msg)

    def _drop_alert(self, report: DropReport) -> None:
        with self._lock:
            self._on_alert(
                Alert(
                    report.ts,
                    DROP_RULE,
                    Priority.CRITICAL,
                    report.text(),
                    "internal",
                    report.fields(),
                    self.options.hostname,
                    [],
                    self.options.time_iso8601,
                )
            )

    # -- k8s audit events from the webhook

    def submit_audit(self, events: list[AuditEvent]) -> None:
        """Evaluate webhook events now; alerts are queued when this returns."""
        with self._lock:
            if self._stopped.is_set():
                raise Unavailable("sentry is stopping; events not taken")
            start = time.perf_counter_ns()
            for evt in events:
                self.pipeline.evaluate_audit(evt)
            with self._counts:
                self.eval_ns += time.perf_counter_ns() - start
                self.audit_events += len(events)

    # -- metrics

    def snapshot(self) -> MetricsSnapshot:
        with self._counts:
            # pipeline.stats.events counts the main loop's (syscall) events only.
            events = {"k8s_audit": self.audit_events, "syscall": self.pipeline.stats.events}
            alerts = dict(self.alerts)
            evaluated = self.pipeline.stats.evaluated
            eval_s = self.eval_ns / 1e9
        drops: dict[str, int] = {}
        unreadable = 0
        capture_events = None
        suppressed: dict[str, int] = {}
        if self.source is not None:
            st = self.source.stats()
            capture_events = st.events
            # A page fault truncates a parameter; the event itself is delivered, not lost.
            drops = {"buffer": st.drops_buffer, "bug": st.drops_bug, "preemption": st.preemptions}
            unreadable = st.drops_page_fault
            suppressed = {
                "all": st.suppressed,
                "quiet": st.quiet,
                "held_written": st.quiet_written,
            }
        if self.web is not None:
            drops["k8s_audit_malformed"] = self.web.malformed
        snap = MetricsSnapshot(
            events=events,
            drops=drops,
            unreadable=unreadable,
            alerts=alerts,
            eval_seconds=eval_s,
            eval_events=evaluated,
            outputs=self._output_stats(),
            throttled=self.outputs.throttled,
            requests=dict(self.web.requests) if self.web is not None else {},
            rules_loaded=len(self.ruleset),
            reloads=dict(self.reloads),
            rules={r.name: (r.priority, r.source, r.tags) for r in self.ruleset.rules},
            capture_events=capture_events,
            suppressed=suppressed,
            engine_name=engine_name(self.source),
            rule_cost={
                k: list(v) for k, v in getattr(self.pipeline.rule_stats, "by_rule", {}).items()
            },
        )
        if self.containers is not None:
            self._container_metrics(snap, self.containers)
        if self.inspector is not None:
            table = self.inspector.threads
            snap.threads, snap.threads_dropped_full = len(table), table.drops_full
            snap.threads_purged = self.inspector.purged
        return snap

    def _output_stats(self) -> dict[str, DeliveryStats]:
        """Every channel's counters, those of outputs a reload replaced included."""
        with self._emit:
            return self.retired.merged(self.outputs.stats())

    @staticmethod
    def _container_metrics(snap: MetricsSnapshot, containers: ContainerMetadata) -> None:
        for st in containers.engine_stats():
            snap.container_engine_up[(st.engine, st.socket)] = int(st.state == "up")
            for result, n in st.lookups.items():
                snap.container_lookups[(st.engine, st.socket, result)] = n
            for kind, n in st.errors.items():
                snap.container_errors[(st.engine, st.socket, kind)] = n
        hold = containers.hold_stats()
        if hold is not None:
            snap.alerts_held = {
                "released_ready": hold.released_ready,
                "released_timeout": hold.released_timeout,
                "failed": hold.failed,
                "waiting": hold.waiting,
            }

    # -- lifecycle

    def start_webserver(self) -> int:
        """Start the web server when the config enables it; the bound port (0: none)."""
        w = self.cfg.section("webserver")
        if not w["enabled"]:
            return 0
        settings = ServerSettings(
            host=w["listen_address"],
            port=w["listen_port"],
            audit_endpoint=w["k8s_audit_endpoint"],
            healthz_endpoint=w["k8s_healthz_endpoint"],
            metrics_endpoint=self.cfg.get("metrics.endpoint"),
            token=w["token"],
            max_body_bytes=w["max_body_bytes"],
            max_connections=w["max_connections"],
            idle_timeout=w["idle_timeout"],
            ssl_certificate=w["ssl_certificate"] if w["ssl_enabled"] else "",
        )
        registry = make_registry(self.snapshot) if self.cfg.get("metrics.enabled") else None
        self.web = WebServer(settings, self.submit_audit, registry)
        port = self.web.start()
        scheme = "https" if settings.ssl_certificate else "http"
        _log(
            f"webserver listening on {scheme}://{settings.host}:{port} "
            f"({settings.audit_endpoint}, {settings.healthz_endpoint}"
            f"{', ' + settings.metrics_endpoint if registry else ''})",
            "info",
        )
        return port

    def reload(self) -> bool:
        """Read the configuration (when started with one to read) and the rules again; swap
        in what they give in one step (service/reload.py says what is reloaded). On failure
        everything keeps running as it was, and the log says why."""
        try:
            cfg = self._load_config() if self._load_config is not None else self.cfg
            ruleset = self._load_rules()
            outputs, retired = plan_outputs(self.outputs, self.cfg, cfg)
            fresh = [d for d in outputs.deliveries if d not in self.outputs.deliveries]
            try:
                # Built here, beside the running pair: the reader never waits on a reload.
                self.pipeline.use_ruleset(ruleset)
            except BaseException:
                for d in fresh:
                    d.close(0)
                raise
        except Exception as err:  # a reload must never end the control thread
            self.reloads["failed"] += 1
            why = err if isinstance(err, SentryError) else f"internal error: {err!r}"
            _log(
                f"reload failed, keeping the {len(self.ruleset)} rules loaded before"
                f"{' and the configuration' if self._load_config else ''}: {why}"
            )
            return False
        for d in fresh:
            d.on_closed = self.outputs_gone.set
        old, self.cfg = self.cfg, cfg
        with self._emit:
            self.outputs = outputs
            self.retired.add(retired)
            self._as_json = self._json_flag or cfg.get("json_output")
            self._include_output = cfg.get("json_include_output_property")
            self._json_options = json_options(cfg)
        with self._lock:
            self.ruleset = ruleset
        self.reloads["ok"] += 1
        if cfg is not old:
            apply_log_settings(cfg)
            self._say_reloaded(old, cfg, [d.channel.name for d in fresh])
        _log(f"rules reloaded: {len(ruleset)} rules", "info")
        self.retired.drain()  # queued alerts of replaced outputs: delivered or counted
        if self.retune is not None:
            try:
                self.retune(ruleset)
            except Exception as err:
                _log(
                    f"the capture still delivers the event types of the old rules: {err}", "warning"
                )
        return True

    @staticmethod
    def _say_reloaded(old: Config, new: Config, rebuilt: list[str]) -> None:
        keys = changed_keys(old, new)
        _log(
            f"configuration reloaded: {len(keys)} keys changed"
            + (f", outputs rebuilt: {', '.join(rebuilt)}" if rebuilt else ""),
            "info",
        )
        waiting = restart_only(keys)
        if waiting:
            _log(
                f"configuration keys changed that only a restart applies: {', '.join(waiting)}",
                "warning",
            )

    def _control_loop(self) -> None:
        rest_until = 0.0
        while not self._stopped.is_set():
            if time.monotonic() >= rest_until and self._reload.wait(0.5):
                self._reload.clear()
                if not self._stopped.is_set():
                    start = time.monotonic()
                    try:
                        self.reload()
                    except Exception as err:  # said, and the next SIGHUP still reloads
                        _log(f"reload: internal error: {err!r}")
                    # Reloads back to back (a SIGHUP storm) would take half the reader's
                    # interpreter time: rest twice as long as this one took before the next
                    # (the SIGHUPs meanwhile make one reload, after the rest: none is lost).
                    rest_until = time.monotonic() + min(
                        RELOAD_REST_MAX_S, RELOAD_REST * (time.monotonic() - start)
                    )
            elif time.monotonic() < rest_until:
                self._stopped.wait(min(0.5, rest_until - time.monotonic()))
            if self.outputs_gone.is_set() and not self._stopped.is_set():
                # stdout's reader left (| head): end as on SIGTERM, quietly.
                signal.raise_signal(signal.SIGTERM)
                return

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload.set()
        elif signum == signal.SIGUSR1:
            self.outputs.reopen()
            if self.pipeline.rule_stats is not None:  # --rule-stats: the ten most expensive
                print(self.pipeline.rule_stats.table(), file=sys.stderr, flush=True)
        elif not self._stopped.is_set():
            self._stopped.set()
            raise Stop(signal.Signals(signum).name)

    def _install_signals(self) -> None:
        for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGTERM, signal.SIGINT):
            self._saved_handlers[sig] = signal.signal(sig, self._on_signal)

    def _timed(self, source: EventSource) -> Iterator[list[Event]]:
        """The source's batches, adding the time spent on each to the evaluation time."""
        for batch in source.batches():
            start = time.perf_counter_ns()
            yield batch
            spent = time.perf_counter_ns() - start
            with self._counts:
                self.eval_ns += spent

    def run(self, source: EventSource | None = None, inspector: Inspector | None = None) -> int:
        """Serve until SIGTERM/SIGINT (or the source ends); drain outputs; exit status."""
        self.source = source
        self._install_signals()
        self._control = threading.Thread(target=self._control_loop, name="control", daemon=True)
        self._control.start()
        code = 0
        monitor = None
        try:
            self.start_webserver()
            if source is None:
                if self.web is None:
                    raise SentryError(
                        "nothing to do: no event source and the webserver "
                        "is disabled (set webserver.enabled)"
                    )
                # Short waits: a signal delivered to another thread only trips a flag,
                # which the main thread acts on when it next runs Python code.
                while not self._stopped.wait(0.25):
                    pass
            else:
                monitor = self._drop_monitor(source)
                timed = _TimedSource(source, self._timed)
                self.pipeline.run(timed, inspector, monitor.check if monitor is not None else None)
        except Stop as why:
            _log(f"{why}: stopping, draining outputs", "info")
        except DropExit:
            code = 1
        finally:
            self._stopped.set()
            code = max(code, self._shutdown(source, monitor))
        return code

    def _drop_monitor(self, source: EventSource) -> DropMonitor:
        d = self.cfg.section("syscall_event_drops")
        return DropMonitor(
            actions=d["actions"],
            threshold=d["threshold"],
            rate=d["rate"],
            max_burst=d["max_burst"],
            simulate=d["simulate_drops"],
            stats=source.stats,
            alert=self._drop_alert,
        )

    def _shutdown(self, source: EventSource | None, monitor: DropMonitor | None) -> int:
        # Ignore further stop signals while draining; a second ^C must not cut it short.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        if self.web is not None:
            self.web.stop()
        with self._lock:
            pass  # a webhook evaluation in progress has queued its alerts; later ones get 503
        if source is not None:
            _log(source.stats().summary(), "info")  # suppressed is not dropped, but shown
            source.close()
        if self.containers is not None:
            self.containers.close()  # held alerts go out before the outputs drain
        self.outputs.close()
        if monitor is not None:
            print(monitor.summary(), file=sys.stderr, flush=True)  # all threads are done
        if self.inspector is not None and self.inspector.threads.drops_full:
            _log(
                f"{self.inspector.threads.drops_full} threads not tracked: the thread table "
                "was full (falco_libs.thread_table_size)"
            )
        lost = sum(s.undelivered for s in self._output_stats().values())
        if lost or self.outputs.throttled:
            _log(f"{lost} alert deliveries failed, {self.outputs.throttled} alerts throttled")
        for signum, handler in self._saved_handlers.items():
            signal.signal(signum, handler)
        return 0


def serve(
    cfg: Config,
    load_rules: Callable[[], Ruleset],
    open_live: Callable[[], tuple[LiveSource, Inspector]],
    *,
    sources: frozenset[str],
    json_output: bool = False,
    all_events: bool = False,
    requiet: Callable[[LiveSource, Ruleset], None] | None = None,
    load_config: Callable[[], Config] | None = None,
    rule_stats: bool = False,
    rule_paths: list[Path] | None = None,
    explain: bool = False,
) -> int:
    """``sentry run`` without ``-e``: live syscalls unless disabled, plus the web server.

    After a SIGHUP reload the live driver's interest set follows the new rules
    (``push_down``), and ``requiet(source, ruleset)`` hands it their quiet opens.
    """
    daemon = Daemon(
        cfg, load_rules, json_output=json_output, all_events=all_events, load_config=load_config
    )
    live, inspector = open_live() if "syscall" in sources else (None, None)
    source: EventSource | None = live
    if live is not None:
        _log(f"capturing live with the {live.description}", "info")
    if source is not None and inspector is not None and cfg.get("capture.enabled"):
        from sentry.service.alertcapture import from_config  # a .scap around each alert

        alert_capture = from_config(cfg, rule_paths or [], inspector)
        assert alert_capture is not None
        source = alert_capture.tee(source)
        deliver = daemon._on_alert

        def on_alert(alert: Alert) -> None:
            alert_capture.on_alert(alert)
            deliver(alert)

        daemon._on_alert = daemon.pipeline.sink = on_alert  # type: ignore[method-assign]
    daemon.inspector = inspector
    if inspector is not None:
        # Container metadata in the background; alerts of containers being looked up wait.
        daemon.containers = ContainerMetadata(cfg, inspector.containers, daemon._on_alert)
        daemon.pipeline.hold = daemon.containers.hold
        inspector.announce_containers()
    if live is not None and inspector is not None:
        # An alert capture keeps every event of the interest set, not only the types the
        # rules and the state read (a .scap for sysdig holds the enters too).
        whole = source is not live

        def demand(insp: Inspector) -> Demand:
            wanted = daemon.pipeline.demand(insp)
            return dataclasses.replace(wanted, event_types=None) if whole else wanted

        push_down(live, demand(inspector))

        def retune(ruleset: Ruleset) -> None:  # after a reload: what the new rules need
            push_down(live, demand(inspector))
            if requiet is not None:
                requiet(live, ruleset)

        daemon.retune = retune
    if explain:  # each alert's clauses (rules as loaded now; reloaded rules: none)
        from sentry.rules.explain import alert_explainer
        from sentry.rules.loader import load_rules as load_definitions

        daemon.pipeline.explainer = alert_explainer(load_definitions(rule_paths or []))
    if rule_stats:  # before the first event; the table on SIGUSR1 and at exit
        from sentry.rules.rulestats import attach

        cost = attach(daemon.pipeline, on_signal=False)
    code = daemon.run(source, inspector)
    if rule_stats:
        print(cost.table(), file=sys.stderr)
    return code
