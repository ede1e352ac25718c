"""``sentry run``: load rules, replay a capture (``-e``) or watch this host, print alerts.

Flags follow Falco's: ``-r`` rules files or directories (repeatable, loaded in order), ``-D``
disable rules whose name contains a substring, ``-T`` disable rules with a tag, ``-t`` run
only rules with a tag, ``-A`` also evaluate the event types Falco skips by default, ``-p``
append a format to every rule output, ``--json`` one JSON alert per line, ``-c``/``-o`` the
configuration (see :mod:`sentry.service.config`).

Without ``-r`` the rules come from the config's ``rules_file`` when ``-c`` names a file that
sets it, else from the default rules: ``sentry_rules.yaml``, ``k8s_audit_rules.yaml`` (when
present) and ``sentry_rules.local.yaml`` (local overrides, last), taken from the first of
``$SENTRY_RULES_DIR``, the source checkout's ``rules/`` (the editable install that
``scripts/install.sh`` makes), ``/etc/sentry`` and the rules packaged in the wheel
(``sentry/data/rules``) that holds ``sentry_rules.yaml``.

All logic lives in :mod:`sentry.pipeline`; this module only wires the pieces.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sentry.capture.source import EventSource, LiveSource, RecordSource
from sentry.errors import SentryError
from sentry.inspect.threads import ThreadLimits
from sentry.pipeline import (
    EVERYTHING,
    Demand,
    Pipeline,
    PipelineOptions,
    ignored_event_names,
    live_interest,
    load_ruleset,
    needed_event_types,
    push_down,
)
from sentry.rules.alert import Alert, json_options
from sentry.rules.definitions import Priority, RuleDefinitions
from sentry.rules.ruleset import Ruleset, Selection

if TYPE_CHECKING:
    from sentry.capture.k8saudit import AuditEvent, AuditFileSource
    from sentry.inspect.inspector import Inspector
    from sentry.service.config import Config

DEFAULT_RULE_FILES = ("sentry_rules.yaml", "k8s_audit_rules.yaml", "sentry_rules.local.yaml")


def default_rules_dir() -> Path:
    """Where the default rules live (see the module docstring for the search order)."""
    candidates = []
    env = os.environ.get("SENTRY_RULES_DIR")
    if env:
        candidates.append(Path(env))
    candidates.append(Path(__file__).resolve().parents[3] / "rules")
    candidates.append(Path("/etc/sentry"))
    candidates.append(Path(__file__).resolve().parents[1] / "data" / "rules")  # a wheel's
    for c in candidates:
        if (c / DEFAULT_RULE_FILES[0]).is_file():
            return c
    raise SentryError(
        "no default rules found (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); pass -r RULES"
    )


def default_rules() -> list[Path]:
    base = default_rules_dir()
    return [base / name for name in DEFAULT_RULE_FILES if (base / name).is_file()]


def report_problems(defs: RuleDefinitions, stream: Any = None) -> None:
    """Every warning and error, one per line, on stderr."""
    stream = stream or sys.stderr
    for problem in defs.problems:
        print(problem, file=stream)


def output_compiler(extra: str = "") -> Any:
    from sentry.outputs.format import OutputFormat

    def compile_output(text: str, source: str) -> OutputFormat:
        return OutputFormat(text, extra=extra, source=source)

    return compile_output


def load_checked(paths: list[Path], selection: Selection, extra: str = "") -> Ruleset:
    """Load rules, print problems, raise when any is an error."""
    ruleset, defs = load_ruleset(paths, output_compiler=output_compiler(extra), selection=selection)
    report_problems(defs)
    if defs.errors:
        n = len(defs.errors)
        raise SentryError(
            f"rules did not load: {n} error{'s' if n > 1 else ''} (listed above); "
            "fix them, then check with `sentry rules validate FILE`"
        )
    return ruleset


def _requiet(source: LiveSource, ruleset: Ruleset, cfg: Config) -> None:
    """After a reload: the new rules' quiet opens, pushed down (rules/quiet.py)."""
    from sentry.rules.quiet import push_quiet

    push_quiet(source, ruleset, cfg)


def check_capture_path(capture: str) -> None:
    """Raise a clear error when ``-e CAPTURE`` names no file."""
    if not Path(capture).exists():
        raise SentryError(
            f"{capture}: no such file (-e takes a .scap capture or a k8s audit "
            "JSON file; without -e, sentry watches this host)"
        )


def open_live_source(
    ruleset: Ruleset, cfg: Config, driver: str | None = None
) -> tuple[LiveSource, Inspector]:
    """(source, inspector) live: the driver's interest set is what the rules or the
    inspector need, and the rules' quiet opens are pushed down (rules/quiet.py)."""
    from sentry.capture.drivers import open_live
    from sentry.inspect.inspector import Inspector
    from sentry.rules.quiet import push_quiet

    inspector = Inspector.from_host(ThreadLimits.from_config(cfg), scan=False)
    source = open_live(driver, interest=live_interest(ruleset, inspector))
    push_quiet(source, ruleset, cfg)
    inspector.scan_processes()  # after the driver started: no process falls in between
    return source, inspector


