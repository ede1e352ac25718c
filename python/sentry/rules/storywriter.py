"""Write a :class:`~sentry.rules.story.Story` as a scap capture.

Each syscall becomes the event pair the drivers write for it on x86_64 (its dedicated pair,
or the generic pair naming the syscall), encoded by the project's scap writer from the event
table; the story's processes and users become the capture's process and user lists. The
result is read like any capture: ``sentry run -e``, ``sentry tail -e``, sysdig ``-r``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentry.capture.scapmeta import GroupEntry, MachineInfo, ThreadEntry, UserEntry
from sentry.capture.scapwriter import ScapWriter, encode_event
from sentry.events.event import AF_INET, AF_INET6, AF_UNIX, SockAddr, SockTuple
from sentry.events.syscalls import LIBS_LATER_EVENTS, PPM_SC_BY_NAME, X86_64_BY_NAME
from sentry.events.table import EVENTS, EventInfo, ParamType
from sentry.rules.story import GROUPS, USERS, Call, Story

START_TS = 1_700_000_000_000_000_000  # ns since epoch of the first event
STEP_NS = 1_000
_TEXT = frozenset({ParamType.CHARBUF, ParamType.FSPATH, ParamType.FSRELPATH})


def _family(ip: str) -> int:
    return AF_INET6 if ":" in ip else AF_INET


def _structured(value: Any) -> Any:
    """The story's ("inet", ip, port) / ("unix", path) tuples as the event layer's types."""
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple) or not value or value[0] not in ("inet", "unix"):
        return value
    if value[0] == "unix":
        if len(value) == 2:
            return SockAddr(AF_UNIX, path=value[1])
        _, source, dest, path = value
        return SockTuple(AF_UNIX, path=path, source=source, dest=dest)
    if len(value) == 3:
        return SockAddr(_family(value[1]), value[1], value[2])
    _, sip, sport, dip, dport = value
    return SockTuple(_family(sip), sip, sport, dip, dport)


def event_for(call: Call, sysdig029: bool = False) -> tuple[EventInfo, list[Any]]:
    """The event the drivers write for ``call``, and its parameter values in table order;
    with ``sysdig029``, the generation sysdig 0.29 reads (the generic pair for the
    syscalls whose libs-later events it skips: capset, memfd_create, init_module ...).

    Raises ValueError for a syscall x86_64 does not have or a parameter its event lacks.
    """
    sc = X86_64_BY_NAME.get(call.syscall)
    if sc is None:
        raise ValueError(f"no x86_64 syscall named {call.syscall!r}")
    if sc.enter_event == 0 or (sysdig029 and sc.name in LIBS_LATER_EVENTS):
        # no dedicated event: the generic pair names the syscall
        code = PPM_SC_BY_NAME.get(call.syscall, 0)
        if call.direction == ">":
            return EVENTS[0], [code, sc.nr]
        return EVENTS[1], [code]
    info = EVENTS[sc.enter_event if call.direction == ">" else sc.enter_event + 1]
    given = dict(call.params)
    unknown = set(given) - {p.name for p in info.params}
    if unknown:
        known = ", ".join(p.name for p in info.params) or "none"
        raise ValueError(
            f"{info.ident} has no parameter(s) {', '.join(sorted(unknown))} "
            f"(its parameters: {known})"
        )
    values = []
    for p in info.params:
        if p.name in given:
            values.append(_structured(given[p.name]))
        elif p.type in _TEXT:
            values.append("")
        elif p.type is ParamType.BYTEBUF:
            values.append(b"")
        else:
            values.append(0)
    return info, values


def write_story(story: Story, path: Path, *, sysdig029: bool = False) -> Path:
    """Write ``story`` as a scap capture (machine, users, process list, events) at ``path``
    (with ``sysdig029``, in the event generation sysdig 0.29 reads: see :func:`event_for`)."""
    threads = [
        ThreadEntry(
            tid=p.tid,
            pid=p.tid,
            ptid=p.ptid,
            comm=p.comm,
            exe=p.exe,
            exepath=p.exe if p.exe.startswith("/") else f"/usr/bin/{p.exe}",
            args=list(p.args),
            cwd=p.cwd,
            fdlimit=1024,
            uid=p.uid,
            gid=p.gid,
            vtid=p.tid,
            vpid=p.tid,
            cgroups=list(p.cgroups),
            sid=p.tid,
            vpgid=p.tid,
            loginuid=p.loginuid,
            tty=p.tty,
        )
        for p in story.procs
    ]
    users = [UserEntry(uid, uid, name, f"/home/{name}", "/bin/bash") for uid, name in USERS.items()]
    groups = [GroupEntry(gid, name) for gid, name in GROUPS.items()]
    with ScapWriter(
        path,
        machine=MachineInfo(num_cpus=1, hostname="story"),
        threads=threads,
        users=users,
        groups=groups,
    ) as writer:
        for i, call in enumerate(story.calls):
            info, values = event_for(call, sysdig029)
            ts = START_TS + (i + 1) * STEP_NS
            writer.write_record(encode_event(info.code, values, ts=ts, tid=call.tid))
    return path
