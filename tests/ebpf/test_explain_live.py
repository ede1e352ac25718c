"""``sentry run --explain`` live through the eBPF probe: the alert JSON carries the tree,
with the clause values read at the live event."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

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


def test_live_alert_json_explains_its_clauses(tmp_path: Path) -> None:
    marker = tmp_path / "explain-marker"
    marker.write_text("x")
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""
- list: readers
  items: [cat, head]
- rule: Marker Read
  desc: the marker read by a reader
  condition: >
    evt.type in (open, openat) and evt.dir=< and fd.name={marker}
    and proc.name in (readers)
  output: marker read (proc=%proc.name)
  priority: WARNING
""")
    config = tmp_path / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
    )
    daemon = SentryDaemon(
        ["-c", str(config), "-r", str(rules), "--driver", "ebpf", "--json", "--explain"],
        start_timeout=120,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            subprocess.run(["cat", str(marker)], check=True, capture_output=True)
            _, body = daemon.request("/metrics")
            if 'sentry_alerts_total{priority="Warning",rule="Marker Read"}' in body.decode():
                break
            time.sleep(0.5)
    finally:
        code, out = daemon.stop()
    assert code == 0
    alert = json.loads(next(line for line in out.splitlines() if "Marker Read" in line))
    clauses = {n["clause"]: n for n in alert["explain"]["children"]}
    assert clauses[f"fd.name = {marker}"]["fields"] == {"fd.name": str(marker)}
    reader = clauses["proc.name in (readers)"]
    assert reader["value"] is True and reader["via"] == "cat in list readers"
