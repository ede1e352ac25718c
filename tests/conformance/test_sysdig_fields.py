"""Fields and filters against the real sysdig, on every conformance trace.

For each trace and each filter of the table, ``sentry tail -e TRACE FILTER`` must select
exactly the events ``TZ=UTC sysdig -r TRACE FILTER`` selects, and print the same values for
the filter's fields (``-p "*%evt.num ..."``). Together the filters touch every evt/proc/
thread/fd/user/group/container field Sentry implements from sysdig.

Some of sysdig's odder answers are copied because rules may depend on them (``fd.typechar``
of an fd an event is about to create, the empty name of an fd the capture never saw). Left
out of the printed fields, as formatting-only or sysdig-bug differences: ``evt.latency`` of
a ``switch`` event (sysdig repeats the thread's previous latency), ``evt.reltime`` under a
second (sysdig pads it to nine digits), ``proc.aname``/``proc.apid`` without an index (sysdig
prints the process itself; as a filter both match any ancestor, compared here), and
``evt.rawarg`` of fd/flags arguments (sysdig 0.29 aborts with "wrong event type").

Filters run after the event has updated the state, as Falco evaluates rules. sysdig's own
command-line filter runs a step earlier for ``fd.name_changed`` (which it only raises after
filtering), so that case is compared with ``sysdig -d`` (filter after parsing), the mode
that matches Falco's engine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sysdig_ref import need_sysdig, sysdig_lines, tail_lines

# sysdig runs with TZ=UTC; our times are rendered the same way.
pytestmark = [pytest.mark.conformance, pytest.mark.sysdig, pytest.mark.usefixtures("utc")]

TRACES = [
    "cat_write",
    "connect_localhost",
    "empty",
    "open-multiple-files",
    "ping_sendto",
    "syscall",
]

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]

# (filter, fields printed for it). Fields listed here are compared value for value.
CASES: list[tuple[str, list[str]]] = [
    ("evt.num > 140 and evt.num < 150", ["evt.num", "evt.type", "evt.dir"]),
    ("evt.type = open", ["evt.args", "evt.info"]),
    ("evt.type in (open, close) and evt.dir = <", ["evt.res", "evt.rawres", "evt.failed"]),
    ("evt.dir = >", ["evt.type", "evt.cpu"]),
    ("evt.cpu = 1", ["evt.time", "evt.datetime"]),
    ("evt.res = SUCCESS", ["evt.rawres", "evt.latency"]),
    ("evt.rawres < 0", ["evt.res", "evt.arg.res"]),
    ("evt.failed = true", ["evt.type", "evt.args"]),
    ("evt.is_open_read = true", ["evt.is_open_write", "evt.is_open_exec", "fd.name"]),
    ("evt.type = open and evt.is_open_write = false", ["evt.is_open_read"]),
    ("evt.is_open_exec = true", ["evt.num"]),
    ("evt.latency > 2000 and evt.dir = <", ["evt.latency", "evt.type"]),
    ("evt.arg.name contains /tmp", ["evt.arg.name", "evt.rawarg.name", "evt.arg.flags"]),
    ("evt.arg[0] = AF_INET", ["evt.arg[0]", "evt.arg[1]"]),
    ("evt.rawarg.res = 0", ["evt.rawarg.res", "evt.arg[0]"]),
    ("evt.args contains ld.so", ["evt.args"]),
    ("evt.info contains res=0", ["evt.info"]),
    ("evt.buffer contains '!'", ["evt.buffer"]),
    ("evt.time contains 16:17:57.8818", ["evt.time", "evt.rawtime"]),
    ("evt.datetime startswith 2017-02-04", ["evt.datetime"]),
    ("evt.rawtime > 1486171335287000000", ["evt.rawtime", "evt.rawtime.s", "evt.rawtime.ns"]),
    ("evt.rawtime.s = 1486171335 and evt.rawtime.ns < 287000000", ["evt.rawtime.ns"]),
    ("evt.reltime > 11287000000", ["evt.reltime"]),
    ("proc.name = cat", ["proc.pid", "proc.ppid", "proc.exe", "proc.exepath"]),
    ("proc.pid = 20072", ["proc.cmdline", "proc.args", "proc.tty"]),
    ("proc.ppid = 11310", ["proc.pname", "proc.pcmdline"]),
    ("proc.exe = cat", ["proc.name"]),
    ("proc.cmdline contains /dev/null", ["proc.cmdline"]),
    ("proc.args = /dev/null", ["proc.args"]),
    ("proc.pname = bash", ["proc.aname[1]", "proc.aname[2]", "proc.aname[3]"]),
    ("proc.pcmdline startswith bash", ["proc.apid[1]", "proc.apid[2]"]),
    ("proc.aname[2] = emacs", ["proc.aname[2]", "proc.apid[2]"]),
    ("proc.apid[1] = 11310", ["proc.apid[1]"]),
    ("proc.aname = bash", ["proc.pname"]),  # no index: any ancestor
    ("proc.aname in (emacs, zsh) and not proc.apid = 20072", ["proc.apid[3]"]),
    ("fd.ip = 127.0.0.1 and fd.port = 80", ["fd.name"]),
    ("proc.tty = 0 and evt.type = brk", ["proc.tty", "proc.sid"]),
    ("proc.vpid exists", ["proc.vpid"]),
    ("proc.sid = -1 and evt.dir = <", ["proc.sid", "proc.loginshellid"]),
    ("proc.loginshellid = 1020", ["proc.loginshellid"]),
    ("proc.cwd startswith /mnt", ["proc.cwd"]),
    ("proc.env contains SHELL=/bin/bash", ["proc.env"]),
    ("proc.duration > 0", ["proc.duration"]),
    ("proc.exepath exists and evt.type = execve", ["proc.exepath"]),
    ("thread.tid = 16569", ["thread.tid", "thread.ismain"]),
    ("thread.vtid exists", ["thread.vtid"]),
    ("thread.ismain = true and evt.type = socket", ["thread.ismain", "thread.tid"]),
    ("fd.num = 3", ["fd.num"]),
    ("evt.type in (fstat, read, sendmsg)", ["fd.num", "fd.typechar", "fd.name", "fd.directory"]),
    ("evt.type in (open, socket) and evt.dir = >", ["fd.typechar", "fd.num"]),
    ("fd.type = file", ["fd.type", "fd.typechar", "fd.name"]),
    ("fd.typechar = 4 and evt.dir = <", ["fd.typechar"]),
    ("fd.name startswith /tmp/file", ["fd.name", "fd.directory", "fd.filename"]),
    ("fd.directory = /etc", ["fd.directory"]),
    ("fd.filename = libc.so.6", ["fd.filename", "fd.num"]),
    ("fd.sip = 127.0.0.1", ["fd.sip", "fd.cip", "fd.sport", "fd.cport"]),
    ("fd.cip = 127.0.0.1", ["fd.lip", "fd.rip", "fd.lport", "fd.rport"]),
    ("fd.sport = 80", ["fd.l4proto"]),
    ("fd.cport > 40000", ["fd.cport"]),
    ("fd.lip = 127.0.0.1 and fd.rport = 80", ["fd.lport"]),
    ("fd.rip = 127.0.0.1 or fd.lport = 47192", ["fd.rip"]),
    ("fd.l4proto = tcp", ["fd.l4proto"]),
    ("fd.net = 127.0.0.0/8", ["fd.name"]),
    ("fd.snet = 127.0.0.0/8 and fd.cnet = 127.0.0.0/8", ["fd.sip"]),
    ("fd.sockfamily = ip", ["fd.sockfamily", "fd.type"]),
    ("fd.sockfamily = unix", ["fd.sockfamily", "fd.num"]),
    ("fd.name_changed = true", ["fd.name_changed", "fd.name"]),
    ("fd.is_server = false", ["fd.is_server"]),
    ("user.uid = 4294967295 and evt.type = execve", ["user.uid", "user.loginuid"]),
    ("user.uid = 0", ["user.name", "user.homedir", "user.shell"]),
    ("user.name = root", ["user.uid"]),
    ("user.loginuid = -1 and evt.type = socket", ["user.loginuid", "user.loginname"]),
    ("user.loginname exists", ["user.loginname"]),
    ("user.homedir = /root or user.shell = /bin/bash", ["user.homedir"]),
    ("group.gid = 0", ["group.gid", "group.name"]),
    ("group.name exists", ["group.name"]),
    ("container.id = host and evt.type = socket", ["container.id", "container.name"]),
    ("container.name = host and evt.num < 200", ["container.name"]),
    ("container.image exists", ["container.image"]),
]


@pytest.fixture(scope="module")
def sysdig() -> str:
    return need_sysdig()


# Filters compared with sysdig's display-filter mode (-d), see the module docstring.
DISPLAY_FILTERS = {"fd.name_changed = true"}


def sysdig_filtered(trace: Path, fmt: str, filt: str | None) -> list[str]:
    """sysdig's lines for ``filt``, in display-filter mode where :data:`DISPLAY_FILTERS` says."""
    mode = ["-d"] if filt in DISPLAY_FILTERS else []
    return sysdig_lines(trace, fmt, filt, options=mode)