def open_capture(
    capture: str, ruleset: Ruleset, limits: ThreadLimits | None = None, tracker: str = "c"
) -> tuple[EventSource | AuditFileSource, Inspector | None]:
    """(source, inspector) for ``-e CAPTURE``: a .scap reader that skips the event types
    neither the rules nor the inspector need before decoding, or a k8s audit file.
    ``limits`` bound the thread table (:class:`~sentry.inspect.threads.ThreadLimits`);
    ``tracker``: config ``state_tracker`` (fds in C, or the Python reference)."""
    from sentry.capture.k8saudit import AuditFileSource, is_audit_file
    from sentry.inspect.cstate_inspector import capture_inspector

    check_capture_path(capture)
    if is_audit_file(capture):
        return AuditFileSource(capture), None
    from sentry.capture.scapreader import ScapReader

    reader = ScapReader(capture)
    inspector = capture_inspector(reader, limits, tracker)
    push_down(reader, Demand(event_types=needed_event_types(ruleset, inspector)))
    return reader, inspector


def run_command(
    rules: Annotated[
        list[Path] | None,
        typer.Option(
            "-r", "--rules", help="Rules file or directory (repeatable, loaded in order)."
        ),
    ] = None,
    capture: Annotated[
        str | None,
        typer.Option("-e", "--capture", help="Replay this .scap capture or k8s audit JSON file."),
    ] = None,
    disable: Annotated[
        list[str] | None,
        typer.Option("-D", help="Disable rules whose name contains this substring (repeatable)."),
    ] = None,
    disable_tag: Annotated[
        list[str] | None, typer.Option("-T", help="Disable rules with this tag (repeatable).")
    ] = None,
    only_tag: Annotated[
        list[str] | None, typer.Option("-t", help="Run only rules with this tag (repeatable).")
    ] = None,
    all_events: Annotated[
        bool,
        typer.Option(
            "-A", help="Also evaluate high-volume events Falco skips (read, mmap, futex ...)."
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON alert per line.")] = False,
    extra: Annotated[
        str, typer.Option("-p", "--print", help="Append this format to every rule output.")
    ] = "",
    option: Annotated[
        list[str] | None, typer.Option("-o", help="Override a config key: KEY=VALUE (repeatable).")
    ] = None,
    config: Annotated[Path | None, typer.Option("-c", "--config", help="Config file.")] = None,
    driver: Annotated[
        str | None,
        typer.Option(
            "--driver", help="Live capture driver: auto, kmod or ebpf (default $SENTRY_DRIVER)."
        ),
    ] = None,
    stats: Annotated[
        bool, typer.Option("--stats", help="Print event and alert counts on stderr at the end.")
    ] = False,
    rule_stats: Annotated[
        bool,
        typer.Option(
            "--rule-stats",
            help="Measure each rule (events evaluated, matches, CPU time; live: on "
            "/metrics too); print "
            "the ten most expensive on stderr at the end and on SIGUSR1.",
        ),
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="With each alert, its condition as a tree with each clause's value "
            'at the event ("explain" in the JSON).',
        ),
    ] = False,
    disable_source: Annotated[
        list[str] | None,
        typer.Option(
            "--disable-source", help="Do not read this event source: syscall or k8s_audit."
        ),
    ] = None,
    describe_all: Annotated[
        bool,
        typer.Option(
            "-L", help="Print every rule's name and description and exit (JSON with json_output)."
        ),
    ] = False,
    describe_one: Annotated[
        str | None,
        typer.Option("-l", metavar="RULE", help="Print this rule's name and description and exit."),
    ] = None,
    validate: Annotated[
        list[Path] | None,
        typer.Option(
            "-V",
            "--validate",
            help="Validate these rules files (repeatable, loaded in order) and exit.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Load the configuration and rules, read no events, exit."),
    ] = False,
    support: Annotated[
        bool,
        typer.Option(
            "--support",
            help="Print versions, kernel, configuration and rules files (with "
            "sha256) as JSON for a bug report, and exit.",
        ),
    ] = False,
) -> None:
    """Load rules and print alerts for a capture file (-e) or this host."""
    from sentry.service.config import apply_log_settings, load_config

    cfg = load_config(config, option or [])
    if validate:
        from sentry.cli.describe import validate_files

        report, valid = validate_files(list(validate), as_json=cfg.get("json_output"))
        sys.stdout.write(report)
        raise typer.Exit(0 if valid else 1)
    apply_log_settings(cfg)  # log_level, log_stderr, log_syslog: Sentry's own log lines
    for warning in cfg.warnings:
        print(f"sentry: warning: {warning}", file=sys.stderr)
    selection = Selection(
        disabled_substrings=tuple(disable or ()),
        disabled_tags=tuple(disable_tag or ()),
        enabled_tags=tuple(only_tag or ()),
        min_priority=Priority.parse(cfg.get("priority")),
        sources=frozenset({"syscall", "k8s_audit"} - set(disable_source or ())),
        toggles=tuple(cfg.get("rules")),  # the config's rules: enable/disable selection
        enter_events=cfg.get("engine.enter_events"),
    )
    selection.check()
    if rules:
        paths = list(rules)
    elif config is not None and "rules_file" in cfg.given:
        paths = cfg.rules_paths()
    else:
        paths = default_rules()
    if support:
        from sentry.cli.describe import support_info

        print(json.dumps(support_info(cfg.files, paths, ["sentry", *sys.argv[1:]])))
        return
    if describe_all or describe_one is not None:
        _describe(paths, cfg.get("json_output"), describe_one)
        return
    if capture is not None:
        check_capture_path(capture)  # before the rules, which take a while to load
    if cfg.get("log_stderr"):
        from sentry.version import version

        stamp = _log_time(cfg.get("time_format_iso_8601"))
        print(f"{stamp}: Sentry version {version()} (driver version {version()})", file=sys.stderr)
        print(
            f"{stamp}: Sentry initialized with configuration file {cfg.path}"
            if cfg.path
            else f"{stamp}: Sentry initialized with the built-in defaults (no configuration "
            "file: /etc/sentry/sentry.yaml absent)",
            file=sys.stderr,
        )
        for p in paths:
            print(f"{stamp}: Loading rules from file {p}", file=sys.stderr)
    ruleset = load_checked(paths, selection, extra)
    if dry_run:
        print(
            f"sentry: dry run: configuration and {len(ruleset.rules)} rules loaded "
            f"({len(ruleset.all_rules)} defined); no events read",
            file=sys.stderr,
        )
        return
    ignored = set() if all_events else ignored_event_names(ruleset)
    if ignored:
        print(
            f"sentry: warning: rules use event types evaluated only with -A: "
            f"{', '.join(sorted(ignored))}",
            file=sys.stderr,
        )
    if capture is None:  # a service: live events and/or the k8s audit webhook
        from sentry.service.daemon import serve

        loaded = [ruleset]  # the first load is this one; later ones are reloads (SIGHUP)
        current = [cfg]  # the configuration a reload read last (it reads it before the rules)

        def reread_config() -> Any:
            current[0] = load_config(config, option or [])
            return current[0]

        def load_rules() -> Ruleset:
            if loaded:
                return loaded.pop()
            # A reload takes the rules selection of the configuration it read: priority,
            # rules (enable/disable) and, when the rules come from it, rules_file.
            c = current[0]
            chosen = dataclasses.replace(
                selection,
                min_priority=Priority.parse(c.get("priority")),
                toggles=tuple(c.get("rules")),
            )
            chosen.check()
            files = paths
            if not rules and config is not None and "rules_file" in c.given:
                files = c.rules_paths()
            return load_checked(files, chosen, extra)

        code = serve(
            cfg,
            load_rules,
            lambda: open_live_source(ruleset, cfg, driver),
            sources=selection.sources,
            json_output=json_out,
            all_events=all_events,
            requiet=lambda src, rs: _requiet(src, rs, current[0]),
            load_config=reread_config,  # SIGHUP
            rule_stats=rule_stats,
            rule_paths=paths,
            explain=explain,
        )
        if code:
            raise typer.Exit(code)
        return
    # An alert capture copies the events around each alert as the inspector sees them:
    # with fds in C the state-only ones (close, dup ...) would never reach it.
    tracker = "python" if cfg.get("capture.enabled") else cfg.get("state_tracker")
    source, inspector = open_capture(capture, ruleset, ThreadLimits.from_config(cfg), tracker)
    from sentry.capture.k8saudit import AuditFileSource
    from sentry.service.alertcapture import from_config

    alert_capture = None
    if not isinstance(source, AuditFileSource) and inspector is not None:  # audit: no .scap
        alert_capture = from_config(cfg, paths, inspector)
        if alert_capture is not None:  # capture.enabled: a .scap around each alert
            source = alert_capture.tee(source)
    code = replay(
        ruleset,
        source,
        inspector,
        cfg,
        json_out=json_out,
        all_events=all_events,
        show_stats=stats,
        rule_stats=rule_stats,
        explain=paths if explain else None,
        alert_capture=alert_capture,
    )
    if code:
        raise typer.Exit(code)


def _describe(paths: list[Path], as_json: bool, only: str | None) -> None:
    """``-L`` / ``-l RULE``: the rules' descriptions (rules that do not load: exit 1)."""
    from sentry.cli.describe import describe_rules

    ruleset, defs = load_ruleset(paths, output_compiler=output_compiler())
    if defs.errors:
        report_problems(defs)
        raise SentryError("rules did not load; see `sentry -V FILE`")
    types = {r.name: r.evttypes for r in ruleset.all_rules}
    sys.stdout.write(describe_rules(defs, types, as_json=as_json, only=only))


def _log_time(iso8601: bool) -> str:
    """Wall-clock time for log lines, in the style alerts use (ISO 8601 or ctime)."""
    now = time.time()
    if iso8601:
        return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now))
    return time.ctime(now)


