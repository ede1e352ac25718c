"""``sentry run --rule-stats`` live through the eBPF probe: per-rule evaluations, matches and
CPU on ``/metrics`` (real HTTP), the table on SIGUSR1 and at exit."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sentry_daemon import SentryDaemon

# Sentry's userspace over the live probe: the kernel matrix in qemu does not repeat it.
pytestmark = [pytest.mark.root, pytest.mark.userspace]


@pytest.fixture(autouse=True)
def _need_ebpf() -> None:
    reason = None
    if os.geteuid() != 0:
        reason = "eBPF capture needs root"
    elif not os.path.exists("/sys/kernel/btf/vmlinux"):
        reason = "kernel without BTF (/sys/kernel/btf/vmlinux)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def per_rule(text: str, name: str) -> dict[str, float]:
    return {
        s.labels["rule_name"]: s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == name
    }


def test_rule_cost_on_metrics_and_on_sigusr1_live(tmp_path: Path) -> None:
    marker = tmp_path / "cost-marker"
    marker.write_text("x")
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""
- rule: Marker Opened
  desc: the test's marker file was opened
  condition: evt.type in (open, openat) and evt.dir=< and fd.name={marker}
  output: marker opened (proc=%proc.name file=%fd.name)
  priority: WARNING
- rule: Never Matches
  desc: evaluated on every open, never true
  condition: evt.type in (open, openat) and fd.name=/nonexistent/{marker.name}
  output: never
  priority: DEBUG
""")
    config = tmp_path / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
    )
    daemon = SentryDaemon(
        ["-c", str(config), "-r", str(rules), "--driver", "ebpf", "--rule-stats"], start_timeout=120
    )
    try:
        deadline = time.monotonic() + 90
        matches: dict[str, float] = {}
        while time.monotonic() < deadline:
            subprocess.run(["cat", str(marker)], check=True, capture_output=True)
            status, body = daemon.request("/metrics")
            assert status == 200
            text = body.decode()
            matches = per_rule(text, "sentry_rule_matches_total")
            if matches.get("Marker Opened", 0) >= 1:
                break
            time.sleep(0.5)
        assert matches.get("Marker Opened", 0) >= 1, text[-2000:]
        evaluations = per_rule(text, "sentry_rule_evaluations_total")
        cpu = per_rule(text, "sentry_rule_cpu_seconds_total")
        assert evaluations["Marker Opened"] >= matches["Marker Opened"]
        assert evaluations["Never Matches"] >= 1 and matches["Never Matches"] == 0
        assert cpu["Marker Opened"] > 0 and cpu["Never Matches"] > 0
        start = len(daemon.stderr)
        daemon.proc.send_signal(signal.SIGUSR1)
        daemon.wait_for(r"^Rule cost: 2 rules, \d+ events evaluated", start=start, timeout=30)
        daemon.wait_for(r"Marker Opened$", start=start, timeout=30)
    finally:
        code, out = daemon.stop()
    assert code == 0
    assert "marker opened (proc=cat" in out
    tail = "".join(daemon.stderr)
    assert tail.count("Rule cost: 2 rules") >= 2  # SIGUSR1's, and the one at exit
