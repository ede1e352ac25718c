"""``sentry run`` as a daemon (web server only, no syscall source), driven from outside:
real HTTP on 127.0.0.1, real signals, real output files."""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from http_receiver import receiver_process
from sentry_daemon import SentryDaemon

RULES = """
- rule: Namespace Created
  desc: test rule
  condition: ka.verb=create and ka.target.resource=namespaces
  output: namespace created (user=%ka.user.name ns=%ka.target.name)
  priority: WARNING
  source: k8s_audit
"""
RULES_V2 = (
    RULES
    + """
- rule: Any Delete
  desc: test rule added on reload
  condition: ka.verb=delete
  output: deleted (user=%ka.user.name)
  priority: NOTICE
  source: k8s_audit
"""
)


def event(name: str, verb: str = "create") -> dict[str, object]:
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "auditID": name,
        "stage": "ResponseComplete",
        "verb": verb,
        "requestURI": "/api/v1/namespaces",
        "user": {"username": "alice"},
        "objectRef": {"resource": "namespaces", "name": name},
        "responseStatus": {"code": 201},
        "stageTimestamp": "2024-05-01T10:00:00.5Z",
    }


class Daemon(SentryDaemon):
    """The daemon on a rules file, writing its alerts to a file as JSON."""

    def __init__(
        self, tmp: Path, rules: str = RULES, extra_config: str = "", args: list[str] | None = None
    ):
        self.rules = tmp / "rules.yaml"
        self.rules.write_text(rules)
        self.alerts_file = tmp / "alerts.txt"
        config = tmp / "sentry.yaml"
        config.write_text(
            "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
            "  max_body_bytes: 65536\n"
            f"file_output:\n  enabled: true\n  keep_alive: true\n  filename: {self.alerts_file}\n"
            "json_output: true\n" + extra_config
        )
        super().__init__(
            ["-c", str(config), "-r", str(self.rules), "--disable-source", "syscall", *(args or [])]
        )

    def post(self, doc: object, **headers: str) -> int:
        hdrs = {"Content-Type": "application/json", **headers}
        return self.request("/k8s-audit", json.dumps(doc).encode(), hdrs)[0]

    def alerts(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.alerts_file.read_text().splitlines()]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path)
    yield d
    d.stop()


def test_sigterm_drains_outputs_and_exits_zero(daemon: Daemon) -> None:
    for i in range(50):
        assert daemon.post(event(f"ns{i}")) == 200
    code, stdout = daemon.stop()
    assert code == 0
    names = [a["output_fields"]["ka.target.name"] for a in daemon.alerts()]  # type: ignore[index]
    assert names == [f"ns{i}" for i in range(50)]
    assert len(stdout.splitlines()) == 50


def test_bad_requests_are_refused_and_the_daemon_keeps_serving(daemon: Daemon) -> None:
    assert daemon.request("/k8s-audit", b"{oops", {"Content-Type": "application/json"})[0] == 400
    assert (
        daemon.request("/k8s-audit", b'{"kind":"Pod"}', {"Content-Type": "application/json"})[0]
        == 400
    )
    assert (
        daemon.request("/k8s-audit", b"x" * 70000, {"Content-Type": "application/json"})[0] == 413
    )
    assert daemon.post(event("a"), **{"Content-Type": "text/plain"}) == 415
    assert daemon.request("/healthz")[0] == 200
    assert daemon.post(event("after")) == 200
    status, metrics = daemon.request("/metrics")
    text = metrics.decode()
    assert status == 200
    assert 'sentry_webhook_requests_total{code="400"} 2.0' in text
    assert 'sentry_alerts_total{priority="Warning",rule="Namespace Created"} 1.0' in text
    assert 'sentry_event_drops_total{cause="k8s_audit_malformed"} 2.0' in text
    code, _ = daemon.stop()
    assert code == 0
    assert [a["rule"] for a in daemon.alerts()] == ["Namespace Created"]