def replay(
    ruleset: Ruleset,
    source: EventSource | RecordSource[AuditEvent],
    inspector: Inspector | None,
    cfg: Config,
    *,
    json_out: bool,
    all_events: bool,
    show_stats: bool = False,
    rule_stats: bool = False,
    explain: list[Path] | None = None,
    alert_capture: Any = None,
) -> int:
    """Run the pipeline over ``source`` into the configured outputs; the exit status."""
    from sentry.outputs.channels import Message
    from sentry.service.drops import DROP_RULE, DropExit, DropMonitor, DropReport
    from sentry.service.outputsetup import build_outputs

    as_json = json_out or cfg.get("json_output")
    include_output = cfg.get("json_include_output_property")
    outputs = build_outputs(cfg)
    options = PipelineOptions(
        all_events=all_events,
        time_iso8601=cfg.get("time_format_iso_8601"),
        rule_matching=cfg.get("rule_matching"),
    )
    json_opts = json_options(cfg)
    gone = threading.Event()  # stdout's reader left (| head -1): end quietly, as tail does
    for delivery in outputs.deliveries:
        delivery.on_closed = gone.set

    def sink(alert: Alert) -> None:
        if gone.is_set():
            raise _ReaderGone
        if alert_capture is not None:
            alert_capture.on_alert(alert)
        doc = alert.to_json(include_output, **json_opts)
        text = alert.output
        if alert.explain is not None and not as_json:
            from sentry.rules.explain import render

            text += "\n" + render(alert.explain, margin="    ")
        outputs.emit(
            Message(doc if as_json else text, doc.encode(), alert.priority.name.lower(), alert.rule)
        )

    pipeline = Pipeline(ruleset, sink, options)
    if rule_stats:
        from sentry.rules.rulestats import attach

        cost = attach(pipeline)
    if explain is not None:
        from sentry.rules.explain import alert_explainer
        from sentry.rules.loader import load_rules

        pipeline.explainer = alert_explainer(load_rules(explain))

    def drop_alert(report: DropReport) -> None:
        sink(
            Alert(
                report.ts,
                DROP_RULE,
                Priority.CRITICAL,
                report.text(),
                "internal",
                report.fields(),
                options.hostname,
                [],
                options.time_iso8601,
            )
        )

    monitor = None
    if inspector is not None:
        monitor = DropMonitor(
            actions=cfg.get("syscall_event_drops.actions"),
            threshold=cfg.get("syscall_event_drops.threshold"),
            rate=cfg.get("syscall_event_drops.rate"),
            max_burst=cfg.get("syscall_event_drops.max_burst"),
            simulate=cfg.get("syscall_event_drops.simulate_drops"),
            stats=source.stats,
            alert=drop_alert,
        )
    code = 0
    try:
        # A file has no drops to notice; simulated ones are looked for on every event.
        demand = EVERYTHING if cfg.get("syscall_event_drops.simulate_drops") else None
        pipeline.run(source, inspector, monitor.check if monitor is not None else None, demand)
    except DropExit:
        code = 1
    except _ReaderGone:
        pass
    finally:
        outputs.close()
        source.close()
    if monitor is not None and (monitor.detected or monitor.simulate):
        print(monitor.summary(), file=sys.stderr)
    if outputs.throttled:
        print(
            f"sentry: {outputs.throttled} alerts dropped by the outputs rate limit", file=sys.stderr
        )
    if rule_stats:
        print(cost.table(), file=sys.stderr)
    if show_stats:
        print(pipeline.stats.summary(), file=sys.stderr)
        if inspector is not None and inspector.threads.drops_full:
            print(
                f"Threads not tracked (thread table full): {inspector.threads.drops_full}",
                file=sys.stderr,
            )
        for name, st in outputs.stats().items():
            if st.undelivered or st.retries:
                print(
                    f"Output {name}: {st.delivered} delivered, {st.failed} failed, "
                    f"{st.queue_full} dropped (queue full), {st.shutdown} left at exit, "
                    f"{st.retries} retries",
                    file=sys.stderr,
                )
    return code


class _ReaderGone(Exception):
    """Unwinds a replay whose stdout reader has gone."""


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
