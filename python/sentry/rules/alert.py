"""An alert: one rule matching one event, with the fields Falco puts in its JSON.

``{"hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"}``,
in that order: today's Falco builds the object as a sorted JSON map, so keys come in name
order (``output_fields`` too) and ``tags`` (a set) sorted; ``message`` (the rule's output
alone) comes between ``hostname`` and ``output`` when asked for. ``time`` is UTC ISO 8601
with nanoseconds and ``Z``; ``output`` is the whole text line (time, priority label,
rendered rule output) exactly as the text output prints it, so falcosidekick and similar
consumers read our alerts unchanged. (Falco 0.28.1 wrote output, priority, rule, time,
output_fields; consumers read the keys by name.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from sentry.rules.definitions import Priority

if TYPE_CHECKING:
    from sentry.service.config import Config


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
    explain: Any = None  # an explain.Node (sentry run --explain): "explain" in the JSON

    @property
    def output(self) -> str:
        """The full text line: ``HH:MM:SS.nnnnnnnnn: Warning message``."""
        when = local_time(self.time_ns, self.time_iso8601)
        return f"{when}: {self.priority.label} {self.message}"

    def to_dict(
        self,
        include_output: bool = True,
        *,
        include_tags: bool = True,
        include_message: bool = False,
        include_output_fields: bool = True,
    ) -> dict[str, Any]:
        """Falco's JSON alert (``json_include_*_property`` choose the optional keys)."""
        d: dict[str, Any] = {}
        if self.explain is not None:  # keys in name order, as the rest
            from sentry.rules.explain import to_json

            d["explain"] = to_json(self.explain)
        d["hostname"] = self.hostname
        if include_message:
            d["message"] = self.message
        if include_output:
            d["output"] = self.output
        if include_output_fields:
            d["output_fields"] = dict(sorted(self.output_fields.items()))
        d["priority"] = self.priority.label
        d["rule"] = self.rule
        d["source"] = self.source
        if include_tags:
            d["tags"] = sorted(set(self.tags))
        d["time"] = iso_utc(self.time_ns)
        return d

    def to_json(self, include_output: bool = True, **options: bool) -> str:
        return orjson.dumps(self.to_dict(include_output, **options), default=str).decode()


def json_options(cfg: Config) -> dict[str, bool]:
    """The ``json_include_*_property`` settings of a configuration, as ``to_json`` takes."""
    return {
        "include_tags": cfg.get("json_include_tags_property"),
        "include_message": cfg.get("json_include_message_property"),
        "include_output_fields": cfg.get("json_include_output_fields_property"),
    }
