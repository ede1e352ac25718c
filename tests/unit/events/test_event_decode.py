"""The lazy Event: header up front, parameters decoded on demand, detach() copies out."""

from __future__ import annotations

import pytest

from sentry.capture.scapwriter import encode_event
from sentry.errors import CaptureError
from sentry.events.event import HEADER_LEN, Event, FdList, SockAddr, SockTuple
from sentry.events.table import EVENTS
from sentry.events.table import EventType as T


def make(etype: int, *values: object, ts: int = 5, tid: int = 7) -> Event:
    return Event.parse(encode_event(etype, values, ts=ts, tid=tid), 0, num=1, cpu=2)


def test_header_fields() -> None:
    evt = make(T.SYSCALL_OPENAT_2_X, 3, -100, "/etc/hosts", 4097, 0o644, 0x803, ts=99, tid=12)
    assert (evt.num, evt.cpu, evt.ts, evt.tid, evt.type, evt.nparams) == (1, 2, 99, 12, 307, 6)
    assert evt.info is EVENTS[307] and evt.info.name == "openat" and evt.info.direction == "<"


def test_values_by_type() -> None:
    evt = make(T.SYSCALL_OPENAT_2_X, -2, -100, "/etc/hosts", 4097, 0o644, 0x803)
    assert evt.param(0) == -2  # errno-carrying fd is negative
    assert evt.param_by_name("name") == "/etc/hosts"
    assert evt.param_by_name("flags") == 4097
    assert evt.param_by_name("nope") is None
    assert bytes(evt.raw(2)) == b"/etc/hosts\0"
    execve = make(T.SYSCALL_EXECVE_19_X, 0, "/bin/ls", ["ls", "-l"])
    assert execve.nparams == 3 and execve.param(2) == b"ls\0-l\0"
    conn = make(T.SOCKET_CONNECT_X, 0, SockTuple(2, "1.2.3.4", 5, "6.7.8.9", 80))
    assert conn.param(1) == SockTuple(2, "1.2.3.4", 5, "6.7.8.9", 80)
    unix = make(T.SOCKET_CONNECT_E, 3, SockAddr(1, path="/run/x.sock"))
    assert unix.param(1) == SockAddr(1, path="/run/x.sock")
    poll = make(T.SYSCALL_POLL_E, FdList(((3, 1), (-1, 4))), 10)
    assert poll.param(0) == FdList(((3, 1), (-1, 4)))
    dyn = make(T.SYSCALL_PTRACE_X, 0, (0, 0xDEAD), (1, 9))
    assert (dyn.param(1), dyn.param(2)) == (0xDEAD, 9)
    assert make(T.SYSCALL_CLOSE_X, None).param(0) is None  # empty parameter


def test_decoding_is_lazy_and_detach_copies() -> None:
    record = bytearray(encode_event(T.SYSCALL_OPEN_X, (3, "/a", 1, 0, 0), ts=1, tid=1))
    record[HEADER_LEN : HEADER_LEN + 2] = (999).to_bytes(2, "little")  # break param 0's length
    evt = Event.parse(record, 0)
    assert evt.type == T.SYSCALL_OPEN_X  # header fine, nothing else looked at yet
    with pytest.raises(CaptureError):
        evt.param(0)
    good = bytearray(encode_event(T.SYSCALL_CLOSE_E, (3,), ts=1, tid=1))
    evt = Event.parse(good, 0)
    kept = evt.detach()
    good[HEADER_LEN + 2] = 9  # the source buffer moves on
    assert evt.param(0) == 9 and kept.param(0) == 3


def test_parse_rejects_bad_headers() -> None:
    with pytest.raises(CaptureError):
        Event.parse(b"\0" * 10)
    with pytest.raises(CaptureError):
        Event.parse(encode_event(T.SYSCALL_CLOSE_E, (3,), ts=1, tid=1)[:-4])
