"""``proc.*`` fields: the process the event's thread belongs to, and its ancestors.

Values follow sysdig: ``proc.name`` is the comm, ``proc.cmdline`` comm plus arguments,
``proc.aname[N]``/``proc.apid[N]`` the N-th ancestor (0: the process itself); without an
index they hold every ancestor (so ``proc.aname=bash`` matches any of them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sentry.events.event import Event
from sentry.fields.registry import (
    AnyOf,
    ArgKind,
    Extractor,
    FieldType,
    register,
    register_simple,
)
from sentry.inspect.threads import ThreadInfo

# scap's execve flags (PPM_EXE_*) beyond EXE_WRITABLE.
EXE_UPPER_LAYER = 1 << 1
EXE_FROM_MEMFD = 1 << 2


def _on_thread(get: Callable[[ThreadInfo], Any]) -> Extractor:
    def extract(ev: Event) -> Any:
        th = ev.thread
        return None if th is None else get(th)

    return extract


def _on_main(get: Callable[[ThreadInfo], Any]) -> Extractor:
    def extract(ev: Event) -> Any:
        th = ev.thread
        return None if th is None else get(th.main_thread())

    return extract


def _on_parent(get: Callable[[ThreadInfo], Any]) -> Extractor:
    def extract(ev: Event) -> Any:
        th = ev.thread
        if th is None:
            return None
        parent = th.parent()
        return None if parent is None else get(parent)

    return extract


def _not_minus_one(value: int) -> int | None:
    return None if value == -1 else value


def _duration(ev: Event) -> int | None:
    th = ev.thread
    if th is None:
        return None
    start = th.clone_ts
    return ev.ts - start if start else None


def _leader(th: ThreadInfo, attr: str) -> ThreadInfo:
    """The session (``sid``) or process group (``vpgid``) leader, as libs finds it: on the
    host the process with that pid, else the farthest ancestor with the same id."""
    ident = getattr(th, attr)
    table = th.table
    if th.vpid in (-1, th.pid) and table is not None:  # not in a child pid namespace
        found = table.get(ident)
        if found is not None:
            return found
    leader = th
    for node in th.ancestors():
        if getattr(node, attr) != ident:
            break
        leader = node
    return leader


def _loginshellid(th: ThreadInfo) -> int | None:
    # The pid of the oldest shell (a comm ending in "sh") in the ancestry, self included.
    found = None
    for node in (th, *th.ancestors()):
        if node.comm.endswith("sh"):
            found = node.pid
    return found


def _nthreads(th: ThreadInfo) -> int:
    table = th.table
    if table is None:
        return 1
    return sum(1 for t in table.threads.values() if t.pid == th.pid)


def _nchilds(th: ThreadInfo) -> int:
    table = th.table
    if table is None:
        return 0
    return sum(1 for t in table.threads.values() if t.ptid == th.tid and t.tid == t.pid)


register_simple("proc.pid", FieldType.INT, "id of the process", _on_thread(lambda t: t.pid))
register_simple("proc.ppid", FieldType.INT, "id of the parent process", _on_main(lambda t: t.ptid))
register_simple(
    "proc.name", FieldType.STRING, "name (comm) of the process", _on_thread(lambda t: t.comm)
)
register_simple(
    "proc.exe",
    FieldType.STRING,
    "first command-line argument (argv[0])",
    _on_thread(lambda t: t.exe),
)
register_simple(
    "proc.exepath", FieldType.STRING, "full path of the executable", _on_thread(lambda t: t.exepath)
)
register_simple(
    "proc.args",
    FieldType.STRING,
    "arguments, space separated",
    _on_thread(lambda t: " ".join(t.args)),
)
register_simple(
    "proc.cmdline", FieldType.STRING, "name and arguments", _on_thread(lambda t: t.cmdline)
)
register_simple(
    "proc.exeline",
    FieldType.STRING,
    "exe and arguments",
    _on_thread(lambda t: " ".join([t.exe, *t.args]) if t.args else t.exe + " "),
)
register_simple(
    "proc.env",
    FieldType.STRING,
    "environment, space separated",
    _on_main(lambda t: " ".join(t.env)),
)
register_simple(
    "proc.cwd", FieldType.STRING, "current working directory", _on_main(lambda t: t.cwd)
)
register_simple(
    "proc.tty", FieldType.INT, "controlling terminal (0 if none)", _on_thread(lambda t: t.tty)
)
register_simple(
    "proc.vpid",
    FieldType.INT,
    "id of the process in its pid namespace",
    _on_thread(lambda t: _not_minus_one(t.vpid)),
)
register_simple("proc.sid", FieldType.INT, "session id", _on_thread(lambda t: t.sid))
register_simple(
    "proc.vpgid", FieldType.INT, "process group id in its namespace", _on_thread(lambda t: t.vpgid)
)
register_simple(
    "proc.sname",
    FieldType.STRING,
    "name of the session leader",
    _on_thread(lambda t: _leader(t, "sid").comm),
)
register_simple(
    "proc.loginshellid",
    FieldType.INT,
    "pid of the oldest shell ancestor",
    _on_thread(_loginshellid),
)
register_simple("proc.duration", FieldType.RELTIME, "ns since the process started", _duration)
register_simple(
    "proc.is_exe_writable",
    FieldType.BOOL,
    "executable writable by its user",
    _on_thread(lambda t: t.exe_writable),
)
register_simple(
    "proc.is_exe_upper_layer",
    FieldType.BOOL,
    "executable in the upper (writable) layer of an overlayfs",
    _on_thread(lambda t: bool(t.exe_flags & EXE_UPPER_LAYER)),
)
register_simple(
    "proc.is_exe_from_memfd",
    FieldType.BOOL,
    "executable is a memfd_create() file run through its fd (exists only in memory)",
    _on_thread(lambda t: bool(t.exe_flags & EXE_FROM_MEMFD)),
)
register_simple(
    "proc.is_sid_leader",
    FieldType.BOOL,
    "session leader (proc.sid == proc.vpid)",
    _on_thread(lambda t: t.sid == t.vpid),
)
register_simple(
    "proc.is_vpgid_leader",
    FieldType.BOOL,
    "process group leader (proc.vpgid == proc.vpid): run directly, e.g. from a tty",
    _on_thread(lambda t: t.vpgid == t.vpid),
)
register_simple(
    "proc.sid.exe",
    FieldType.STRING,
    "argv[0] of the session leader",
    _on_thread(lambda t: _leader(t, "sid").exe),
)
register_simple(
    "proc.sid.exepath",
    FieldType.STRING,
    "executable path of the session leader",
    _on_thread(lambda t: _leader(t, "sid").exepath),
)
register_simple(
    "proc.vpgid.name",
    FieldType.STRING,
    "name of the process group leader",
    _on_thread(lambda t: _leader(t, "vpgid").comm),
)
register_simple(
    "proc.vpgid.exe",
    FieldType.STRING,
    "argv[0] of the process group leader",
    _on_thread(lambda t: _leader(t, "vpgid").exe),
)
register_simple(
    "proc.vpgid.exepath",
    FieldType.STRING,
    "executable path of the process group leader",
    _on_thread(lambda t: _leader(t, "vpgid").exepath),
)
register_simple(
    "proc.pvpid",
    FieldType.INT,
    "id of the parent in its pid namespace",
    _on_parent(lambda t: _not_minus_one(t.vpid)),
)
register_simple(
    "proc.exe_ino",
    FieldType.INT,
    "inode of the executable file on disk",
    _on_thread(lambda t: t.exe_ino or None),
)
register_simple(
    "proc.exe_ino.ctime",
    FieldType.ABSTIME,
    "last status change (ctime) of the executable, ns since epoch",
    _on_thread(lambda t: t.exe_ino_ctime or None),
)
register_simple(
    "proc.exe_ino.mtime",
    FieldType.ABSTIME,
    "last modification (mtime) of the executable, ns since epoch",
    _on_thread(lambda t: t.exe_ino_mtime or None),
)
register_simple(
    "proc.exe_ino.ctime_duration_proc_start",
    FieldType.ABSTIME,
    "ns from the executable's ctime to the process's start (clone)",
    _on_thread(lambda t: t.exe_ino_ctime_duration_clone_ts or None),
)
register_simple(
    "proc.exe_ino.ctime_duration_pidns_start",
    FieldType.ABSTIME,
    "ns from the pid namespace's start to the executable's ctime, if later",
    _on_thread(lambda t: t.exe_ino_ctime_duration_pidns_start or None),
)
register_simple(
    "proc.pidns_init_start_ts",
    FieldType.INT,
    "start of the pid namespace's init, ns since epoch",
    _on_thread(lambda t: t.pidns_init_start_ts or None),
)
register_simple("proc.nthreads", FieldType.INT, "threads the process has", _on_main(_nthreads))
register_simple(
    "proc.nchilds", FieldType.INT, "child processes the thread has", _on_thread(_nchilds)
)
register_simple(
    "proc.fdlimit", FieldType.INT, "maximum number of open fds", _on_thread(lambda t: t.fdlimit)
)
register_simple("proc.pname", FieldType.STRING, "name of the parent", _on_parent(lambda t: t.comm))
register_simple("proc.pexe", FieldType.STRING, "argv[0] of the parent", _on_parent(lambda t: t.exe))
register_simple(
    "proc.pexepath",
    FieldType.STRING,
    "executable path of the parent",
    _on_parent(lambda t: t.exepath),
)
register_simple(
    "proc.pcmdline",
    FieldType.STRING,
    "name and arguments of the parent",
    _on_parent(lambda t: t.cmdline),
)


def _ancestor_field(get: Callable[[ThreadInfo], Any]) -> Callable[[str | None], Extractor]:
    def make(arg: str | None) -> Extractor:
        if arg is None:

            def every(ev: Event) -> Any:
                th = ev.thread
                if th is None:
                    return None
                return AnyOf(get(a) for a in th.ancestors())

            return every
        depth = int(arg)

        def nth(ev: Event) -> Any:
            th = ev.thread
            if th is None or depth < 0:
                return None
            if depth == 0:
                return get(th)
            for i, node in enumerate(th.ancestors(), 1):
                if i == depth:
                    return get(node)
            return None

        return nth

    return make


register(
    "proc.aname", FieldType.STRING, "name of the N-th ancestor (any without [N])", arg=ArgKind.INDEX
)(_ancestor_field(lambda t: t.comm))
register(
    "proc.apid", FieldType.INT, "pid of the N-th ancestor (any without [N])", arg=ArgKind.INDEX
)(_ancestor_field(lambda t: t.pid))
register(
    "proc.aexe",
    FieldType.STRING,
    "argv[0] of the N-th ancestor (any without [N])",
    arg=ArgKind.INDEX,
)(_ancestor_field(lambda t: t.exe))
register(
    "proc.aexepath",
    FieldType.STRING,
    "executable path of the N-th ancestor (any without [N])",
    arg=ArgKind.INDEX,
)(_ancestor_field(lambda t: t.exepath))
register(
    "proc.acmdline",
    FieldType.STRING,
    "name and arguments of the N-th ancestor (any without [N])",
    arg=ArgKind.INDEX,
)(_ancestor_field(lambda t: t.cmdline))