def test_sighup_reload_keeps_old_rules_when_new_ones_are_broken(daemon: Daemon) -> None:
    daemon.rules.write_text(RULES + "- rule: Broken\n  condition: ka.verb =\n")
    mark = len(daemon.stderr)
    daemon.proc.send_signal(signal.SIGHUP)
    line = daemon.wait_for(r"reload failed", mark)
    assert "keeping the 1 rules loaded before" in line
    assert daemon.post(event("still-works")) == 200

    daemon.rules.write_text(RULES_V2)
    mark = len(daemon.stderr)
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for(r"rules reloaded: 2 rules", mark)
    assert daemon.post(event("two-rules")) == 200
    assert daemon.post(event("gone", verb="delete")) == 200
    code, _ = daemon.stop()
    assert code == 0
    rules = [
        (a["rule"], a["output_fields"]["ka.target.name"])  # type: ignore[index]
        for a in daemon.alerts()
        if "ka.target.name" in a["output_fields"]
    ]  # type: ignore[operator]
    assert ("Namespace Created", "still-works") in rules
    assert ("Namespace Created", "two-rules") in rules
    assert [a["rule"] for a in daemon.alerts()][-1] == "Any Delete"


def test_log_syslog_sends_the_daemons_own_lines_to_the_syslog_socket(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "log.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(60)  # a guard against hanging, not a measurement
    try:
        d = Daemon(
            tmp_path,
            extra_config=f"log_syslog: true\nlog_level: info\nsyslog_output:\n  socket: {path}\n",
        )
        try:
            listening = sock.recv(4096).decode()
            d.rules.write_text(RULES + "- rule: Broken\n  condition: ka.verb =\n")
            d.proc.send_signal(signal.SIGHUP)
            reload_failed = sock.recv(4096).decode()
        finally:
            code, _ = d.stop()
        stopping = sock.recv(4096).decode()
    finally:
        sock.close()
    assert code == 0
    pid = d.proc.pid
    # <PRI> = facility user (1) * 8 + severity: info 6, error 3; tag sentry[pid]
    assert listening.startswith("<14>")
    assert f" sentry[{pid}]: webserver listening on http://127.0.0.1:{d.port} " in listening
    assert reload_failed.startswith("<11>") and "reload failed" in reload_failed
    assert stopping.startswith("<14>") and stopping.endswith("SIGTERM: stopping, draining outputs")
    assert any("webserver listening" in line for line in d.stderr)  # log_stderr still on


def test_token_is_required_when_configured(tmp_path: Path) -> None:
    d = Daemon(tmp_path, args=["-o", "webserver.token=s3cret"])
    try:
        assert d.post(event("anon")) == 401
        assert d.post(event("wrong"), Authorization="Bearer nope") == 401
        assert d.post(event("right"), Authorization="Bearer s3cret") == 200
        assert d.request("/healthz")[0] == 200
    finally:
        code, _ = d.stop()
    assert code == 0
    assert [a["output_fields"]["ka.target.name"] for a in d.alerts()] == ["right"]  # type: ignore[index]


def test_http_output_from_the_daemon_reaches_a_receiver(tmp_path: Path) -> None:
    import http.server

    received: list[dict[str, object]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        d = Daemon(tmp_path, extra_config=f"http_output:\n  enabled: true\n  url: {url}\n")
        for i in range(5):
            assert d.post(event(f"h{i}")) == 200
        code, _ = d.stop()
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0
    assert [r["rule"] for r in received] == ["Namespace Created"] * 5
    assert {"output", "priority", "rule", "time", "output_fields", "source"} <= set(received[0])


def test_http_receiver_killed_mid_run_loses_nothing_silently(tmp_path: Path) -> None:
    received = tmp_path / "received.jsonl"
    with receiver_process(received) as (receiver, url):
        d = Daemon(
            tmp_path,
            extra_config=f"http_output:\n  enabled: true\n  url: {url}\n"
            "outputs:\n  max_retries: 1\n  retry_backoff: 0.01\n",
        )
        for i in range(10):
            assert d.post(event(f"before{i}")) == 200

        def delivered_http() -> str:
            return d.request("/metrics")[1].decode()

        while 'sentry_output_delivered_total{channel="http"} 10.0' not in delivered_http():
            threading.Event().wait(0.05)
        receiver.kill()
        receiver.wait()
        for i in range(10):
            assert d.post(event(f"after{i}")) == 200
        code, _ = d.stop()
    assert code == 0
    alerts = d.alerts()  # the file output got all of them
    delivered = received.read_text().splitlines()
    lost = re.search(r"(\d+) alert deliveries failed", "".join(d.stderr))
    assert lost is not None, "".join(d.stderr) + received.read_text()
    assert len(alerts) == 20
    assert len(delivered) == 10
    assert len(delivered) + int(lost.group(1)) == len(alerts)
    assert any("http output failed" in line for line in d.stderr), "".join(d.stderr)


def test_daemon_with_a_syscall_source_evaluates_and_counts(falco_dir: Path, tmp_path: Path) -> None:
    from sentry.cli.run import load_checked, open_capture
    from sentry.rules.ruleset import Selection
    from sentry.service.config import load_config
    from sentry.service.daemon import Daemon as ServiceDaemon

    alerts_file = tmp_path / "alerts.txt"
    cfg = load_config(
        None,
        [
            "stdout_output.enabled=false",
            "file_output.enabled=true",
            f"file_output.filename={alerts_file}",
            "json_output=true",
        ],
    )
    rules = [falco_dir / "test" / "rules" / "single_rule.yaml"]
    daemon = ServiceDaemon(cfg, lambda: load_checked(rules, Selection()))
    before = signal.getsignal(signal.SIGTERM)
    source, inspector = open_capture(
        str(falco_dir / "test" / "trace_files" / "cat_write.scap"), daemon.ruleset
    )
    assert daemon.run(source, inspector) == 0
    assert signal.getsignal(signal.SIGTERM) is before
    alerts = [json.loads(line) for line in alerts_file.read_text().splitlines()]
    assert [a["rule"] for a in alerts] == ["open_from_cat"] * 8
    snap = daemon.snapshot()
    assert snap.events["syscall"] > 0 and snap.eval_seconds > 0
    assert snap.alerts[("open_from_cat", "Warning")] == 8
    assert snap.outputs["file"].delivered == len(alerts)


def test_reload_retunes_the_capture_and_keeps_rules_on_failure(
    falco_dir: Path, tmp_path: Path
) -> None:
    from sentry.cli.run import load_checked
    from sentry.rules.ruleset import Ruleset, Selection
    from sentry.service.config import load_config
    from sentry.service.daemon import Daemon as ServiceDaemon

    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    daemon = ServiceDaemon(
        load_config(None, ["stdout_output.enabled=false"]),
        lambda: load_checked([rules], Selection()),
    )
    retuned: list[Ruleset] = []
    daemon.retune = retuned.append
    first = daemon.ruleset
    rules.write_text("- rule: x\n  condition: (\n")
    assert daemon.reload() is False
    assert daemon.ruleset is first and daemon.pipeline.ruleset is first and retuned == []
    rules.write_text(RULES_V2)
    assert daemon.reload() is True
    assert retuned == [daemon.ruleset] and len(daemon.ruleset) == 2
    assert dict(daemon.reloads) == {"failed": 1, "ok": 1}
    daemon.outputs.close()


def test_a_reload_that_blows_up_never_ends_the_control_thread(daemon: Daemon) -> None:
    chain = "".join(
        f"- macro: m{i}\n  condition: {f'm{i - 1}' if i else 'ka.verb=get'}\n" for i in range(500)
    )
    daemon.rules.write_text(
        RULES + chain + "- rule: Chained\n  desc: d\n  condition: m499\n"
        "  output: o\n  priority: WARNING\n  source: k8s_audit\n"
    )
    mark = len(daemon.stderr)
    daemon.proc.send_signal(signal.SIGHUP)
    line = daemon.wait_for(r"reload failed|rules reloaded", mark, timeout=60)
    assert "reload failed" in line
    assert not any("Traceback" in ln for ln in daemon.stderr)
    daemon.rules.write_text(RULES_V2)  # a later SIGHUP still reloads
    mark = len(daemon.stderr)
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for(r"rules reloaded: 2 rules", mark, timeout=60)
    text = daemon.request("/metrics")[1].decode()
    assert 'sentry_rule_reloads_total{result="failed"} 1.0' in text
    assert 'sentry_rule_reloads_total{result="ok"} 1.0' in text
    assert daemon.stop()[0] == 0


def test_sentry_run_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    import subprocess

    from sentry.capture.scapwriter import ScapWriter

    capture = tmp_path / "many.scap"
    with ScapWriter(capture) as w:
        for i in range(20000):
            w.write_event("open<", 3, f"/etc/f{i}", 1, 0, 0, ts=10 + i, tid=1)
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "- rule: opened\n  desc: d\n  condition: evt.type = open\n"
        "  output: 'opened %fd.name'\n  priority: WARNING\n"
    )
    sentry = subprocess.Popen(
        ["sentry", "run", "-r", str(rules), "-e", str(capture), "-A"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert sentry.stdout is not None and sentry.stderr is not None
    first = sentry.stdout.readline()
    sentry.stdout.close()  # what `| head -1` does
    _, err = sentry.communicate(timeout=120)
    assert b"opened /etc/f0" in first
    assert sentry.returncode == 0
    assert b"Traceback" not in err and b"BrokenPipe" not in err
