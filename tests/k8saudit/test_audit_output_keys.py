"""The ``output_fields`` keys of k8s audit alerts follow the rules' engine version (issue 15),
through a real ``sentry run`` web server and ``POST /k8s-audit``.

Falco 0.28.1's json event formatter keyed a field by its name without the argument and
stamped the alert with ``%jevt.time`` (text); today's Falco, whose k8saudit plugin fields go
through libs' event formatter, keys each field as written (``ka.uri.param[command]``, the
token of the rule's output) and stamps every source with ``%evt.time`` (``evt.time.iso8601``
under ``time_format_iso_8601``), whose JSON value is the time in ns. Rules requiring an
engine after 0.28.1's get today's keys; 0.28.1's conformance cases keep theirs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sentry.rules.alert import iso_utc
from sentry_daemon import SentryDaemon

RULES = """\
- required_engine_version: {version}
- rule: Exec into pod
  desc: an exec into a pod
  condition: ka.target.subresource=exec
  output: "exec %ka.uri.param[command] into %jevt.value[/objectRef/name] by %ka.user.name"
  priority: NOTICE
  source: k8s_audit
"""

EXEC = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "level": "Request",
    "auditID": "5b0c8a52-6f7e-4d3c-9a35-8d3c0f2b1e11",
    "stage": "ResponseStarted",
    "requestURI": "/api/v1/namespaces/default/pods/web/exec?command=sh&container=app&tty=true",
    "verb": "create",
    "user": {"username": "dev", "groups": ["system:authenticated"]},
    "sourceIPs": ["10.20.0.7"],
    "objectRef": {"resource": "pods", "namespace": "default", "name": "web", "subresource": "exec"},
    "responseStatus": {"metadata": {}, "code": 101},
    "requestReceivedTimestamp": "2026-12-02T10:15:00.120000Z",
    "stageTimestamp": "2026-12-02T10:15:00.160000Z",
}


def alert_of(tmp_path: Path, version: str, iso8601: bool = False) -> dict[str, Any]:
    """The one alert of the exec event POSTed to a daemon running rules of ``version``."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(version=version))
    config = tmp_path / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
        f"time_format_iso_8601: {'true' if iso8601 else 'false'}\n"
    )
    args = ["-c", str(config), "--json", "--disable-source", "syscall", "-r", str(rules)]
    daemon = SentryDaemon(args, cwd=tmp_path, start_timeout=120)
    try:
        status, body = daemon.request(
            "/k8s-audit", json.dumps(EXEC).encode(), {"Content-Type": "application/json"}
        )
        assert status == 200 and json.loads(body).get("events") == 1, body
    finally:
        code, out = daemon.stop()  # SIGTERM drains the outputs
    assert code == 0, "".join(daemon.stderr)
    alerts = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(alerts) == 1, out
    return alerts[0]


@pytest.mark.parametrize("version", ["2", "9"])  # our rules file's, Falco 0.28.1's
def test_rules_of_0_28_1_keep_its_keys(tmp_path: Path, version: str) -> None:
    alert = alert_of(tmp_path, version)
    fields = alert["output_fields"]
    assert sorted(fields) == ["jevt.time", "jevt.value", "ka.uri.param", "ka.user.name"]
    assert fields["ka.uri.param"] == "sh" and fields["jevt.value"] == "web"
    assert alert["output"].startswith(fields["jevt.time"] + ": Notice exec sh into web by dev")


@pytest.mark.parametrize("version", ["15", "0.57.0"])  # today's k8saudit rules, falco_rules
def test_todays_rules_get_todays_keys(tmp_path: Path, version: str) -> None:
    alert = alert_of(tmp_path, version)
    fields = alert["output_fields"]
    assert sorted(fields) == [
        "evt.time",
        "jevt.value[/objectRef/name]",
        "ka.uri.param[command]",
        "ka.user.name",
    ]
    assert fields["ka.uri.param[command]"] == "sh"
    assert fields["jevt.value[/objectRef/name]"] == "web"
    assert isinstance(fields["evt.time"], int) and iso_utc(fields["evt.time"]) == alert["time"]
    assert alert["output"].endswith(": Notice exec sh into web by dev")


def test_todays_keys_with_iso_8601_time(tmp_path: Path) -> None:
    alert = alert_of(tmp_path, "15", iso8601=True)
    fields = alert["output_fields"]
    assert "evt.time" not in fields and "jevt.time.iso8601" not in fields
    assert iso_utc(fields["evt.time.iso8601"]) == alert["time"]
