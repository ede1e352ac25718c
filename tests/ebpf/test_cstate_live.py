"""The C state tracker and the Python inspector agree on live eBPF captures.

Two captures: this test's own workload through the probe (every state event kind: opens
relative to a dirfd, dup/dup2, pipes, tcp connect/accept, udp sendto, a unix connect, a
thread, a shell, fork + setgid/setuid + fexecve), and the whole host as ``sentry capture``
writes it for a few seconds. Both start from the host's /proc state; see
tests/cstate_compare.py for what is compared after every event.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.cstate_compare import compare, compare_events
from tests.driver_cases import run_trigger

from sentry.capture.scapfile import ScapReader
from sentry.inspect.inspector import Inspector

pytestmark = [pytest.mark.root]

WORKLOAD = """
import threading, subprocess
for i in range(3):
    fd = os.open("a.txt", os.O_CREAT | os.O_WRONLY | os.O_TRUNC)
    os.dup2(fd, 9); os.dup(fd); os.close(fd); os.close(9)
    dfd = os.open(W, os.O_RDONLY | os.O_DIRECTORY)
    os.close(os.open("a.txt", os.O_RDONLY, dir_fd=dfd))
    os.fchdir(dfd); os.chdir(".."); os.chdir(W); os.close(dfd)
    r, w = os.pipe(); os.write(w, b"x"); os.close(r); os.close(w)
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
    c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()
    a.close(); c.close(); srv.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"x", ("127.0.0.1", 9)); u.close()
    us = socket.socket(socket.AF_UNIX)
    try:
        us.connect("/nonexistent.sock")
    except OSError:
        pass
    us.close()
    t = threading.Thread(target=lambda: os.close(os.open("/etc/hostname", os.O_RDONLY)))
    t.start(); t.join()
    subprocess.run(["sh", "-c", "cd /tmp && cat /etc/hostname >/dev/null; ls -d . >/dev/null"])
    pid = os.fork()
    if pid == 0:
        os.setgid(65534); os.setuid(65534)
        os.execve(os.open("/bin/true", os.O_RDONLY), ["true", "arg"], {"X": "1"})
    os.waitpid(pid, 0)
"""
# each kind of state event the workload must have made (any one name of a group)
WANT = [
    {"clone", "clone3", "fork", "vfork"},
    {"execve", "execveat"},
    {"open", "openat", "openat2"},
    {"dup", "dup2", "dup3"},
    {"close"},
    {"pipe", "pipe2"},
    {"socket"},
    {"connect"},
    {"accept", "accept4"},
    {"bind"},
    {"sendto"},
    {"fchdir"},
    {"chdir"},
    {"setuid", "setresuid"},
    {"setgid", "setresgid"},
    {"procexit"},
]


def _host() -> Inspector:
    inspector = Inspector.from_host()
    inspector.proc_root = None  # no purge of vanished threads: the C tracker has none yet
    return inspector


def test_workload_through_the_probe(ebpf_source: object, tmp_path: Path) -> None:
    captured = run_trigger(ebpf_source, WORKLOAD, tmp_path, timeout=60)
    names = {ev.info.name for ev in captured.events}
    assert all(group & names for group in WANT), [g for g in WANT if not g & names]
    n, problems = compare_events(_host(), captured.events, whole_every=200)
    assert not problems, "\n".join(problems)
    assert n == len(captured.events) > 500


def test_whole_host_sentry_capture(tmp_path: Path) -> None:
    out = tmp_path / "host.scap"
    env = dict(os.environ, SENTRY_DRIVER="ebpf")
    proc = subprocess.Popen(
        ["sentry", "capture", "-w", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.stat().st_size > 0) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.5)
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
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    with ScapReader(out) as reader:
        assert next(iter(reader), None) is not None
    n, problems = compare(out, limit=150_000)
    assert n > 1000
    assert not problems, "\n".join(problems)
