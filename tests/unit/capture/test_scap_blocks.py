"""Every event block variant (V1 without nparams, with flags, large) reads like sysdig."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hand_blocks import block

from sentry.capture.scapmeta import EV, EV_V2, EV_V2_LARGE, EVF, EVF_V2
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter, encode_event
from sentry.events.table import EventType as T
from sentry.fields.argtext import args_text
from sysdig_ref import sysdig_lines

SEP = "\x1f"
EVENTS = [
    (T.SYSCALL_OPEN_X, (-2, "/etc/passwd", 1, 0, 0)),
    (T.SYSCALL_CLOSE_E, (3,)),
    (
        T.SYSCALL_EXECVE_19_X,
        (
            0,
            "/bin/ls",
            ["ls", "-l"],
            9,
            9,
            1,
            "/",
            1024,
            0,
            0,
            1,
            2,
            3,
            "ls",
            ["cpu=/"],
            ["A=1"],
            0,
            9,
            1000,
            0,
        ),
    ),
    (T.SOCKET_CONNECT_X, (-111,)),
    (T.SYSCALL_GETCWD_E, ()),
]


def rewrite(src: Path, dst: Path, kind: int) -> None:
    """Copy src with every event block re-encoded as block type ``kind``."""
    data = src.read_bytes()
    out = bytearray()
    off = 0
    while off < len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if btype != EV_V2:
            out += data[off : off + blen]
        else:
            cpu = data[off + 8 : off + 10]
            elen = struct.unpack_from("<I", data, off + 26)[0]
            record = data[off + 10 : off + 10 + elen]
            if kind in (EV, EVF):  # V1 header: no nparams, length 4 bytes shorter
                record = record[:16] + struct.pack("<I", elen - 4) + record[20:22] + record[26:]
            flags = struct.pack("<I", 0x2) if kind in (EVF, EVF_V2) else b""
            out += block(kind, cpu + flags + record)
        off += blen
    dst.write_bytes(bytes(out))


@pytest.mark.sysdig
@pytest.mark.parametrize("kind", [EV, EVF, EVF_V2, EV_V2_LARGE])
def test_block_variants_read_like_sysdig(tmp_path: Path, kind: int, walker: str) -> None:
    plain = tmp_path / "plain.scap"
    with ScapWriter(plain) as w:
        for i, (etype, values) in enumerate(EVENTS):
            w.write_event(etype, *values, ts=1000 + i, tid=77, cpu=i)
    variant = tmp_path / f"variant-{kind:x}.scap"
    rewrite(plain, variant, kind)

    ours = list(ScapReader(variant))
    reference = list(ScapReader(plain))
    assert [(e.num, e.type, e.ts, e.tid, e.cpu, e.nparams) for e in ours] == [
        (e.num, e.type, e.ts, e.tid, e.cpu, e.nparams) for e in reference
    ]
    assert [e.params() for e in ours] == [e.params() for e in reference]
    fmt = SEP.join(["%evt.num", "%evt.cpu", "%evt.type", "%evt.args"])
    theirs = sysdig_lines(variant, fmt)
    assert theirs == sysdig_lines(plain, fmt)
    assert [line.split(SEP)[3].rstrip(" ") for line in theirs] == [
        args_text(e).rstrip(" ") for e in ours
    ]


@pytest.mark.sysdig
def test_state_only_events_are_numbered_but_marked(tmp_path: Path, walker: str) -> None:
    # sysdig numbers events flagged state-only (fatfile captures) but never shows them
    path = tmp_path / "fat.scap"
    with ScapWriter(path) as w:
        for i in range(4):
            w.write_record(
                encode_event(T.SYSCALL_CLOSE_E, (-1 - i,), ts=10 + i, tid=5), state_only=i in (1, 2)
            )
    ours = [(e.num, e.state_only) for e in ScapReader(path)]
    assert ours == [(1, False), (2, True), (3, True), (4, False)]
    shown = [int(line) for line in sysdig_lines(path, "%evt.num")]
    assert shown == [num for num, state_only in ours if not state_only]


@pytest.mark.sysdig
def test_written_record_of_a_large_payload_event_gets_a_large_block(tmp_path: Path) -> None:
    # The block type follows the record's event type (header bytes 20-22): a container
    # event's 4-byte parameter lengths need EV_V2_LARGE, or every reader misparses it.
    path = tmp_path / "large.scap"
    info = '{"container":{"id":"a0dd4d5e1c2b","name":"web","image":"busybox"}}'
    with ScapWriter(path) as w:
        w.write_record(encode_event(T.CONTAINER_JSON_2_E, (info,), ts=10, tid=5))
        w.write_record(encode_event(T.SYSCALL_CLOSE_E, (3,), ts=11, tid=5))
    assert [(e.type, e.params()) for e in ScapReader(path)] == [
        (T.CONTAINER_JSON_2_E, [("json", info)]),
        (T.SYSCALL_CLOSE_E, [("fd", 3)]),
    ]
    data = path.read_bytes()
    kinds, off = [], 0
    while off < len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        kinds.append(btype)
        off += blen
    assert kinds[-2:] == [EV_V2_LARGE, EV_V2]
    assert sysdig_lines(path, "%evt.num %evt.type") == ["2 close"]
