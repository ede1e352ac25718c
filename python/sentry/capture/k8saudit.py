"""Kubernetes audit events as JSON: parsed from webhook bodies and from files.

The API server's webhook backend POSTs an ``EventList`` (``audit.k8s.io``); audit log files
hold one ``Event`` object per line. Both become :class:`AuditEvent` records: the decoded
JSON object plus its ``stageTimestamp`` in ns since the epoch, which the ``jevt.*`` and
``ka.*`` fields read. Data that is not an audit event raises :class:`AuditFormatError`
with the reason; a file reader stops at the first such line, says where, and counts it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

import orjson

from sentry.capture.source import CaptureStats, RecordSource
from sentry.errors import CaptureError

SOURCE = "k8s_audit"
_BATCH = 256


class AuditFormatError(CaptureError):
    """A body or line is not JSON, or not a Kubernetes audit Event/EventList."""


@dataclass(slots=True)
class AuditEvent:
    """One audit event: ``obj`` is the decoded JSON object, ``ts`` its stage timestamp (ns)."""

    num: int
    ts: int
    obj: dict[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)  # per-event memo for field extractors
    source: ClassVar[str] = SOURCE
    cpu: ClassVar[int] = -1
    tid: ClassVar[int] = -1


def parse_timestamp(text: object) -> int:
    """RFC 3339 UTC time (``2018-10-25T14:09:12.581541Z``) to ns since the epoch."""
    if not isinstance(text, str):
        raise ValueError("no stageTimestamp")
    base, frac = text, ""
    if "." in text:
        base, rest = text.split(".", 1)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        frac, tz = rest[:digits], rest[digits:]
        base += tz
    when = datetime.fromisoformat(base.replace("z", "Z"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    whole = int(when.timestamp())
    return whole * 1_000_000_000 + int((frac + "000000000")[:9] or 0)


def _one_event(obj: Any, num: int) -> AuditEvent:
    try:
        ts = parse_timestamp(obj.get("stageTimestamp"))
    except ValueError as err:
        raise AuditFormatError(f"audit event has no valid stageTimestamp ({err})") from None
    return AuditEvent(num, ts, obj)


def events_from_json(doc: Any, first_num: int = 1) -> list[AuditEvent]:
    """An ``Event``, an ``EventList`` or a JSON array of events, as :class:`AuditEvent` s."""
    items: list[Any]
    if isinstance(doc, list):
        items = doc
    elif isinstance(doc, dict) and doc.get("kind") == "EventList":
        items = doc.get("items")  # type: ignore[assignment]
        if not isinstance(items, list):
            raise AuditFormatError("EventList has no 'items' array")
    else:
        items = [doc]
    out: list[AuditEvent] = []
    for item in items:
        if not isinstance(item, dict) or item.get("kind", "Event") != "Event":
            raise AuditFormatError("Data not recognized as a k8s audit event")
        if "kind" not in item and "auditID" not in item:
            raise AuditFormatError("Data not recognized as a k8s audit event")
        out.append(_one_event(item, first_num + len(out)))
    return out


def parse_body(body: bytes, first_num: int = 1) -> list[AuditEvent]:
    """Decode a webhook body; :class:`AuditFormatError` says why it is not audit JSON."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise AuditFormatError(f"malformed JSON: {err}") from None
    return events_from_json(doc, first_num)


def _preview(line: bytes) -> str:
    text = line.decode("utf-8", "replace").strip()
    return text if len(text) <= 80 else text[:77] + "..."


class AuditFileSource(RecordSource["AuditEvent"]):
    """Replays a file of audit events (one JSON object per line): a source of
    :class:`AuditEvent` records (:class:`~sentry.capture.source.RecordSource`).

    A whole-file JSON document (an ``EventList`` or an array) is accepted too. The first
    line that is not an audit event stops the replay with a message on stderr; it is
    counted in ``stats().drops_bug`` and kept in :attr:`error`.
    """

    source = SOURCE

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.error: AuditFormatError | None = None
        self._stats = CaptureStats()
        try:
            self._file: IO[bytes] | None = open(self.path, "rb")  # noqa: SIM115
        except OSError as err:
            raise CaptureError(err.strerror or str(err), path=str(self.path)) from None

    def _whole_document(self) -> list[AuditEvent] | None:
        """The file as one JSON document (EventList or array), or None if it is not one."""
        assert self._file is not None
        self._file.seek(0)
        try:
            doc = orjson.loads(self._file.read())
        except orjson.JSONDecodeError:
            return None
        if isinstance(doc, list) or (isinstance(doc, dict) and doc.get("kind") == "EventList"):
            try:
                return events_from_json(doc)
            except AuditFormatError:
                return None
        return None

    def _lines(self) -> Iterator[AuditEvent]:
        # Read line by line: audit logs can be far larger than memory.
        num = 0
        if self._file is None:
            return
        for lineno, line in enumerate(self._file, 1):
            if not line.strip():
                continue
            try:
                evts = parse_body(line, num + 1)
            except AuditFormatError as err:
                whole = self._whole_document() if lineno == 1 else None
                if whole is not None:
                    yield from whole
                    return
                self._fail(
                    f'Could not read k8s audit event line #{lineno}, "{_preview(line)}": '
                    f"{err}, stopping"
                )
                return
            num += len(evts)
            yield from evts

    def _fail(self, message: str) -> None:
        self.error = AuditFormatError(message, path=str(self.path))
        self._stats.drops_bug += 1
        print(f"sentry: {self.error}", file=sys.stderr, flush=True)

    def batches(self) -> Iterator[list[AuditEvent]]:
        batch: list[AuditEvent] = []
        try:
            for evt in self._lines():
                self._stats.events += 1
                batch.append(evt)
                if len(batch) >= _BATCH:
                    yield batch
                    batch = []
            if batch:
                yield batch
        finally:
            self.close()  # one pass: the file is done with

    def __iter__(self) -> Iterator[AuditEvent]:
        for batch in self.batches():
            yield from batch

    def stats(self) -> CaptureStats:
        return self._stats

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def is_audit_file(path: str | Path) -> bool:
    """True when a capture path holds audit JSON rather than scap (first byte ``{``/``[``)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64).lstrip()
    except OSError:
        return False
    return head[:1] in (b"{", b"[")
