"""Every Falco conformance trace reads fully and agrees with the real sysdig, event by event."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sentry.capture.scapreader import ScapReader
from sentry.events.syscalls import PPM_SC_NAMES
from sentry.events.table import ParamType
from sentry.fields.argtext import render_arg
from sysdig_ref import sysdig_lines

TRACES = [
    "cat_write",
    "connect_localhost",
    "empty",
    "open-multiple-files",
    "ping_sendto",
    "syscall",
]
SEP = "\x1f"
# Events sysdig reads and numbers but does not print: scap-internal metadata events.
NOT_PRINTED = {"procinfo", "container"}


def evt_type(evt) -> str:  # type: ignore[no-untyped-def]
    """sysdig's evt.type: a generic event shows its syscall's name."""
    return PPM_SC_NAMES[evt.param(0)] if evt.type < 2 else evt.info.name


@pytest.mark.conformance
@pytest.mark.sysdig
@pytest.mark.parametrize("name", TRACES)
def test_trace_events_agree_with_sysdig(trace_dir: Path, name: str, walker: str) -> None:
    path = trace_dir / f"{name}.scap"
    fmt = SEP.join(
        [
            "%evt.num",
            "%evt.rawtime",
            "%evt.cpu",
            "%thread.tid",
            "%evt.type",
            "%evt.dir",
            "%evt.args",
        ]
    )
    theirs = {}
    for line in sysdig_lines(path, fmt):
        num, *rest = line.split(SEP)
        theirs[int(num)] = rest

    reader = ScapReader(path)
    seen = 0
    last = 0
    for evt in reader:
        assert evt.num == last + 1
        last = evt.num
        row = theirs.get(evt.num)
        if row is None:
            assert evt.info.name in NOT_PRINTED, f"sysdig printed no event {evt.num}"
            continue
        seen += 1
        rawtime, cpu, tid, etype, direction, args = row
        assert (int(rawtime), int(cpu), int(tid)) == (evt.ts, evt.cpu, evt.tid)
        assert (etype, direction) == (evt_type(evt), evt.info.direction)
        assert_args_match(evt, args.rstrip(" "))
    assert seen == len(theirs)
    assert reader.stats().events == last


def assert_args_match(evt, theirs: str) -> None:  # type: ignore[no-untyped-def]
    """Our rendering equals sysdig's, except that state (fd names, thread names, absolute
    paths) may add a "(...)" that we, without an inspector, leave out."""
    if evt.type < 2:
        assert theirs == ""
        return
    pattern = []
    for i in range(evt.nparams):
        pinfo = evt.param_info(i)
        shown, resolved = render_arg(evt, i)
        part = re.escape(f"{pinfo.name}={shown}")
        if resolved:
            part += re.escape(f"({resolved})")
        elif pinfo.type in (ParamType.FD, ParamType.PID):
            part += r"(\([^()]*\))?"
        pattern.append(part)
    assert re.fullmatch(" ".join(pattern), theirs), (evt.num, " ".join(pattern), theirs)


@pytest.mark.conformance
@pytest.mark.parametrize("name", TRACES)
def test_trace_metadata(trace_dir: Path, name: str) -> None:
    reader = ScapReader(trace_dir / f"{name}.scap")
    assert reader.machine is not None and reader.machine.hostname == "ubuntu"
    assert reader.machine.num_cpus >= 1
    assert reader.threads and reader.fds and reader.users and reader.groups
    assert reader.interfaces[0].name == "lo" and reader.interfaces[0].addr == "127.0.0.1"
    assert any(u.name == "root" and u.uid == 0 for u in reader.users)
    for fd in reader.fds:
        assert fd.tid in reader.threads
    init = reader.threads.get(1)
    assert init is not None and init.pid == 1
    assert reader.version[0] == 1


@pytest.mark.conformance
@pytest.mark.parametrize("name", TRACES)
def test_event_type_selection_keeps_numbering(trace_dir: Path, name: str, walker: str) -> None:
    # events not asked for are skipped before any decoding, but still counted in evt.num
    path = trace_dir / f"{name}.scap"
    everything = [(e.num, e.type, e.ts) for e in ScapReader(path)]
    wanted = {t for _, t, _ in everything[::3]}
    reader = ScapReader(path, event_types=wanted)
    chosen = [(e.num, e.type, e.ts) for e in reader]
    assert chosen == [row for row in everything if row[1] in wanted]
    assert reader.stats().events == len(everything)
