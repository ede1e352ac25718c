"""Falco's Prometheus metric names (``falcosecurity_falco_*`` / ``falcosecurity_scap_*``,
Falco >= 0.38) under Sentry's prefix, read over real HTTP from a running daemon (the audit
webhook only: no driver), beside the names Sentry had before."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sentry_daemon import SentryDaemon

RULES = """
- rule: Namespace Created
  desc: test rule
  condition: ka.verb=create and ka.target.resource=namespaces
  output: namespace created (user=%ka.user.name ns=%ka.target.name)
  priority: WARNING
  source: k8s_audit
  tags: [k8s, namespaces, audit]
- rule: Secret Read
  desc: never raised here
  condition: ka.verb=get and ka.target.resource=secrets
  output: secret read (user=%ka.user.name)
  priority: NOTICE
  source: k8s_audit
"""


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_falco_named_metrics_from_a_running_daemon(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    config = tmp_path / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n"
        "  listen_port: 0\nstdout_output:\n  enabled: false\n"
    )
    daemon = SentryDaemon(["-c", str(config), "-r", str(rules), "--disable-source", "syscall"])
    try:
        for name in ("a", "b", "c"):
            event = {
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
            status, _ = daemon.request(
                "/k8s-audit", json.dumps(event).encode(), {"Content-Type": "application/json"}
            )
            assert status == 200
        status, body = daemon.request("/metrics")
        assert status == 200
        text = body.decode()
        got = samples(text)
    finally:
        assert daemon.stop()[0] == 0

    def value(name: str, **labels: str) -> float:
        return got[(name, frozenset(labels.items()))]

    # Falco's rule counter: rule_name, the priority as a number, source, sorted tags.
    assert (
        value(
            "sentry_rules_matches_total",
            rule_name="Namespace Created",
            priority="4",
            source="k8s_audit",
            tags="audit, k8s, namespaces",
        )
        == 3
    )
    assert (
        value(
            "sentry_rules_matches_total",
            rule_name="Secret Read",
            priority="5",
            source="k8s_audit",
            tags="",
        )
        == 0
    )
    assert "# TYPE sentry_rules_matches_total counter" in text
    version = (Path(__file__).resolve().parents[3] / "driver" / "VERSION").read_text().strip()
    assert value("sentry_version_info", version=version) == 1
    assert value("sentry_kernel_release_info", kernel_release=os.uname().release) == 1
    assert value("sentry_outputs_queue_num_drops_total") == 0
    assert value("sentry_host_num_cpus_total") == os.cpu_count()
    assert 0 < value("sentry_cpu_usage_ratio") < (os.cpu_count() or 1)
    assert value("sentry_memory_rss_bytes") > 10 * 2**20
    assert value("sentry_memory_vsz_bytes") >= value("sentry_memory_rss_bytes")
    assert value("sentry_duration_seconds_total") >= 0
    assert value("sentry_start_timestamp_nanoseconds") > 1.7e18
    # No driver here: the driver's counters are absent, not zero.
    assert not any(name.startswith("sentry_n_") for name, _ in got)
    assert not any(name == "sentry_engine_name_info" for name, _ in got)
    # The names Sentry had before stay.
    assert value("sentry_alerts_total", rule="Namespace Created", priority="Warning") == 3
    assert re.search(r'^sentry_events_total\{source="k8s_audit"\} 3\.0$', text, re.M)
