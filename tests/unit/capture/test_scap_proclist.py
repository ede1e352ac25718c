"""Process-list blocks of every version (V1-V9) read the same as sysdig reads them."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hand_blocks import block

from sentry.capture.scapmeta import (
    MI,
    PL_V1,
    PL_V2,
    PL_V3,
    PL_V4,
    PL_V5,
    PL_V6,
    PL_V7,
    PL_V8,
    PL_V9,
    SHB,
)
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import encode_event
from sentry.events.table import EventType as T
from sysdig_ref import sysdig_lines

VERSIONS = {
    1: PL_V1,
    2: PL_V2,
    3: PL_V3,
    4: PL_V4,
    5: PL_V5,
    6: PL_V6,
    7: PL_V7,
    8: PL_V8,
    9: PL_V9,
}
SEP = "\x1f"
TID = 321


def lstr(raw: bytes) -> bytes:
    return struct.pack("<H", len(raw)) + raw


def entry(version: int) -> bytes:
    """One process entry laid out as scap wrote it in that block version."""
    out = struct.pack("<QQQ", TID, TID, 1)
    if version >= 6:
        out += struct.pack("<q", 300)  # sid
    if version >= 8:
        out += struct.pack("<q", 310)  # vpgid
    out += lstr(b"worker") + lstr(b"/opt/worker")
    if version >= 7:
        out += lstr(b"/opt/bin/worker")
    out += lstr(b"--fast\0-v\0") + lstr(b"/srv/")
    out += struct.pack("<QIII", 1024, 0, 1001, 1002)
    if version >= 2:
        out += struct.pack("<IIIQQ", 100, 50, 0, 7, 8)
    if version >= 3:
        out += lstr(b"LANG=C\0HOME=/srv\0")
    if version >= 4:
        out += struct.pack("<qq", 11, 12) + lstr(b"cpu=/x\0")
    if version >= 5:
        out += lstr(b"/")
    if version >= 9:
        out += struct.pack("<I", 4242)  # loginuid
        out = struct.pack("<I", len(out) + 4) + out
    return out


def capture(path: Path, version: int) -> None:
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    mi = struct.pack("<IQQ128sQQQQ", 1, 1 << 30, 1 << 15, b"old", 0, 0, 0, 0)
    record = encode_event(T.SYSCALL_CLOSE_E, (-1,), ts=5_000_000_000, tid=TID)
    path.write_bytes(
        block(SHB, shb)
        + block(MI, mi)
        + block(VERSIONS[version], entry(version))
        + block(0x216, b"\0\0" + record)
    )


@pytest.mark.sysdig
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_process_list_versions(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"pl{version}.scap"
    capture(path, version)
    thread = ScapReader(path).threads[TID]
    fields = [
        "%proc.name",
        "%proc.exe",
        "%proc.cmdline",
        "%proc.cwd",
        "%user.uid",
        "%proc.vpid",
        "%thread.vtid",
        "%proc.sid",
        "%proc.vpgid",
        "%proc.exepath",
        "%user.loginuid",
        "%proc.env",
    ]
    (line,) = sysdig_lines(path, "*" + SEP.join(fields))
    name, exe, cmdline, cwd, uid, vpid, vtid, sid, vpgid, exepath, loginuid, env = line.split(SEP)
    assert (name, exe, cmdline, cwd, uid) == (
        thread.comm,
        thread.exe,
        " ".join([thread.comm, *thread.args]),
        thread.cwd,
        str(thread.uid),
    )
    assert (thread.comm, thread.args, thread.gid) == ("worker", ["--fast", "-v"], 1002)
    if version >= 3:
        assert env == " ".join(thread.env) and thread.env == ["LANG=C", "HOME=/srv"]
    if version >= 4:
        assert (int(vpid), int(vtid)) == (thread.vpid, thread.vtid) == (12, 11)
    if version >= 6:
        assert int(sid) == thread.sid == 300
    if version >= 7:
        assert exepath == thread.exepath == "/opt/bin/worker"
    if version >= 8:
        assert int(vpgid) == thread.vpgid == 310
    if version >= 9:
        assert int(loginuid) == thread.loginuid == 4242
