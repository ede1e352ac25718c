"""Malformed captures: a CaptureError naming the place, never any other exception."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.errors import CaptureError
from sentry.fields.argtext import args_text


def read_everything(path: Path) -> int:
    """Walk every block and decode and render every parameter, as a consumer would."""
    count = 0
    reader = ScapReader(path)
    for evt in reader:
        for i in range(evt.nparams):
            evt.param(i)
        args_text(evt)
        count += 1
    return count


@pytest.fixture(scope="module")
def trace_bytes(falco_dir: Path) -> dict[str, bytes]:
    traces = falco_dir / "test" / "trace_files"
    # one old (V1 events, PL V6) and one new (V2 events, PL V9, FDL V2) capture
    return {
        name: gzip.decompress((traces / f"{name}.scap").read_bytes())
        for name in ("cat_write", "ping_sendto")
    }


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot read capture"):
        ScapReader(tmp_path / "nope.scap")


def test_empty_and_foreign_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.scap"
    empty.write_bytes(b"")
    with pytest.raises(CaptureError, match="offset 0"):
        ScapReader(empty)
    text = tmp_path / "text.scap"
    text.write_bytes(b"hello world, this is not a capture at all\n" * 3)
    with pytest.raises(CaptureError, match="offset 0"):
        ScapReader(text)


def test_corrupt_gzip(tmp_path: Path, trace_bytes: dict[str, bytes]) -> None:
    packed = gzip.compress(trace_bytes["cat_write"])
    path = tmp_path / "bad.scap"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(CaptureError, match="gzip"):
        read_everything(path)


def test_truncated_event_block_names_its_offset(tmp_path: Path, walker: str) -> None:
    path = tmp_path / "t.scap"
    with ScapWriter(path) as w:
        w.write_event("open<", 3, "/etc/passwd", 1, 0, 0, ts=10, tid=1)
        w.write_event("close>", 3, ts=11, tid=1)
    data = path.read_bytes()
    last_block = data.rfind((11).to_bytes(8, "little")) - 10
    path.write_bytes(data[:-6])
    with pytest.raises(CaptureError) as err:
        read_everything(path)
    assert err.value.offset == last_block
    assert str(path) in str(err.value)


def test_param_lengths_past_the_event(tmp_path: Path) -> None:
    path = tmp_path / "p.scap"
    with ScapWriter(path) as w:
        record = w.write_event("open<", 3, "/etc/passwd", 1, 0, 0, ts=10, tid=1)
    data = bytearray(path.read_bytes())
    at = data.find(record) + 26  # first param length
    data[at : at + 2] = (60000).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    evt = next(iter(ScapReader(path)))  # the header alone is fine: decoding is lazy
    with pytest.raises(CaptureError, match="overrun"):
        evt.param(0)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_truncated_captures_raise_only_capture_errors(
    tmp_path: Path, walker: str, trace_bytes: dict[str, bytes], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(trace_bytes)))
    raw = trace_bytes[name]
    cut = data.draw(st.integers(0, len(raw) - 1))
    path = tmp_path / "cut.scap"
    path.write_bytes(raw[:cut])
    try:
        read_everything(path)
    except CaptureError as err:
        assert err.offset is not None
        assert err.offset <= cut


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_corrupted_captures_raise_only_capture_errors(
    tmp_path: Path, walker: str, trace_bytes: dict[str, bytes], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(trace_bytes)))
    raw = bytearray(trace_bytes[name])
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    path = tmp_path / "bad.scap"
    path.write_bytes(bytes(raw))
    try:
        read_everything(path)
    except CaptureError as err:
        assert err.offset is not None


def _cut_capture(tmp_path: Path, n: int, cut: int = 6) -> Path:
    path = tmp_path / "cut.scap"
    with ScapWriter(path) as w:
        for i in range(n):
            w.write_event("open<", 3, f"/etc/f{i}", 1, 0, 0, ts=10 + i, tid=1)
    path.write_bytes(path.read_bytes()[:-cut])
    return path


@pytest.mark.parametrize("packed", [False, True])
def test_a_cut_capture_yields_every_whole_event_then_says_where(
    tmp_path: Path, walker: str, packed: bool
) -> None:
    path = _cut_capture(tmp_path, 5)
    if packed:  # a gzip whose stream is cut short too
        data = gzip.compress(path.read_bytes())
        path.write_bytes(data[:-8])  # its size and CRC trailer gone
    seen: list[str] = []
    with pytest.raises(CaptureError, match="truncated") as err:
        for evt in ScapReader(path):
            seen.append(str(evt.param(1)))
    assert seen == [f"/etc/f{i}" for i in range(4)]  # the 5th is the one cut
    assert err.value.offset is not None


def test_sentry_run_on_a_cut_capture_alerts_then_fails(tmp_path: Path) -> None:
    import subprocess

    path = _cut_capture(tmp_path, 3)
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "- rule: opened\n  desc: d\n  condition: evt.type = open\n"
        "  output: 'opened %fd.name'\n  priority: WARNING\n"
    )
    proc = subprocess.run(
        ["sentry", "run", "-r", str(rules), "-e", str(path), "-A"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert proc.stdout.count("opened /etc/f") == 2, proc.stdout
    assert "truncated" in proc.stderr and "offset" in proc.stderr
    assert "Traceback" not in proc.stderr