def test_table_touches_every_required_field() -> None:
    required = {
        "evt.num",
        "evt.time",
        "evt.datetime",
        "evt.rawtime",
        "evt.rawtime.s",
        "evt.rawtime.ns",
        "evt.reltime",
        "evt.type",
        "evt.dir",
        "evt.cpu",
        "evt.args",
        "evt.arg",
        "evt.rawarg",
        "evt.res",
        "evt.rawres",
        "evt.failed",
        "evt.is_open_read",
        "evt.is_open_write",
        "evt.is_open_exec",
        "evt.latency",
        "evt.info",
        "evt.buffer",
        "proc.pid",
        "proc.ppid",
        "proc.name",
        "proc.exe",
        "proc.exepath",
        "proc.cmdline",
        "proc.args",
        "proc.pname",
        "proc.pcmdline",
        "proc.aname",
        "proc.apid",
        "proc.tty",
        "proc.vpid",
        "proc.sid",
        "proc.loginshellid",
        "proc.cwd",
        "proc.env",
        "proc.duration",
        "thread.tid",
        "thread.vtid",
        "thread.ismain",
        "fd.num",
        "fd.type",
        "fd.typechar",
        "fd.name",
        "fd.directory",
        "fd.filename",
        "fd.sip",
        "fd.cip",
        "fd.sport",
        "fd.cport",
        "fd.lip",
        "fd.rip",
        "fd.lport",
        "fd.rport",
        "fd.l4proto",
        "fd.net",
        "fd.snet",
        "fd.cnet",
        "fd.sockfamily",
        "fd.name_changed",
        "fd.is_server",
        "user.uid",
        "user.name",
        "user.homedir",
        "user.shell",
        "user.loginuid",
        "user.loginname",
        "group.gid",
        "group.name",
        "container.id",
        "container.name",
        "container.image",
    }
    text = " ".join(f + " " + " ".join(fields) for f, fields in CASES)
    words = {w.split("[")[0] for w in text.replace("(", " ").split()}
    words |= {w.rsplit(".", 1)[0] for w in words if w.startswith(("evt.arg.", "evt.rawarg."))}
    assert len(CASES) >= 40
    assert required - words == set()


