"""Live through the eBPF probe: ``sentry run --driver ebpf`` as a daemon, its Falco-named
metrics read over real HTTP while a rule fires; ``sentry tail --driver ebpf`` printing the
events a filter selects."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sentry_daemon import SENTRY, SentryDaemon

pytestmark = pytest.mark.root


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


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


@pytest.mark.userspace  # metric names: the kernel matrix in qemu does not repeat it
def test_daemon_metrics_carry_falcos_names_live(tmp_path: Path) -> None:
    marker = tmp_path / "metrics-marker"
    marker.write_text("x")
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""
- rule: Marker Opened
  desc: the test's marker file was opened
  condition: evt.type in (open, openat) and evt.dir=< and fd.name={marker}
  output: marker opened (proc=%proc.name file=%fd.name)
  priority: WARNING
  tags: [test, marker]
""")
    config = tmp_path / "sentry.yaml"
    config.write_text(
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
    )
    daemon = SentryDaemon(
        ["-c", str(config), "-r", str(rules), "--driver", "ebpf"], start_timeout=120
    )
    key = (
        "sentry_rules_matches_total",
        frozenset(
            {
                "rule_name": "Marker Opened",
                "priority": "4",
                "source": "syscall",
                "tags": "marker, test",
            }.items()
        ),
    )
    try:
        deadline = time.monotonic() + 90
        got: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        while time.monotonic() < deadline:
            subprocess.run(["cat", str(marker)], check=True, capture_output=True)
            status, body = daemon.request("/metrics")
            assert status == 200
            got = samples(body.decode())
            if got.get(key, 0) >= 1:
                break
            time.sleep(0.5)
        assert got.get(key, 0) >= 1, sorted(n for n, _ in got if n.startswith("sentry_rules"))
    finally:
        code, out = daemon.stop()
    assert code == 0
    assert "marker opened (proc=cat" in out

    def value(name: str, **labels: str) -> float:
        return got[(name, frozenset(labels.items()))]

    assert value("sentry_engine_name_info", engine_name="ebpf", evt_source="syscall") == 1
    # The driver's own count: every event it wrote, at least those the engine took.
    assert value("sentry_n_evts_total") >= value("sentry_events_total", source="syscall") > 0
    drops = value("sentry_n_drops_total")
    assert drops >= value("sentry_n_drops_buffer_total", dir="all", drop="all") + value(
        "sentry_n_drops_bug_total"
    )
    assert drops == sum(
        v
        for (n, labels), v in got.items()
        if n == "sentry_event_drops_total"
        and dict(labels)["cause"] in ("buffer", "bug", "preemption")
    )
    assert value("sentry_outputs_queue_num_drops_total") == 0
    assert value("sentry_memory_rss_bytes") > 10 * 2**20


def test_tail_reads_live_events_from_the_driver_it_is_given(tmp_path: Path) -> None:
    marker = tmp_path / "tail-marker"
    marker.write_text("x")
    tail = subprocess.Popen(
        [
            *SENTRY,
            "tail",
            "--driver",
            "ebpf",
            "-p",
            "%proc.name %fd.name",
            f"evt.type in (open, openat) and evt.dir=< and fd.name={marker}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert tail.stdout is not None
        for line in tail.stdout:
            lines.append(line.rstrip("\n"))
            seen.set()

    def cat_until_a_line(start: int) -> None:
        seen.clear()
        deadline = time.monotonic() + 90
        while len(lines) <= start and time.monotonic() < deadline and tail.poll() is None:
            subprocess.run(["cat", str(marker)], check=True, capture_output=True)
            seen.wait(0.5)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # Until tail prints, its driver may still be starting: a cat alive across that
        # moment has its execve before the capture and may end before tail reads /proc for
        # it (<NA>, as sysdig). A cat started after the first line is wholly captured.
        cat_until_a_line(0)
        first = len(lines)
        cat_until_a_line(first)
        time.sleep(1)
    finally:
        tail.terminate()
        _, err = tail.communicate(timeout=60)
    assert lines, f"tail printed nothing; stderr: {err}"
    assert len(lines) > first, f"nothing after the first line {lines}; stderr: {err}"
    assert lines[first:] == [f"cat {marker}"] * (len(lines) - first), lines
    assert "Traceback" not in err
