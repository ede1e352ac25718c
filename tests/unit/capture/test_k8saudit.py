"""Kubernetes audit JSON in: webhook bodies and audit files, and what is not audit JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentry.capture.k8saudit import (
    AuditFileSource,
    AuditFormatError,
    is_audit_file,
    parse_body,
    parse_timestamp,
)

EVENT = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "auditID": "x",
    "verb": "get",
    "stageTimestamp": "2018-10-25T14:09:12.581541Z",
}


@pytest.mark.parametrize(
    "text,ns",
    [
        ("2018-10-25T14:09:12.581541Z", 1540476552_581541000),
        ("2018-10-25T14:09:12Z", 1540476552_000000000),
        ("2018-10-25T14:09:12.123456789Z", 1540476552_123456789),
        ("2018-10-25T16:09:12.5+02:00", 1540476552_500000000),
    ],
)
def test_timestamps_keep_every_digit(text: str, ns: int) -> None:
    assert parse_timestamp(text) == ns


def test_event_eventlist_and_array_bodies() -> None:
    assert len(parse_body(json.dumps(EVENT).encode())) == 1
    evts = parse_body(json.dumps({"kind": "EventList", "items": [EVENT, EVENT]}).encode())
    assert [e.num for e in evts] == [1, 2]
    assert evts[0].ts == 1540476552_581541000 and evts[0].source == "k8s_audit"
    assert len(parse_body(json.dumps([EVENT] * 3).encode())) == 3


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"not json", "malformed JSON"),
        (b'{"kind": 0}', "not recognized"),
        (b'{"kind": "Pod"}', "not recognized"),
        (b"[1, 2]", "not recognized"),
        (b'{"kind": "EventList"}', "no 'items'"),
        (json.dumps({**EVENT, "stageTimestamp": None}).encode(), "stageTimestamp"),
    ],
)
def test_what_is_not_audit_json_says_why(body: bytes, reason: str) -> None:
    with pytest.raises(AuditFormatError, match=reason):
        parse_body(body)


def test_conformance_audit_files_all_read(trace_dir: Path) -> None:
    total = 0
    for path in sorted((trace_dir / "k8s_audit").glob("*.json")):
        assert is_audit_file(path)
        source = AuditFileSource(path)
        events = list(source)
        if path.name == "fal_01_003.json":
            assert events == [] and source.error is not None
            assert source.stats().drops_bug == 1
            continue
        assert events and source.error is None, path
        assert all(e.obj["kind"] == "Event" and e.ts > 0 for e in events)
        total += len(events)
    assert total >= 50


def test_file_stops_at_first_bad_line_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.json"
    path.write_text(
        json.dumps(EVENT) + "\n\n" + json.dumps(EVENT) + "\n{broken\n" + json.dumps(EVENT) + "\n"
    )
    source = AuditFileSource(path)
    assert len(list(source)) == 2
    assert source.error is not None and "line #4" in str(source.error)
    assert "line #4" in capsys.readouterr().err


def test_whole_file_eventlist_document(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps({"kind": "EventList", "items": [EVENT, EVENT]}, indent=2))
    assert len(list(AuditFileSource(path))) == 2


def test_scap_is_not_audit(trace_dir: Path, tmp_path: Path) -> None:
    assert not is_audit_file(trace_dir / "cat_write.scap")
    assert not is_audit_file(tmp_path / "absent.json")
