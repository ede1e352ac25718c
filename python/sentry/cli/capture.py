"""``sentry capture -w OUT [-e IN] [FILTER]``: write a capture that ``sysdig -r`` reads.

Keeps the events the filter matches, plus, flagged "state only" as sysdig's fatfile mode
does, the events that change state (clone, execve, open, close ...), so that a reader still
knows every process and fd the kept events refer to. The metadata blocks (machine, process
and fd lists, users, interfaces) are copied from the input capture, or taken from this host
for live capture.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sentry.capture.source import EventSource
from sentry.errors import SentryError

if TYPE_CHECKING:
    from sentry.inspect.inspector import Inspector


class _ContainerRecords:
    """Writes each container's metadata (sysdig's container JSON event) into the capture
    before the first written event of that container whose metadata is known, so that the
    file replays with the same container fields in sysdig and in Sentry."""

    JSON_EVENT = 272  # PPME_CONTAINER_JSON_E
    JSON_EVENT_LARGE = 324  # PPME_CONTAINER_JSON_2_E (32-bit parameter length)

    def __init__(self, writer: Any, table: Any):
        from sentry.inspect.containers import HOST_ID

        self.writer = writer
        self.table = table
        self.written = {HOST_ID}

    def before(self, ev: Any) -> None:
        th = ev.thread
        if th is None or th.container_id in self.written:
            return
        from sentry.inspect.containers import LookupState, to_scap_json

        info = self.table.get(th.container_id)
        if info is None or info.state is not LookupState.DONE:
            return  # not known yet: written before a later event of it, once it is
        text = to_scap_json(info)
        code = self.JSON_EVENT if len(text) < 60_000 else self.JSON_EVENT_LARGE
        self.writer.write_event(code, text, ts=ev.ts, tid=ev.tid, cpu=ev.cpu)
        self.written.add(info.id)


def write_capture(
    source: EventSource,
    inspector: Inspector,
    out: str,
    filter_text: str | None,
    *,
    metadata: dict[str, Iterable[Any]],
) -> tuple[int, int]:
    """Copy ``source`` to ``out``; returns (events kept, state-only events kept)."""
    from sentry.capture.scapwriter import ScapWriter
    from sentry.cli.tail import compile_tail_filter

    flt = compile_tail_filter(filter_text)
    match = flt.match if flt is not None else None
    state_types = inspector.handled_types()
    process = inspector.process
    kept = state = 0
    writer = ScapWriter(out, **metadata)  # type: ignore[arg-type]
    containers = _ContainerRecords(writer, inspector.containers)
    try:
        for batch in source.batches():
            for ev in batch:
                process(ev)
                if match is None or match(ev):
                    containers.before(ev)
                    writer.write_record(ev.record(), ev.cpu)
                    kept += 1
                elif ev.type in state_types:
                    containers.before(ev)
                    writer.write_record(ev.record(), ev.cpu, state_only=True)
                    state += 1
    finally:
        writer.close()
        source.close()
    return kept, state


def capture(out: str, capture_in: str | None, filter_text: str | None) -> tuple[int, int]:
    """Open the input (file or live driver) and write ``out``."""
    from sentry.cli.tail import compile_tail_filter, open_capture, open_live

    compile_tail_filter(filter_text)  # a bad filter fails before any source is opened
    if capture_in is not None:
        reader, inspector = open_capture(capture_in)
        metadata: dict[str, Any] = {
            "machine": reader.machine,
            "threads": list(reader.threads.values()),
            "fds": reader.fds,
            "users": reader.users,
            "groups": reader.groups,
            "interfaces": reader.interfaces,
        }
        return write_capture(reader, inspector, out, filter_text, metadata=metadata)
    from sentry.inspect.snapshot import host_threads

    source, inspector = open_live()
    return write_capture(
        source, inspector, out, filter_text, metadata={"threads": host_threads(inspector)}
    )


def capture_command(
    filter_text: Annotated[
        str | None,
        typer.Argument(metavar="[FILTER]", help="Keep only events matching this filter."),
    ] = None,
    out: Annotated[str, typer.Option("-w", "--write", help="Capture file to write.")] = "",
    capture_in: Annotated[
        str | None,
        typer.Option("-e", "--capture", help="Read this .scap capture instead of capturing live."),
    ] = None,
) -> None:
    """Write a capture sysdig can read (-r), keeping the events FILTER matches."""
    try:
        if not out:
            raise SentryError("say where to write the capture with -w FILE")
        kept, state = capture(out, capture_in, filter_text)
    except SentryError as err:
        print(f"sentry: {err}", file=sys.stderr)
        raise typer.Exit(1) from None
    print(f"wrote {kept} events (+{state} for state) to {out}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("capture")(capture_command)
