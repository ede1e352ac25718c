"""``sentry --list [SOURCE]`` and ``sentry --list-events``: the fields and events, described.

As Falco's ``--list`` / ``--list-events``: fields come from the field registry (so a field
a family module registers is listed without more work), grouped by class (the part of the
name before the first dot), each with its type and description; events from scap's event
table, as ``> name(TYPE param, ...)`` lines, in three groups (system call events, tracepoint
events, metaevents). ``--format text|markdown|json`` (Falco's ``--markdown`` is kept as
``--format markdown``); ``-N`` prints field names only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from sentry.errors import SentryError


class ListFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


SOURCES = ("syscall", "k8s_audit")

# What each field class is for (the families' own words, in one line).
CLASS_DESCRIPTIONS = {
    "evt": "Event fields: type, direction, time, arguments, result of the system call.",
    "proc": "The process that caused the event, its executable, arguments and ancestors.",
    "thread": "The thread that caused the event: ids, capabilities, CPU time.",
    "user": "The user of the process that caused the event.",
    "group": "The group of the process that caused the event.",
    "fd": "The file descriptor the event works on: files, sockets, pipes.",
    "fs": "File system paths the event names.",
    "container": "The container the process runs in (from the container runtimes).",
    "k8s": "The Kubernetes pod and namespace of the container.",
    "ka": "Kubernetes audit events (the k8s_audit source).",
    "jevt": "Generic access to the JSON of a Kubernetes audit event.",
}

# Events of these names come from kernel tracepoints, not system calls (Falco's
# EC_TRACEPOINT); internal-category events are metaevents.
TRACEPOINT_EVENTS = frozenset(
    {"switch", "procexit", "signaldeliver", "page_fault", "sched_process_exit"}
)


@dataclass(frozen=True, slots=True)
class FieldRow:
    name: str
    type: str
    desc: str
    arg: str  # "none", "index" or "key"
    source: str


def field_rows(source: str | None = None) -> list[FieldRow]:
    """Every registered field (of ``source`` only, when given), in name order."""
    from sentry.fields.registry import all_fields

    if source is not None and source not in SOURCES:
        raise SentryError(f"--list: unknown source '{source}' (one of {', '.join(SOURCES)})")
    rows = [
        FieldRow(f.name, f.type.value.upper(), f.desc, f.arg.value, f.source)
        for f in all_fields().values()
        if source is None or f.source == source
    ]
    return sorted(rows, key=lambda r: r.name)


def _field_classes(rows: list[FieldRow]) -> dict[str, list[FieldRow]]:
    classes: dict[str, list[FieldRow]] = {}
    for row in rows:
        classes.setdefault(row.name.split(".", 1)[0], []).append(row)
    return classes


def _shown_name(row: FieldRow) -> str:
    return {"index": f"{row.name}[n]", "key": f"{row.name}[KEY]"}.get(row.arg, row.name)


def render_fields(
    rows: list[FieldRow], fmt: ListFormat = ListFormat.TEXT, names_only: bool = False
) -> str:
    """The listing in ``fmt``; ``names_only``: one field name a line (Falco's ``-N``)."""
    if names_only:
        return "\n".join(r.name for r in rows) + "\n"
    classes = _field_classes(rows)
    if fmt is ListFormat.JSON:
        doc = [
            {
                "name": cls,
                "event_sources": sorted({r.source for r in members}),
                "desc": CLASS_DESCRIPTIONS.get(cls, ""),
                "fields": [
                    {"name": r.name, "type": r.type, "desc": r.desc, "arg": r.arg} for r in members
                ],
            }
            for cls, members in classes.items()
        ]
        return json.dumps(doc, indent=2) + "\n"
    out: list[str] = []
    for cls, members in classes.items():
        sources = ", ".join(sorted({r.source for r in members}))
        if fmt is ListFormat.MARKDOWN:
            out += [
                f"## Field Class: {cls}",
                "",
                CLASS_DESCRIPTIONS.get(cls, ""),
                "",
                f"Event sources: {sources}",
                "",
                "Name | Type | Description",
                ":----|:-----|:-----------",
            ]
            out += [f"`{_shown_name(r)}` | {r.type} | {r.desc}" for r in members]
            out.append("")
        else:
            out += [
                "-" * 31,
                f"Field Class:   {cls}",
                f"Event Sources: {sources}",
                "",
                CLASS_DESCRIPTIONS.get(cls, ""),
                "",
            ]
            width = max(len(_shown_name(r)) for r in members) + 2
            out += [f"{_shown_name(r):<{width}}{r.desc}" for r in members]
            out.append("")
    return "\n".join(out)


@dataclass(frozen=True, slots=True)
class EventRow:
    kind: str  # "syscall", "tracepoint" or "metaevent"
    direction: str
    name: str
    params: tuple[tuple[str, str], ...]  # (TYPE, name)
    default: bool  # evaluated without -A (not a high-volume event Falco skips)


def event_rows() -> list[EventRow]:
    """Every current event type of scap's table (old versions and unused ones left out),
    system call events first, then tracepoint events, then metaevents."""
    from sentry.events.table import EVENTS, EventCategory, EventFlags

    rows = []
    for info in EVENTS.values():
        if info.old_version or info.unused or info.name.startswith("NA"):
            continue
        if info.category is EventCategory.INTERNAL:
            kind = "metaevent"
        elif info.name in TRACEPOINT_EVENTS:
            kind = "tracepoint"
        else:
            kind = "syscall"
        rows.append(
            EventRow(
                kind,
                info.direction,
                info.name,
                tuple((p.type.name, p.name) for p in info.params),
                not info.flags & EventFlags.DROP_SIMPLE_CONS,
            )
        )
    order = {"syscall": 0, "tracepoint": 1, "metaevent": 2}
    return sorted(rows, key=lambda r: order[r.kind])


_KIND_TITLES = {
    "syscall": "Syscall events",
    "tracepoint": "Tracepoint events",
    "metaevent": "Metaevents",
}


def render_events(rows: list[EventRow], fmt: ListFormat = ListFormat.TEXT) -> str:
    """The event listing in ``fmt``."""
    if fmt is ListFormat.JSON:
        doc: dict[str, list[dict[str, object]]] = {}
        for r in rows:
            doc.setdefault(r.kind, []).append(
                {
                    "name": r.name,
                    "dir": r.direction,
                    "default": r.default,
                    "params": [{"type": t, "name": n} for t, n in r.params],
                }
            )
        return json.dumps(doc, indent=2) + "\n"
    out: list[str] = []
    kind = ""
    for r in rows:
        sig = ", ".join(f"{t} {n}" for t, n in r.params)
        if r.kind != kind:
            kind = r.kind
            if out:
                out.append("")
            if fmt is ListFormat.MARKDOWN:
                out += [
                    f"## {_KIND_TITLES[kind]}",
                    "",
                    "Default | Dir | Event",
                    ":-------|:----|:-----",
                ]
            else:
                out.append(f"{_KIND_TITLES[kind]}:")
        if fmt is ListFormat.MARKDOWN:
            out.append(f"{'Yes' if r.default else 'No'} | `{r.direction}` | **{r.name}**({sig})")
        else:
            out.append(f"{r.direction} {r.name}({sig})")
    return "\n".join(out) + "\n"