@pytest.mark.parametrize("trace", TRACES)
@pytest.mark.parametrize(("filt", "fields"), CASES, ids=[c[0] for c in CASES])
def test_filter_selects_as_sysdig(
    sysdig: str, trace_dir: Path, trace: str, filt: str, fields: list[str]
) -> None:
    path = trace_dir / f"{trace}.scap"
    fmt = "*%evt.num " + " ".join(f"%{f}" for f in fields)
    expected = sysdig_filtered(path, fmt, filt)
    got = tail_lines(path, fmt, filt)
    assert got == expected


@pytest.mark.parametrize("trace", TRACES)
def test_default_output_is_sysdigs(sysdig: str, trace_dir: Path, trace: str) -> None:
    path = trace_dir / f"{trace}.scap"
    default = (
        "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info"
    )
    assert tail_lines(path, default, None) == sysdig_lines(path)


@pytest.mark.parametrize("trace", TRACES)
@pytest.mark.parametrize(
    "fmt",
    [
        None,
        "%evt.num %fd.name %proc.pid %evt.failed %fd.sip",
        "*%evt.num %fd.name %user.uid %evt.buffer",
    ],
)
def test_json_is_sysdigs(sysdig: str, trace_dir: Path, trace: str, fmt: str | None) -> None:
    path = trace_dir / f"{trace}.scap"
    expected = sysdig_lines(path, fmt, options=["-j"])
    assert tail_lines(path, fmt, None, json=True) == expected


@pytest.mark.parametrize("trace", ["cat_write", "connect_localhost", "open-multiple-files"])
@pytest.mark.parametrize(
    "filt", ["evt.type in (close, fstat)", "fd.type = ipv4", "evt.dir = < and proc.name = cat"]
)
def test_sysdig_reads_what_sentry_capture_writes(
    sysdig: str, trace_dir: Path, tmp_path: Path, trace: str, filt: str
) -> None:
    # evt.num is left out: the rewritten file has fewer events, so numbers differ.
    src, out = trace_dir / f"{trace}.scap", tmp_path / "out.scap"
    done = subprocess.run(
        [*SENTRY, "capture", "-e", str(src), "-w", str(out), filt], capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    fmt = "*%evt.time %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info %fd.name"
    expected = sysdig_filtered(src, fmt, filt)
    assert sysdig_filtered(out, fmt, None) == expected
    # And Sentry reads its own file as sysdig does (state-only events stay hidden).
    full = "*%evt.num " + fmt[1:]
    assert tail_lines(out, full, None) == sysdig_filtered(out, full, None)
