"""The C state tracker (inspect/cstate.c) against the Python inspector, its reference.

Both are fed the same events; after every event the calling thread, the event's fd and the
thread's whole fd table must agree, and every 500 events (and at the end) the whole thread
table. Here over every Falco 0.28.1 trace file; tests/ebpf/test_cstate_live.py does it live.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import FALCO_DIR
from tests.cstate_compare import _tracker, compare

from sentry.capture.scapfile import ScapReader
from sentry.inspect.inspector import Inspector

TRACES = sorted((FALCO_DIR / "test" / "trace_files").glob("*.scap"))


@pytest.mark.parametrize("trace", TRACES, ids=[t.stem for t in TRACES])
def test_falco_trace(trace: Path) -> None:
    n, problems = compare(trace)
    assert n > 0
    assert not problems, "\n".join(problems)


def test_tracker_knows_what_it_was_fed() -> None:
    """A check that cannot pass vacuously: after a trace the C tables are not empty and
    count every event."""
    trace = next(t for t in TRACES if t.stem == "open-multiple-files")
    reader = ScapReader(trace)
    cs = _tracker()
    cs.load(Inspector.from_capture(reader))
    n = 0
    for ev in reader:
        cs.feed_event(ev)
        n += 1
    counts = cs.counts()
    assert counts["events"] == n and counts["malformed"] == 0
    assert counts["threads"] > 0
    assert any(f["name"].startswith("/") for t in cs.threads() for f in cs.fds(t["tid"]).values())
