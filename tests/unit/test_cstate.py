"""The C state tracker (inspect/cstate.c) against the Python inspector, its reference.

Both are fed the same events; after every event the calling thread, the event's fd and the
thread's whole fd table must agree, and every 500 events (and at the end) the whole thread
table. Here over every Falco 0.28.1 trace file; tests/ebpf/test_cstate_live.py does it live.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cstate_compare import _tracker, compare

from conformance_data import FALCO_DIR
from sentry.capture.scapreader import ScapReader
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


def test_bad_records_are_counted_not_trusted() -> None:
    """Records cut short, with lengths that overrun them or with bytes flipped: the tracker
    counts the malformed ones and keeps going (a crash here kills the test process)."""
    import random

    rng = random.Random(12)
    records = []
    for trace in TRACES:
        records += [bytes(ev.record()) for ev in ScapReader(trace)]
    cs = _tracker()
    cut = 0
    for rec in records:
        cs.feed(rec[: rng.randrange(0, len(rec))])
        cut += 1
        flipped = bytearray(rec)
        for _ in range(4):
            i = rng.randrange(26, len(rec)) if len(rec) > 26 else 22
            flipped[i] = rng.randrange(256)
        cs.feed(bytes(flipped))
        # parameter lengths that claim more than the record holds
        cs.feed(rec[:22] + (200).to_bytes(4, "little") + rec[26:])
    counts = cs.counts()
    assert counts["malformed"] > len(records) // 2
    assert counts["events"] + counts["unknown"] + counts["malformed"] >= cut
    # and it still tracks: a clean pass over a trace gives its threads
    reader = ScapReader(TRACES[0])
    for ev in reader:
        cs.feed_event(ev)
    assert cs.counts()["threads"] > 0


def test_strings_are_stored_once() -> None:
    """200 processes opening the same two paths keep one copy of each path (and of their
    identical comm/exe) however many fds name them; closing them all frees the strings."""
    from sentry.capture.scapwriter import encode_event
    from sentry.events.table import event_by_name

    openat_e, openat_x = event_by_name("openat", ">"), event_by_name("openat", "<")
    close_e, close_x = event_by_name("close", ">"), event_by_name("close", "<")
    cs = _tracker()
    ts = 1

    def feed(info: object, values: list[object], tid: int) -> None:
        nonlocal ts
        ts += 1
        cs.feed(encode_event(info.code, values, ts=ts, tid=tid))  # type: ignore[attr-defined]

    for tid in range(1000, 1200):
        for fd, path in ((3, "/etc/passwd"), (4, "/etc/hosts")):
            feed(openat_e, [-100, path, 1, 0], tid)
            feed(openat_x, [fd, -100, path, 1, 0, 0], tid)
    fds = [f for t in cs.threads() for f in cs.fds(t["tid"]).values()]
    assert len(fds) == 400 and {f["name"] for f in fds} == {"/etc/passwd", "/etc/hosts"}
    assert cs.counts()["strings"] <= 4  # the two paths (name and name_raw are one), <NA>s static
    for tid in range(1000, 1200):
        for fd in (3, 4):
            feed(close_e, [fd], tid)
            feed(close_x, [0], tid)
    feed(close_e, [0], 1)  # frees what the last close left for its own event
    assert not any(cs.fds(t["tid"]) for t in cs.threads())
    assert cs.counts()["strings"] == 0
