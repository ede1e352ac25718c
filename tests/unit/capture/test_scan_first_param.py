"""The C block walker hands over parameter 0 of integer-first events: it must decode it
exactly as Event.param(0) does from the bytes (any length, sign, empty or overrunning)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from needs import missing
from sentry.capture import scapreader, scapwriter
from sentry.capture._cffi.scapscan import load
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.errors import CaptureError
from sentry.events.event import first_param_kinds
from sentry.events.table import EVENTS

INT_FIRST = sorted(code for code, kind in enumerate(first_param_kinds(len(EVENTS))) if kind & 3)


def _read_first(path: Path, scanner: object) -> list[object]:
    saved = scapreader._SCANNER[:]
    scapreader._SCANNER[:] = [scanner]
    try:
        out: list[object] = []
        for evt in ScapReader(path):
            try:
                out.append(evt.param(0))
            except CaptureError as err:
                out.append(("error", str(err)))
        return out
    finally:
        scapreader._SCANNER[:] = saved


def test_int_first_types_cover_fds_and_results() -> None:
    names = {EVENTS[c].name + EVENTS[c].direction for c in INT_FIRST}
    assert {"close>", "close<", "read>", "open<"} <= names
    assert "open>" not in names  # its parameter 0 is a path


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_c_first_param_matches_python(tmp_path: Path, data: st.DataObject) -> None:
    scanner = load()
    if scanner is None:
        missing("no C compiler for the block walker")
    path = tmp_path / "a.scap"
    with ScapWriter(path) as w:
        for _ in range(data.draw(st.integers(1, 8))):
            code = data.draw(st.sampled_from(INT_FIRST))
            raw = data.draw(
                st.sampled_from(
                    [
                        b"",
                        b"\xff",
                        b"\x80\x00",
                        b"\xff\xff\xff\xff",
                        b"\xff" * 8,
                        b"\x00" * 7 + b"\x80",
                        b"\x01\x02\x03",
                    ]
                )
                | st.binary(max_size=9)
            )
            record = bytearray(scapwriter.encode_event(code, [raw], ts=1, tid=2))
            if data.draw(st.booleans()):  # the first length overruns the event
                record[26] = 0xF0
            w.write_record(bytes(record), 0)
    assert _read_first(path, scanner) == _read_first(path, None)
