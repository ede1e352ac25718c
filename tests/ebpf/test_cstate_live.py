"""The C state tracker and the Python inspector agree on live eBPF captures.

Two captures: this test's own workload through the probe (every state event kind: opens
relative to a dirfd, dup/dup2, pipes, tcp connect/accept, udp sendto, a unix connect, a
thread, a shell, fork + setgid/setuid + fexecve), and the whole host as ``sentry capture``
writes it for a few seconds. Both start from the host's /proc state; see
tests/cstate_compare.py for what is compared after every event.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.cstate_compare import check_workload, compare, compare_fields
from tests.live_capture import live_capture

from sentry.capture.scapreader import ScapReader

pytestmark = [pytest.mark.root]


def test_workload_through_the_probe(ebpf_source: object, tmp_path: Path) -> None:
    check_workload(ebpf_source, tmp_path)


def test_whole_host_sentry_capture(tmp_path: Path) -> None:
    out = tmp_path / "host.scap"
    with live_capture(out, stop=signal.SIGTERM):
        subprocess.run(
            [
                "python3",
                "-c",
                "import subprocess,socket,os\n"
                "for i in range(20): subprocess.run(['true'])\n"
                "s=socket.create_connection(('127.0.0.1',1)) if 0 else None",
            ],
            check=True,
        )
        time.sleep(3)
    with ScapReader(out) as reader:
        assert next(iter(reader), None) is not None
    n, problems = compare(out, limit=150_000)
    assert n > 1000
    assert not problems, "\n".join(problems)
    # The replay's inspector with the fds in C gives every field the reference gives, on
    # every event and with the reader delivering only some syscalls' events.
    for only in (None, {"openat", "connect", "execve", "read", "close"}):
        n, problems = compare_fields(out, only)
        assert n > (1000 if only is None else 50)
        assert not problems, "\n".join(problems)
