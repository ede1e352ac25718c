"""Every state change of the story capture, read by sysdig and by Sentry, field by field.

(``evt.reltime`` is left out: sysdig pads values under a second to nine digits; so is
``group.gid``, which sysdig 0.29 prints as 4294968296 for bash once its thread 103 exists.)

The story (``inspect_story.py``) forks, execs into a container, opens relative and dirfd
paths, dups, pipes, connects, binds, accepts, closes, changes uid, runs a worker thread that
talks UDP, and exits; sysdig 0.29 reading the same file is the reference for every value.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_story import write_story

from sysdig_ref import need_sysdig, sysdig_lines, tail_lines

# Printed times are compared with sysdig run under TZ=UTC.
pytestmark = [pytest.mark.sysdig, pytest.mark.usefixtures("utc")]

FORMATS = {
    "default": None,
    "process": "*%evt.num %proc.name %proc.pid %proc.ppid %proc.pname %proc.cmdline "
    "%proc.exeline %proc.cwd %proc.exepath %proc.tty %proc.sid %proc.vpid %proc.vpgid "
    "%proc.loginshellid %proc.env %proc.aname[2] %proc.apid[1] %proc.duration %proc.nthreads",
    "thread_user": "*%evt.num %thread.tid %thread.vtid %thread.ismain %user.uid %user.name "
    "%user.homedir %user.shell %user.loginuid %user.loginname %group.name "
    "%container.id %container.name",
    "fd": "*%evt.num %fd.num %fd.type %fd.typechar %fd.name %fd.directory %fd.filename "
    "%fd.containername",
    "net": "*%evt.num %fd.sip %fd.cip %fd.sport %fd.cport %fd.lip %fd.rip %fd.lport "
    "%fd.rport %fd.l4proto %fd.sockfamily %fd.is_server %fd.name_changed %fd.connected",
    "evt": "*%evt.num %evt.type %evt.dir %evt.res %evt.rawres %evt.failed %evt.latency "
    "%evt.is_open_read %evt.is_open_write %evt.is_open_exec %evt.buffer %evt.arg[0] "
    "%evt.arg.name",
}
FILTERS = [
    "proc.name = cat and fd.type = file",
    "fd.sip = 10.0.0.5 or fd.cip = 172.16.0.9",
    "fd.net = 10.0.0.0/8",  # also the connect enter, by its address argument
    "fd.ip = 10.0.0.5 and fd.port = 443",
    "proc.aname = systemd and evt.dir = <",
    "fd.directory = /etc and fd.filename = passwd",
    "evt.is_open_exec = true",
    "user.name = root",
    "container.id != host",
    "fd.name contains docs",
    "fd.l4proto = udp and fd.connected = true",
    "thread.ismain = false and fd.name startswith /var",
    "proc.pname = bash and not thread.ismain = true",
]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_story(tmp_path_factory.mktemp("story") / "story.scap")


@pytest.fixture(scope="module")
def sysdig() -> str:
    return need_sysdig()


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_event_prints_as_sysdig(sysdig: str, story: Path, name: str) -> None:
    fmt = FORMATS[name]
    expected = sysdig_lines(story, fmt, timeout=60)
    assert len(expected) == 76
    assert tail_lines(story, fmt, None) == expected


@pytest.mark.parametrize("filt", FILTERS)
def test_filter_selects_as_sysdig(sysdig: str, story: Path, filt: str) -> None:
    fmt = "*%evt.num %evt.type %fd.name %proc.name"
    expected = sysdig_lines(story, fmt, filt, timeout=60)
    assert expected, "each story filter selects something"
    assert tail_lines(story, fmt, filt) == expected
