"""Failure injection on a running daemon (a real child process, real HTTP, a real full
disk): outputs failing and recovering, SIGHUP storms. After each, the counters on /metrics
account for every event and alert: raised = delivered + counted failures, per channel."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
from pathlib import Path

from full_disk import full_disk
from sentry_daemon import SentryDaemon

RULES = """
- rule: Namespace Created
  desc: test rule
  condition: ka.verb=create
  output: namespace created (ns=%ka.target.name)
  priority: WARNING
  source: k8s_audit
"""


def _event(name: str) -> dict[str, object]:
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "auditID": name,
        "stage": "ResponseComplete",
        "verb": "create",
        "requestURI": "/api/v1/namespaces",
        "user": {"username": "alice"},
        "objectRef": {"resource": "namespaces", "name": name},
        "responseStatus": {"code": 201},
        "stageTimestamp": "2024-05-01T10:00:00.5Z",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _metrics(d: SentryDaemon) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in d.request("/metrics")[1].decode().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def _channel(m: dict[str, float], name: str) -> tuple[float, float]:
    delivered = m.get(f'sentry_output_delivered_total{{channel="{name}"}}', 0.0)
    failed = sum(
        v
        for k, v in m.items()
        if k.startswith("sentry_output_failures_total") and f'channel="{name}"' in k
    )
    return delivered, failed


def _start(tmp: Path, extra: str) -> SentryDaemon:
    rules = tmp / "rules.yaml"
    rules.write_text(RULES)
    config = tmp / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n"
        "  listen_port: 0\noutputs:\n  max_retries: 1\n  retry_backoff: 0.01\n"
        "stdout_output:\n  enabled: false\n" + extra
    )
    return SentryDaemon(["-c", str(config), "-r", str(rules), "--disable-source", "syscall"])


def _post(d: SentryDaemon, name: str) -> None:
    status = d.request(
        "/k8s-audit", json.dumps(_event(name)).encode(), {"Content-Type": "application/json"}
    )[0]
    assert status == 200


def _settled(d: SentryDaemon, channels: list[str], raised: int) -> dict[str, float]:
    deadline = time.monotonic() + 60
    while True:
        m = _metrics(d)
        if all(sum(_channel(m, c)) == raised for c in channels):
            return m
        assert time.monotonic() < deadline, {c: _channel(m, c) for c in channels}
        time.sleep(0.2)


def test_full_disk_and_closed_port_are_counted_then_recovered(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there: connection refused
    with full_disk(tmp_path) as disk:
        alerts = disk.path / "alerts.txt"
        d = _start(
            tmp_path,
            f"file_output:\n  enabled: true\n  keep_alive: true\n"
            f"  filename: {alerts}\nhttp_output:\n  enabled: true\n"
            f"  url: http://127.0.0.1:{port}/\n",
        )
        try:
            disk.fill()
            for i in range(10):
                _post(d, f"full{i}")
            m = _settled(d, ["file", "http"], 10)
            assert _channel(m, "file") == (0, 10) and _channel(m, "http") == (0, 10)
            assert any("No space left on device" in line for line in d.stderr)
            disk.free()
            for i in range(5):
                _post(d, f"freed{i}")
            m = _settled(d, ["file", "http"], 15)
            assert _channel(m, "file") == (5, 10)
            assert m['sentry_alerts_total{priority="Warning",rule="Namespace Created"}'] == 15
            assert m['sentry_events_total{source="k8s_audit"}'] == 15
            assert m["sentry_evaluated_events_total"] == 15  # received = evaluated
        finally:
            code, _ = d.stop()
        assert code == 0
        assert [line.split("ns=")[1].rstrip(")") for line in alerts.read_text().splitlines()] == [
            f"freed{i}" for i in range(5)
        ]


def test_a_sighup_storm_under_load_loses_no_alert(tmp_path: Path) -> None:
    """Webhook events between SIGHUPs: every alert once, in order, every reload ok. (A
    webhook POST waits for its evaluation, so this cannot lose events to a slow reader:
    the live storm, test_live_sighup_storm.py, is the regression test of the reload fix.)"""
    out = tmp_path / "alerts.txt"
    d = _start(tmp_path, f"file_output:\n  enabled: true\n  filename: {out}\n")
    try:
        for i in range(200):
            _post(d, f"ns{i}")
            if i % 4 == 0:
                d.proc.send_signal(signal.SIGHUP)
        m = _settled(d, ["file"], 200)
        assert _channel(m, "file") == (200, 0)
        assert m.get('sentry_rule_reloads_total{result="failed"}', 0) == 0
        assert m['sentry_rule_reloads_total{result="ok"}'] >= 1
    finally:
        code, _ = d.stop()
    assert code == 0
    names = [
        re.search(r"ns=(\w+)", line).group(1)  # type: ignore[union-attr]
        for line in out.read_text().splitlines()
    ]
    assert names == [f"ns{i}" for i in range(200)]


def test_sentry_run_into_a_pipe_closed_early_ends_quietly(tmp_path: Path) -> None:
    """``sentry run | head -1`` while alerts keep coming: the first alert is read, the pipe's
    reader goes away, further alerts hit the closed pipe. The daemon ends by itself, status
    0, no traceback (before: a BrokenPipeError retried and logged for ever, never ending)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    config = tmp_path / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n"
        "  listen_port: 0\noutputs:\n  max_retries: 1\n  retry_backoff: 0.01\n"
    )
    d = SentryDaemon(["-c", str(config), "-r", str(rules), "--disable-source", "syscall"])
    assert d.proc.stdout is not None
    try:
        _post(d, "first")
        assert "ns=first" in d.proc.stdout.readline()
        d.proc.stdout.close()  # what head does after its line
        posted = 1
        # Alerts keep coming until the daemon has gone (or 2000 more: it never went).
        while d.proc.poll() is None and posted < 2000:
            try:
                status = d.request(
                    "/k8s-audit",
                    json.dumps(_event(f"ns{posted}")).encode(),
                    {"Content-Type": "application/json"},
                )[0]
            except (urllib.error.URLError, ConnectionError):
                break  # it stopped listening: it is ending
            assert status in (200, 503), status  # 503: taken no more, it is stopping
            posted += 1
        try:
            code: int | None = d.proc.wait(timeout=60)  # bound: still running fails below
        except subprocess.TimeoutExpired:
            code = None
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
    d._reader.join(10)
    err = "".join(d.stderr)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 0, f"exit status {code} (None: still running 60 s later)\n{err}"


