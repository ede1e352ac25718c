"""An alert: one rule matching one event, with the fields Falco puts in its JSON.

``{"time", "rule", "priority", "source", "output", "output_fields", "hostname", "tags"}``:
``time`` is UTC ISO 8601 with nanoseconds and ``Z``; ``output`` is the whole text line
(time, priority label, rendered rule output) exactly as the text output prints it, so
falcosidekick and similar consumers read our alerts unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from sentry.rules.loader import Priority


def iso_utc(ns: int) -> str:
    """``2016-08-04T16:17:57.881781397Z``"""
    secs, frac = divmod(int(ns), 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def local_time(ns: int, iso8601: bool = False) -> str:
    """Event time as Falco's text output prints it (local time zone, honours TZ)."""
    secs, frac = divmod(int(ns), 1_000_000_000)
    tm = time.localtime(secs)
    if iso8601:
        return time.strftime("%Y-%m-%dT%H:%M:%S", tm) + f".{frac:09d}" + time.strftime("%z", tm)
    return time.strftime("%H:%M:%S", tm) + f".{frac:09d}"


@dataclass(slots=True)
class Alert:
    time_ns: int
    rule: str
    priority: Priority
    message: str  # the rule's rendered output, without time and priority
    source: str = "syscall"
    output_fields: dict[str, Any] = field(default_factory=dict)
    hostname: str = ""
    tags: list[str] = field(default_factory=list)
    time_iso8601: bool = False  # text time style (Falco's time_format_iso_8601)

    @property
    def output(self) -> str:
        """The full text line: ``HH:MM:SS.nnnnnnnnn: Warning message``."""
        when = local_time(self.time_ns, self.time_iso8601)
        return f"{when}: {self.priority.label} {self.message}"

    def to_dict(self, include_output: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if include_output:
            d["output"] = self.output
        d["priority"] = self.priority.label
        d["rule"] = self.rule
        d["time"] = iso_utc(self.time_ns)
        d["output_fields"] = self.output_fields
        d["source"] = self.source
        d["hostname"] = self.hostname
        d["tags"] = list(self.tags)
        return d

    def to_json(self, include_output: bool = True) -> str:
        return orjson.dumps(self.to_dict(include_output), default=str).decode()
