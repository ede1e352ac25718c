"""Turn a :class:`~default_rules.syscall_story.Story` into scap bytes, and run rules over it.

Events are encoded here from the project's event table (the same table every reader uses):
each syscall maps to its dedicated event pair on x86_64, or to the generic pair, and its
parameters are packed by their scap types. The capture file around them (process list,
users, event blocks) is written by the project's ``ScapWriter``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from default_rules.syscall_story import GROUPS, USERS, Call, Story
from sentry.events.event import AF_INET, AF_INET6, AF_UNIX, HEADER
from sentry.events.syscalls import PPM_SC_BY_NAME, X86_64_BY_NAME
from sentry.events.table import EVENTS, EventInfo, ParamInfo, ParamType

START_TS = 1_700_000_000_000_000_000  # ns since epoch of the first event
STEP_NS = 1_000

_INT_SIZES = {
    ParamType.INT8: ("b", 1), ParamType.INT16: ("h", 2), ParamType.INT32: ("i", 4),
    ParamType.INT64: ("q", 8), ParamType.ERRNO: ("q", 8), ParamType.FD: ("q", 8),
    ParamType.PID: ("q", 8), ParamType.UINT8: ("B", 1), ParamType.UINT16: ("H", 2),
    ParamType.UINT32: ("I", 4), ParamType.UINT64: ("Q", 8), ParamType.SYSCALLID: ("H", 2),
    ParamType.SIGTYPE: ("B", 1), ParamType.RELTIME: ("Q", 8), ParamType.ABSTIME: ("Q", 8),
    ParamType.PORT: ("H", 2), ParamType.L4PROTO: ("B", 1), ParamType.SOCKFAMILY: ("B", 1),
    ParamType.BOOL: ("I", 4), ParamType.FLAGS8: ("B", 1), ParamType.FLAGS16: ("H", 2),
    ParamType.FLAGS32: ("I", 4), ParamType.UID: ("I", 4), ParamType.GID: ("I", 4),
    ParamType.MODE: ("I", 4), ParamType.SIGSET: ("I", 4),
}
_TEXT = frozenset({ParamType.CHARBUF, ParamType.FSPATH, ParamType.FSRELPATH})


def _ip_bytes(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def _sockaddr(value: tuple[Any, ...]) -> bytes:
    kind = value[0]
    if kind == "unix":
        return bytes([AF_UNIX]) + value[1].encode() + b"\0"
    ip, port = value[1], value[2]
    family = AF_INET6 if ":" in ip else AF_INET
    return bytes([family]) + _ip_bytes(ip) + struct.pack("<H", port)


def _socktuple(value: tuple[Any, ...]) -> bytes:
    kind = value[0]
    if kind == "unix":
        _, source, dest, path = value
        return bytes([AF_UNIX]) + struct.pack("<QQ", source, dest) + path.encode() + b"\0"
    _, sip, sport, dip, dport = value
    family = AF_INET6 if ":" in sip else AF_INET
    return (bytes([family]) + _ip_bytes(sip) + struct.pack("<H", sport) + _ip_bytes(dip)
            + struct.pack("<H", dport))


def encode_value(param: ParamInfo, value: Any) -> bytes:
    """Pack one parameter value the way the drivers write it."""
    ptype = param.type
    if value is None:
        return b""
    if ptype in _INT_SIZES:
        code, size = _INT_SIZES[ptype]
        bits = 8 * size
        value &= (1 << bits) - 1
        if code.islower() and value >= 1 << (bits - 1):
            value -= 1 << bits  # e.g. loginuid 0xffffffff is -1 as an INT32
        return struct.pack("<" + code, value)
    if ptype in _TEXT:
        return str(value).encode("utf-8", "surrogateescape") + b"\0"
    if ptype is ParamType.BYTEBUF:
        return bytes(value)
    if ptype is ParamType.SOCKADDR:
        return _sockaddr(value)
    if ptype is ParamType.SOCKTUPLE:
        return _socktuple(value)
    if ptype is ParamType.DYN:
        index, inner = value if isinstance(value, tuple) else (0, value)
        dyn_type, fmt = param.dynamic[index]
        return bytes([index]) + encode_value(ParamInfo(param.name, dyn_type, fmt), inner)
    raise ValueError(f"cannot encode {param.name} of type {ptype.name}")


def _default(param: ParamInfo) -> Any:
    if param.type in _INT_SIZES:
        return 0
    if param.type in _TEXT:
        return ""
    if param.type is ParamType.BYTEBUF:
        return b""
    return None


def encode_event(info: EventInfo, ts: int, tid: int, values: dict[str, Any]) -> bytes:
    """One scap event record: header, parameter lengths, parameters (table order)."""
    unknown = set(values) - {p.name for p in info.params}
    if unknown:
        raise ValueError(f"{info.ident} has no parameter(s) {sorted(unknown)}")
    blobs = [encode_value(p, values.get(p.name, _default(p))) for p in info.params]
    width = "I" if info.large_payload else "H"
    lengths = struct.pack(f"<{len(blobs)}{width}", *(len(b) for b in blobs))
    body = lengths + b"".join(blobs)
    return HEADER.pack(ts, tid, HEADER.size + len(body), info.code, len(blobs)) + body


def event_for(call: Call) -> tuple[EventInfo, dict[str, Any]]:
    """The event the drivers write for ``call`` and its parameter values."""
    sc = X86_64_BY_NAME[call.syscall]
    enter = sc.enter_event
    if enter == 0:  # no dedicated event: the generic pair names the syscall
        code = PPM_SC_BY_NAME[call.syscall]
        if call.direction == ">":
            return EVENTS[0], {"ID": code, "nativeID": sc.nr}
        return EVENTS[1], {"ID": code}
    info = EVENTS[enter if call.direction == ">" else enter + 1]
    return info, dict(call.params)


def story_records(story: Story) -> Iterator[tuple[int, int, bytes]]:
    """(ts, tid, record) for every event of the story, in order."""
    for i, call in enumerate(story.calls):
        info, values = event_for(call)
        ts = START_TS + (i + 1) * STEP_NS
        yield ts, call.tid, encode_event(info, ts, call.tid, values)


def user_names() -> dict[int, str]:
    return dict(USERS)


def group_names() -> dict[int, str]:
    return dict(GROUPS)


# ------------------------------------------------------------------ capture file and engine


def write_story(story: Story, path: Path) -> Path:
    """Write ``story`` as a scap capture (process list, users, events) at ``path``."""
    raise NotImplementedError("waiting for sentry.capture.scapfile.ScapWriter")


def fired_rules(story: Story, tmp_path: Path, rules: Sequence[Path]) -> list[str]:
    """Names of the rules that alert on ``story`` (one entry per alert, in order)."""
    return [alert["rule"] for alert in run_cli_json(story, tmp_path, rules)]


def run_cli_json(story: Story, tmp_path: Path, rules: Sequence[Path]) -> list[dict[str, Any]]:
    """Run ``sentry run -r RULES... -e CAPTURE --json`` and parse its alerts."""
    capture = write_story(story, tmp_path / "story.scap")
    cmd = [sys.executable, "-m", "sentry.cli.main", "run", "--json", "-e", str(capture)]
    for r in rules:
        cmd += ["-r", str(r)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env=os.environ | {"TZ": "UTC"}, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
