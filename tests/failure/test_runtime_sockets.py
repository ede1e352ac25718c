"""The container runtime's socket failing under a live daemon (root, eBPF, real dockerd):
Sentry asks Docker through a unix-socket relay the test controls, which forwards to the real
/var/run/docker.sock, then hangs (accepts, never answers), then is removed, then comes back.
Through every phase the alerts of containers keep coming (with their metadata while the
socket answers, with their id only while it does not), the faults are counted on /metrics,
the metadata comes back with the socket, and every alert raised is delivered or counted.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import runtimes as rt

pytestmark = pytest.mark.root

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
DEADLINE = 120.0
SEED_RULE = "File Written Below Root Or Root Home"
VI = ["vi", "-c", "wq", "/hoge.sh"]
DOCKER = "/var/run/docker.sock"


class Relay:
    """A unix socket at ``path``: ``forward`` (to dockerd), ``hang`` (accept, never
    answer) or removed (``remove``: nothing listens, the file is gone)."""

    def __init__(self, path: Path):
        self.path = path
        self.mode = "forward"
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.listen()

    def listen(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        sock.listen(64)
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            if self.mode == "forward":
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.connect(DOCKER)
                with self._lock:
                    self._conns.append(upstream)
                for a, b in ((conn, upstream), (upstream, conn)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()
            # hang: keep the connection open, read nothing, answer nothing

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def _drop_connections(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def hang(self) -> None:
        """From now on accept and never answer; the connections made so far are cut, so
        the watcher's next connection hangs too."""
        self.mode = "hang"
        self._drop_connections()

    def remove(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.path.unlink(missing_ok=True)
        self._drop_connections()

    def restore(self) -> None:
        self.mode = "forward"
        self.listen()

    def close(self) -> None:
        self.remove()


class Live:
    """`sentry run --driver ebpf --json` asking Docker through ``socket_path`` only."""

    def __init__(self, socket_path: Path):
        extra = "name=%container.name full=%container.full_id"
        args = [
            "run",
            "--driver",
            "ebpf",
            "--json",
            "-p",
            extra,
            "-o",
            "webserver.enabled=true",
            "-o",
            "webserver.listen_address=127.0.0.1",
            "-o",
            "webserver.listen_port=0",
            "-o",
            f"container_engines.docker.sockets=[{socket_path}]",
            "-o",
            "container_engines.podman.enabled=false",
            "-o",
            "container_engines.cri.enabled=false",
            "-o",
            "container_engines.lookup_timeout_ms=1000",
        ]
        self.proc = subprocess.Popen(
            SENTRY + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.alerts: queue.Queue[dict] = queue.Queue()
        self.stderr: list[str] = []
        self.port = 0
        self._ready = threading.Event()
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()
        if not self._ready.wait(180) or self.proc.poll() is not None:
            self.stop()
            pytest.fail("sentry run did not start:\n" + "".join(self.stderr))

    def _out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.alerts.put(json.loads(line))

    def _err(self) -> None:
        assert self.proc.stderr is not None
        capturing = False
        for line in self.proc.stderr:
            self.stderr.append(line)
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found.group(1))
            capturing = capturing or "capturing live" in line
            if capturing and self.port:
                self._ready.set()
        self._ready.set()

    def alert_of(self, ctr: rt.CliContainer, want: Callable[[dict], bool]) -> dict:
        """The first seed alert of ``ctr`` that ``want`` accepts (vi runs in it every
        second until then; the deadline only guards against a hang)."""
        end = time.monotonic() + DEADLINE
        next_vi = 0.0
        seen: list[dict] = []
        while time.monotonic() < end:
            assert self.proc.poll() is None, "".join(self.stderr)
            if time.monotonic() >= next_vi:
                with contextlib.suppress(RuntimeError):
                    ctr.exec(VI, timeout=30)
                next_vi = time.monotonic() + 1.0
            try:
                alert = self.alerts.get(timeout=0.1)
            except queue.Empty:
                continue
            f = alert.get("output_fields", {})
            if alert.get("rule") == SEED_RULE and f.get("container.id") == ctr.short_id:
                seen.append(f)
                if want(alert):
                    return alert
        pytest.fail(
            f"no such alert of {ctr.short_id} in {DEADLINE} s; seen {seen[-3:]}\n"
            + "".join(self.stderr[-20:])
        )

    def metrics(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=60) as resp:
            text = resp.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
        return out

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def _live_or_skip() -> None:
    reason = None
    if os.geteuid() != 0:
        reason = "live capture needs root"
    elif not os.path.exists("/sys/kernel/btf/vmlinux"):
        reason = "kernel without BTF: the eBPF probe cannot run"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _sum(m: dict[str, float], prefix: str, *labels: str) -> float:
    return sum(v for k, v in m.items() if k.startswith(prefix) and all(x in k for x in labels))


def test_runtime_socket_hung_then_removed_then_back(tmp_path: Path) -> None:
    _live_or_skip()
    rt.require_docker()
    relay = Relay(tmp_path / "docker.sock")
    live = Live(relay.path)
    sock = f'socket="{relay.path}"'
    try:

        def named(alert: dict) -> bool:
            return bool(alert["output_fields"].get("container.name"))

        def any_alert(alert: dict) -> bool:
            return True

        with rt.docker_container(f"up-{uuid.uuid4().hex[:6]}") as ctr:
            live.alert_of(ctr, named)  # the socket answers: metadata
        relay.hang()
        with rt.docker_container(f"hung-{uuid.uuid4().hex[:6]}") as ctr:
            hung = live.alert_of(ctr, any_alert)
        assert hung["output_fields"]["container.name"] is None  # no answer: the id only
        relay.remove()
        with rt.docker_container(f"gone-{uuid.uuid4().hex[:6]}") as ctr:
            gone = live.alert_of(ctr, any_alert)
            m = live.metrics()
        assert gone["output_fields"]["container.name"] is None
        # The faults are counted: a lookup cut off or timed out on the hung socket, then
        # the socket missing (which kind a given lookup meets depends on when it ran).
        engine = {k: v for k, v in m.items() if k.startswith("sentry_container")}
        assert _sum(m, "sentry_container_engine_errors_total", sock) >= 1, engine
        assert m[f'sentry_container_engine_up{{engine="docker",{sock}}}'] == 0
        relay.restore()
        with rt.docker_container(f"back-{uuid.uuid4().hex[:6]}") as ctr:
            back = live.alert_of(ctr, named)  # reconnected: metadata again
        assert back["output_fields"]["container.name"].startswith("back-")
        # Every alert raised went out on stdout or is counted as not delivered; none waits.
        deadline = time.monotonic() + 60
        while True:
            m = live.metrics()
            raised = _sum(m, "sentry_alerts_total")
            accounted = _sum(m, "sentry_output_delivered_total", 'channel="stdout"') + _sum(
                m, "sentry_output_failures_total", 'channel="stdout"'
            )
            waiting = m.get('sentry_alerts_held_total{outcome="waiting"}', 0.0)
            if raised == accounted and waiting == 0:
                break
            assert time.monotonic() < deadline, (raised, accounted, waiting)
            time.sleep(0.2)
        assert m[f'sentry_container_engine_up{{engine="docker",{sock}}}'] == 1
    finally:
        code = live.stop()
        relay.close()
    assert code == 0, "".join(live.stderr[-20:])
    assert "Traceback" not in "".join(live.stderr)
