"""``sentry tail [FILTER] [-e CAPTURE] [-p FORMAT] [--json] [-c CONFIG] [-o KEY=VAL]``: print
the events a filter selects.

Like ``sysdig -r CAPTURE FILTER``: one line per matching event in sysdig's default format
(or ``-p``, whose ``%field`` tokens skip an event lacking a field unless the format starts
with ``*``), or one JSON object per line. Every event still updates the state; events the
filter's types exclude are not decoded for matching. Internal events (``procinfo``,
``container`` ...) are hidden, as sysdig hides them.

``engine.enter_events`` (the configuration ``sentry run`` reads, ``-c``/``-o``) applies as
in ``run``: ``skip`` neither matches nor prints syscall enter events, as Falco >= 0.42
(whose drivers send none); the enters are still read, so an exit's ``evt.arg.X`` reads its
enter's X. ``evaluate`` shows both directions, as sysdig shows them.
``auto`` follows the rules' required engine version where there are rules (``--explain``:
skip for >= 0.52.0); a plain filter has none and is evaluated on both, as sysdig does.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import orjson
import typer

from sentry.errors import SentryError

if TYPE_CHECKING:
    from sentry.capture.scapreader import ScapReader
    from sentry.capture.source import EventSource, LiveSource
    from sentry.inspect.inspector import Inspector

DEFAULT_FORMAT = (
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info"
)
# Metadata events sysdig parses but does not show (besides the INTERNAL category).
HIDDEN_EVENTS = frozenset({"container"})
_JSON_FIELDS = (
    "evt.num",
    "evt.outputtime",
    "evt.cpu",
    "proc.name",
    "thread.tid",
    "evt.dir",
    "evt.type",
    "evt.info",
)

# Times sysdig's JSON gives as ns since the epoch rather than as text.
_NS_TIME_FIELDS = frozenset({"evt.outputtime"})
_COLOURS = {">": "\x1b[36m", "<": "\x1b[33m"}
_RESET = "\x1b[0m"


# Young-generation size for the cyclic GC while events stream: every event is a tracked
# object that dies young, and the default (700) runs a collection every few hundred events
# (a quarter of a replay's time went there).
STREAM_GC_THRESHOLD = 50_000


@contextlib.contextmanager
def relaxed_gc() -> Iterator[None]:
    """Collect cycles rarely for the duration (events die by reference counting)."""
    saved = gc.get_threshold()
    gc.set_threshold(max(saved[0], STREAM_GC_THRESHOLD), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def open_capture(path: str, tracker: str = "python") -> tuple[ScapReader, Inspector]:
    """(reader, inspector) for a .scap file; ``tracker``: config ``state_tracker`` (``c``:
    fds in C, for a reader that only matches and prints; ``python``: the reference, whose
    fd tables a capture's writer copies)."""
    from pathlib import Path

    from sentry.capture.scapreader import ScapReader
    from sentry.inspect.cstate_inspector import capture_inspector

    if not Path(path).is_file():
        raise SentryError(f"{path}: no such capture file")
    reader = ScapReader(path)
    return reader, capture_inspector(reader, tracker=tracker)


def open_live(
    event_names: set[str] | None = None, driver: str | None = None
) -> tuple[LiveSource, Inspector]:
    """(live source, inspector) from ``driver`` (None: ``$SENTRY_DRIVER``, else the first
    that works: the kernel module, then eBPF), or a clear DriverError.

    ``event_names``: the events wanted (None: all); the driver is asked for those syscalls
    and for every syscall that changes state.
    """
    from sentry.capture import drivers
    from sentry.events.syscalls import syscall_numbers_for_event_names
    from sentry.events.table import EVENTS
    from sentry.inspect.inspector import Inspector
    from sentry.service.config import load_config
    from sentry.service.containers import ContainerMetadata

    inspector = Inspector.from_host(scan=False)
    # Container fields (-p %container.name ...) from the runtimes, in the background; the
    # resolver threads end with the process.
    ContainerMetadata(load_config(None, []), inspector.containers)
    interest = None
    if event_names is not None:
        names = set(event_names) | {EVENTS[c].name for c in inspector.handled_types()}
        interest = syscall_numbers_for_event_names(names)
    source = drivers.open_live(driver, interest=interest)
    inspector.scan_processes()  # after the driver started: no process falls in between
    inspector.announce_containers()
    return source, inspector


def compile_tail_filter(filter_text: str | None) -> Any:
    """The compiled filter, or None for "every event"; raises our filter errors."""
    from sentry.rules.compiler import compile_filter

    return compile_filter(filter_text) if filter_text and filter_text.strip() else None


def wanted_types(flt: Any) -> set[int] | None:
    """Event type numbers the filter can match (None: any), internal ones excluded."""
    from sentry.events.table import EVENTS

    if flt is None or flt.evttypes is None:
        return None
    wanted = {code for code, info in EVENTS.items() if info.name in flt.evttypes}
    named = {info.name for info in EVENTS.values()}
    if not flt.evttypes <= named:
        # Syscalls without their own event arrive as generic "syscall" events.
        wanted |= {code for code, info in EVENTS.items() if info.name == "syscall"}
    return wanted - hidden_types()


def hidden_types() -> set[int]:
    from sentry.events.table import EVENTS, EventCategory

    return {
        code
        for code, info in EVENTS.items()
        if info.category is EventCategory.INTERNAL or info.name in HIDDEN_EVENTS
    }


def enter_events_skipped(mode: str) -> bool:
    """Whether ``engine.enter_events`` hides enter events from a filter without rules
    (``auto``: no rules to ask an engine version, so both directions, as sysdig)."""
    return mode == "skip"


def selected_events(
    source: EventSource, inspector: Inspector, flt: Any, skip_enter: bool = False
) -> Iterator[Any]:
    """Every event the filter matches, in order, after the inspector has seen it.

    ``skip_enter``: syscall enter events are read (state, the exit's enter parameters) but
    neither matched nor yielded (``engine.enter_events: skip``).
    """
    from sentry.events.table import EVENTS
    from sentry.pipeline import Demand, push_down
    from sentry.rules.typeindex import syscall_enter_numbers

    wanted = wanted_types(flt)
    hidden = hidden_types()
    enters = syscall_enter_numbers() if skip_enter else frozenset()
    if wanted is not None:
        # Skip the rest before decoding; state-changing events are still read, and so is
        # the enter of a wanted exit when enters are skipped (its exit reads its parameters).
        kept_enters = {n - 1 for n in wanted if n - 1 in enters}
        push_down(source, Demand.of_types(wanted | kept_enters | inspector.handled_types()))
    process = inspector.process
    match = flt.match if flt is not None else None
    shown = (wanted if wanted is not None else set(EVENTS) - hidden) - enters
    for batch in source.batches():
        for ev in batch:
            process(ev)
            # Events a capture flags state-only (sysdig's fatfile mode) update state, unseen.
            if ev.type not in shown or ev.state_only:
                continue
            if match is None or match(ev):
                yield ev


def _json_line(ev: Any, fields: list[Any], strict: bool) -> str | None:
    """sysdig's ``-j`` object: keys sorted, times as ns; None when ``strict`` and a field is
    missing (as the text output skips such events)."""
    from sentry.outputs.format import json_value

    obj = {}
    for f in fields:
        if f.name in _NS_TIME_FIELDS:
            obj[f.name] = ev.ts
            continue
        value = f.extract(ev)
        if value is None and strict:
            return None
        obj[f.name] = json_value(value, f.type)
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def tail(
    filter_text: str | None,
    capture: str | None,
    fmt: str | None,
    as_json: bool,
    out: TextIO,
    driver: str | None = None,
    skip_enter: bool = False,
    tracker: str = "c",
) -> int:
    """Print matching events to ``out``; returns how many were printed (``skip_enter``:
    see :func:`selected_events`; ``tracker``: config ``state_tracker``, for a capture)."""
    from sentry.fields.registry import resolve
    from sentry.outputs.format import OutputFormat

    flt = compile_tail_filter(filter_text)
    formatter = OutputFormat(fmt if fmt else DEFAULT_FORMAT)
    json_fields = [resolve(name) for name in _JSON_FIELDS] if as_json and not fmt else None
    colour = out.isatty() and not as_json and fmt is None
    live = not capture
    source: EventSource
    if capture:
        source, inspector = open_capture(capture, tracker)
    else:
        source, inspector = open_live(set(flt.evttypes) if flt and flt.evttypes else None, driver)
    from sentry.fields.argtext import set_buffer_text_limit

    set_buffer_text_limit(None if as_json else 80)
    printed = 0
    try:
        with relaxed_gc():
            for ev in selected_events(source, inspector, flt, skip_enter):
                if as_json:
                    if json_fields is not None:
                        json_line = _json_line(ev, json_fields, False)
                    else:
                        json_line = _json_line(ev, list(formatter.fields), not formatter.all_events)
                    if json_line is None:
                        continue
                    line = json_line
                else:
                    text = formatter.render_strict(ev)
                    if text is None:
                        continue
                    if colour:
                        text = f"{_COLOURS.get(ev.info.direction, '')}{text}{_RESET}"
                    line = text
                out.write(line + "\n")
                printed += 1
                if live:
                    out.flush()  # a pipe is block-buffered: live lines go out as they come
    finally:
        if live:  # drops and suppressed events (not drops) are shown, never silent
            print(f"sentry: {source.stats().summary()}", file=sys.stderr)
        source.close()
    return printed


def tail_command(
    filter_text: Annotated[
        str | None,
        typer.Argument(
            metavar="[FILTER]", help="Filter expression (the rules' condition language)."
        ),
    ] = None,
    capture: Annotated[
        str | None,
        typer.Option(
            "-e", "--capture", help="Read events from this .scap capture instead of live."
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "-p",
            "--print",
            help="Output format with %field tokens (prefix * to keep events with missing fields).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per event.")] = False,
    driver: Annotated[
        str | None,
        typer.Option(
            "--driver", help="Live capture driver: auto, kmod or ebpf (default $SENTRY_DRIVER)."
        ),
    ] = None,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="RULE",
            help="Print RULE's near misses (events of its types "
            "that failed one clause) and matches, instead of FILTER's events.",
        ),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option(
            "-r", "--rules", help="With --explain: the rules files (default: sentry run's)."
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "-o",
            help=(
                "Override a config key: KEY=VALUE (repeatable); tail reads "
                "engine.enter_events and state_tracker."
            ),
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("-c", "--config", help="Config file (as sentry run's).")
    ] = None,
) -> None:
    """Stream events that match FILTER, live or from a capture (like sysdig)."""
    from sentry.service.config import load_config

    try:
        cfg = load_config(config, option or [])
        for warning in cfg.warnings:
            print(f"sentry: warning: {warning}", file=sys.stderr)
        enter_mode = cfg.get("engine.enter_events")
        if capture and driver:
            raise SentryError("--driver chooses the live capture; -e reads a file instead")
        if explain is not None:  # cli/explain.py
            from sentry.cli.explain import near_misses

            if filter_text:
                raise SentryError("--explain RULE takes no FILTER")
            near_misses(explain, rules, capture, driver, sys.stdout, as_json, enter_mode)
            return
        tail(
            filter_text,
            capture,
            fmt,
            as_json,
            sys.stdout,
            driver,
            enter_events_skipped(enter_mode),
            cfg.get("state_tracker"),
        )
        sys.stdout.flush()
    except SentryError as err:
        print(f"sentry: {err}", file=sys.stderr)
        raise typer.Exit(1) from None
    except BrokenPipeError:
        # The reader (``| head``) has what it wanted: stop quietly, as sysdig does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


TAIL_HELP = (
    "Stream events that match FILTER, live or from a capture (like sysdig).\n\n"
    "Syscall enter events follow the configuration's engine.enter_events (-c, or -o "
    "engine.enter_events=...), as sentry run does. skip: enter events are neither matched "
    "nor printed, as in Falco >= 0.42 whose drivers send none; each exit still reads its "
    "enter's parameters (evt.arg.*). evaluate: both directions, as sysdig shows them. auto "
    "(the default): both for a FILTER, which has no rules to ask; with --explain, skip for "
    "rules requiring engine version >= 0.52.0, as sentry run does."
)


def register(app: typer.Typer) -> None:
    app.command("tail", help=TAIL_HELP)(tail_command)