# A receiver that answers after DELAY seconds (read from a file on each request: the test
# changes it while alerts flow); it reads the body only when it answers.
_SLOW_RECEIVER = """
import http.server, sys, time
out = open(sys.argv[1], "ab", buffering=0)
delay_file = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        time.sleep(float(open(delay_file).read() or 0))
        out.write(self.rfile.read(int(self.headers["Content-Length"])) + b"\\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


class _SlowReceiver:
    def __init__(self, tmp: Path, delay: float):
        self.received = tmp / "received.jsonl"
        self.delay_file = tmp / "delay"
        self.set_delay(delay)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SLOW_RECEIVER, str(self.received), str(self.delay_file)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}/"

    def set_delay(self, seconds: float) -> None:
        self.delay_file.write_text(str(seconds))

    def names(self) -> list[str]:
        if not self.received.exists():
            return []
        return [
            json.loads(line)["output_fields"]["ka.target.name"]
            for line in self.received.read_text().splitlines()
        ]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _counted(m: dict[str, float], name: str) -> float:
    return sum(_channel(m, name))


def test_a_slow_receiver_is_counted_and_leaves_the_other_outputs_alone(tmp_path: Path) -> None:
    """An http receiver slower than http_output.timeout: its alerts fail or overflow its
    queue (both counted), the file output delivers every alert meanwhile; once the receiver
    is quick again, alerts reach it again. Every alert is in exactly one counter."""
    receiver = _SlowReceiver(tmp_path, 3.0)  # beyond the 1 s timeout: each POST times out
    out = tmp_path / "alerts.txt"
    try:
        d = _start(
            tmp_path,
            f"file_output:\n  enabled: true\n  keep_alive: true\n  filename: {out}\n"
            f"http_output:\n  enabled: true\n  url: {receiver.url}\n  timeout: 1\n"
            "outputs:\n  queue_size: 4\n  max_retries: 0\n  retry_backoff: 0.01\n",
        )
        try:
            for i in range(20):
                _post(d, f"slow{i}")
            # The file output is not held up by the stalled receiver.
            m = _settled(d, ["file"], 20)
            assert _channel(m, "file") == (20, 0)
            m = _settled(d, ["http"], 20)
            _delivered, failed = _channel(m, "http")
            assert m['sentry_output_failures_total{cause="queue_full",channel="http"}'] > 0
            assert failed == 20 - _delivered
            receiver.set_delay(0)
            for i in range(5):
                _post(d, f"quick{i}")
            m = _settled(d, ["file", "http"], 25)
            assert m["sentry_evaluated_events_total"] == 25  # received = evaluated
            assert m['sentry_alerts_total{priority="Warning",rule="Namespace Created"}'] == 25
        finally:
            code, _ = d.stop()
        assert code == 0
    finally:
        receiver.close()
    assert [n for n in receiver.names() if n.startswith("quick")] == [f"quick{i}" for i in range(5)]
    assert len(out.read_text().splitlines()) == 25


def test_sigterm_during_load_flushes_every_pending_alert(tmp_path: Path) -> None:
    """SIGTERM while alerts are posted and the http receiver lags behind (10 ms an alert):
    the daemon stops taking events, delivers what is queued and exits 0; every accepted
    event's alert is in the file and at the receiver (none lost, none twice)."""
    receiver = _SlowReceiver(tmp_path, 0.01)
    out = tmp_path / "alerts.txt"
    accepted: list[str] = []
    try:
        d = _start(
            tmp_path,
            f"file_output:\n  enabled: true\n  keep_alive: true\n  filename: {out}\n"
            f"http_output:\n  enabled: true\n  url: {receiver.url}\n",
        )
        stop = threading.Event()

        def load() -> None:
            i = 0
            while not stop.is_set():
                body = json.dumps(_event(f"t{i}")).encode()
                try:
                    status = d.request("/k8s-audit", body, {"Content-Type": "application/json"})[0]
                except (urllib.error.URLError, ConnectionError):
                    return  # stopped listening
                if status != 200:
                    assert status == 503  # stopping: not taken, so not counted as accepted
                    return
                accepted.append(f"t{i}")
                i += 1

        poster = threading.Thread(target=load)
        poster.start()
        while len(accepted) < 100:
            assert poster.is_alive()
            time.sleep(0.01)
        d.proc.send_signal(signal.SIGTERM)
        code = d.proc.wait(timeout=60)  # bound: a daemon that does not stop fails here
        stop.set()
        poster.join(60)
        d.stop()
    finally:
        receiver.close()
    assert code == 0, "".join(d.stderr)
    said = "".join(d.stderr)
    assert "not delivered at shutdown" not in said and "Traceback" not in said, said
    lines = [re.search(r"ns=(\w+)", ln).group(1) for ln in out.read_text().splitlines()]  # type: ignore[union-attr]
    assert lines == accepted
    assert receiver.names() == accepted
