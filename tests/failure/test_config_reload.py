"""SIGHUP reads the configuration again, not only the rules (a real daemon, real files, real
HTTP): outputs changed in the file are rebuilt beside the running ones and swapped in, the
replaced ones drained; keys only a restart applies are named in the log; a bad file keeps
everything running. /metrics keeps every output's counts across the swap."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from http_receiver import receiver_process
from sentry_daemon import SentryDaemon

RULES = """
- rule: Namespace Created
  desc: test rule
  condition: ka.verb=create
  output: namespace created (ns=%ka.target.name)
  priority: WARNING
  source: k8s_audit
"""
BASE = (
    "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
    "stdout_output:\n  enabled: false\n"
)


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


def _post(d: SentryDaemon, name: str) -> None:
    body = json.dumps(_event(name)).encode()
    assert d.request("/k8s-audit", body, {"Content-Type": "application/json"})[0] == 200


def _metrics(d: SentryDaemon) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in d.request("/metrics")[1].decode().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def _settled(d: SentryDaemon, key: str, value: float) -> dict[str, float]:
    """The metrics once ``key`` reads ``value`` (deliveries are asynchronous)."""
    deadline = time.monotonic() + 60
    while True:
        m = _metrics(d)
        if m.get(key) == value:
            return m
        assert time.monotonic() < deadline, m
        time.sleep(0.1)


def _file(path: Path) -> str:
    return f"file_output:\n  enabled: true\n  keep_alive: true\n  filename: {path}\n"


def _start(tmp: Path, config_text: str) -> tuple[SentryDaemon, Path]:
    rules = tmp / "rules.yaml"
    rules.write_text(RULES)
    config = tmp / "sentry.yaml"
    config.write_text(config_text)
    return SentryDaemon(
        ["-c", str(config), "-r", str(rules), "--disable-source", "syscall"]
    ), config


def _hup(d: SentryDaemon, pattern: str) -> str:
    mark = len(d.stderr)
    d.proc.send_signal(signal.SIGHUP)
    return d.wait_for(pattern, mark, timeout=60)


def test_sighup_rebuilds_changed_outputs_and_names_what_waits_for_a_restart(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    d, config = _start(tmp_path, BASE + _file(first))
    try:
        for i in range(5):
            _post(d, f"a{i}")
        # Another file, JSON alerts, and a web server port (which a reload cannot move).
        config.write_text(
            BASE.replace("listen_port: 0", "listen_port: 1") + _file(second) + "json_output: true\n"
        )
        _hup(d, r"rules reloaded")
        said = "".join(d.stderr)
        assert "configuration reloaded" in said and "outputs rebuilt: file" in said, said
        assert "only a restart applies: webserver.listen_port" in said, said
        for i in range(5):
            _post(d, f"b{i}")
        m = _settled(d, 'sentry_output_delivered_total{channel="file"}', 10)
    finally:
        code, _ = d.stop()
    assert code == 0
    # The first file took the alerts before the reload, as text; the second the rest, JSON.
    assert [ln.split("ns=")[1].rstrip(")") for ln in first.read_text().splitlines()] == [
        f"a{i}" for i in range(5)
    ]
    docs = [json.loads(ln) for ln in second.read_text().splitlines()]
    assert [doc["output_fields"]["ka.target.name"] for doc in docs] == [f"b{i}" for i in range(5)]
    # Counted across the swap: the drained output's 5 and the new one's 5.
    assert m['sentry_output_delivered_total{channel="file"}'] == 10
    assert m['sentry_rule_reloads_total{result="ok"}'] == 1


def test_sighup_adds_an_http_output_and_a_bad_file_keeps_the_running_ones(
    tmp_path: Path,
) -> None:
    alerts = tmp_path / "alerts.txt"
    received = tmp_path / "received.jsonl"
    with receiver_process(received) as (_proc, url):
        d, config = _start(tmp_path, BASE + _file(alerts))
        try:
            _post(d, "before")
            config.write_text(
                BASE + _file(alerts) + f"http_output:\n  enabled: true\n  url: {url}\n"
            )
            _hup(d, r"rules reloaded")
            assert any("outputs rebuilt: http" in ln for ln in d.stderr), "".join(d.stderr)
            _post(d, "after")
            # A configuration with a wrongly typed key: nothing changes, the failure is said
            # and counted.
            config.write_text(BASE + "file_output:\n  enabled: maybe\n")
            line = _hup(d, r"reload failed|rules reloaded")
            assert "reload failed" in line and "file_output.enabled" in line, line
            _post(d, "still")
            m = _settled(d, 'sentry_output_delivered_total{channel="http"}', 2)
        finally:
            code, _ = d.stop()
        assert code == 0
        names = [
            json.loads(ln)["output_fields"]["ka.target.name"]
            for ln in received.read_text().splitlines()
        ]
    assert names == ["after", "still"]
    assert [ln.split("ns=")[1].rstrip(")") for ln in alerts.read_text().splitlines()] == [
        "before",
        "after",
        "still",
    ]
    assert m['sentry_rule_reloads_total{result="ok"}'] == 1
    assert m['sentry_rule_reloads_total{result="failed"}'] == 1
    assert "Traceback" not in "".join(d.stderr)


def test_sighup_takes_the_new_priority_for_the_rules(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.txt"
    d, config = _start(tmp_path, BASE + _file(alerts))
    try:
        _post(d, "warned")
        config.write_text(BASE + _file(alerts) + "priority: error\n")  # drops the WARNING rule
        line = _hup(d, r"rules reloaded")
        assert "rules reloaded: 0 rules" in line, line
        _post(d, "filtered")
        config.write_text(BASE + _file(alerts) + "priority: warning\n")
        _hup(d, r"rules reloaded: 1 rules")
        _post(d, "again")
        _settled(d, 'sentry_output_delivered_total{channel="file"}', 2)
    finally:
        code, _ = d.stop()
    assert code == 0
    assert not any("only a restart applies" in ln for ln in d.stderr), "".join(d.stderr)
    names = [ln.split("ns=")[1].rstrip(")") for ln in alerts.read_text().splitlines()]
    assert names == ["warned", "again"]
