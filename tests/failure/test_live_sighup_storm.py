"""A SIGHUP every 0.2 s for 20 s under live eBPF load (root): no alert of a steady activity
is lost that the same run without SIGHUPs alerts.

One `sentry run --driver ebpf` on the default rules plus one rule for the steady activity (a
process creating a uniquely named file every 50 ms), with a background load of open/close
calls that the default rules evaluate. The same daemon runs two phases of the same length:
first without signals (the baseline), then with a SIGHUP every 0.2 s. Each phase's files
carry its name, so the alerts of each are counted apart after the daemon has drained its
outputs. No time is asserted: the storm phase must alert at least as many of its files as
the baseline did (before the fix, a reload regenerated the rules' programs on the reader's
thread, and the reader fell behind the rings: a quarter of the alerts were lost).

The load runs at a fixed rate (``SENTRY_STORM_LOAD`` open+close pairs a second, default
10000: ~31k events/s evaluated with the host's own activity, the rate the reader keeps up
with here today on a machine shared with other work; the throughput issue's target rate is
not reached yet, so this is the rate of today), ``SENTRY_STORM_SECONDS`` (20) each phase.
At 5000 pairs a second the tree before the fix lost alerts only when the machine was busy;
at 10000 it loses them every time (289/400, 335k drops).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import sentry

pytestmark = pytest.mark.root

# The default rules of the sentry under test (its checkout's rules/).
DEFAULT_RULES = Path(sentry.__file__).resolve().parents[2] / "rules" / "sentry_rules.yaml"
SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
SECONDS = float(os.environ.get("SENTRY_STORM_SECONDS", "20"))
LOAD = int(os.environ.get("SENTRY_STORM_LOAD", "10000"))
PERIOD = 0.05  # one steady file every 50 ms: 20 alerts a second
STEADY_RULE = """
- rule: Steady Activity
  desc: a file created by the steady activity of the SIGHUP storm test
  condition: evt.type in (open, openat, creat) and evt.dir = < and fd.name startswith {prefix}
  output: steady (file=%fd.name)
  priority: WARNING
"""
# The steady process: one new file every PERIOD s, on a fixed clock (no drift), N files.
STEADY = """
import os, sys, time
prefix, n, period = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
start = time.monotonic()
for i in range(n):
    delay = start + i * period - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    os.close(os.open(f"{prefix}{i}", os.O_WRONLY | os.O_CREAT, 0o600))
"""
# The background: open+close of /dev/null, RATE pairs a second in 10 ms slices, until killed.
LOAD_SCRIPT = """
import os, sys, time
per_slice = max(1, int(sys.argv[1]) // 100)
tick = time.monotonic()
while True:
    for _ in range(per_slice):
        os.close(os.open("/dev/null", os.O_RDONLY))
    tick += 0.01
    delay = tick - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""


def _live_or_skip() -> None:
    reason = None
    if os.geteuid() != 0:
        reason = "live eBPF capture needs root"
    elif not os.path.exists("/sys/kernel/btf/vmlinux"):
        reason = "kernel without BTF: the eBPF probe cannot run"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


class Live:
    """The daemon, its stderr collected; alerts go to a JSON file."""

    def __init__(self, tmp: Path, prefix: str):
        self.alerts = tmp / "alerts.json"
        rules = tmp / "steady.yaml"
        rules.write_text(STEADY_RULE.format(prefix=prefix))
        config = tmp / "sentry.yaml"
        config.write_text(
            "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
            "stdout_output:\n  enabled: false\njson_output: true\n"
            f"file_output:\n  enabled: true\n  keep_alive: true\n  filename: {self.alerts}\n"
            "container_engines:\n  docker:\n    enabled: false\n  podman:\n    enabled: false\n"
            "  cri:\n    enabled: false\n"
        )
        # The steady rule first: the first matching rule in file order raises the alert.
        args = [
            "run",
            "--driver",
            "ebpf",
            "-c",
            str(config),
            "-r",
            str(rules),
            "-r",
            str(DEFAULT_RULES),
        ]
        self.proc = subprocess.Popen(
            SENTRY + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.stderr: list[str] = []
        self.port = 0
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(180) or self.proc.poll() is not None or not self.port:
            self.stop()
            pytest.fail("sentry run did not start capturing:\n" + "".join(self.stderr))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        capturing = False
        for line in self.proc.stderr:
            self.stderr.append(line)
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found.group(1))
            if "capturing live" in line:
                capturing = True
            if capturing and self.port:
                self._ready.set()
        self._ready.set()

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

    def files_alerted(self) -> list[str]:
        if not self.alerts.exists():
            return []
        alerts = [json.loads(line) for line in self.alerts.read_text().splitlines()]
        # The default rules also alert on whatever else this host does: not counted here.
        return [a["output_fields"]["fd.name"] for a in alerts if a["rule"] == "Steady Activity"]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9


def _steady(prefix: str, n: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", STEADY, prefix, str(n), str(PERIOD)])


def _caught_up(live: Live, mark: str) -> None:
    """Make files named ``mark``N until one alerts: the reader has read what came before."""
    for i in range(600):
        _steady(f"{mark}{i}-", 1).wait(30)
        time.sleep(0.1)
        if any(f.startswith(mark) for f in live.files_alerted()):
            return
    pytest.fail(f"no alert of {mark}* at all:\n" + "".join(live.stderr[-20:]))


def _drops(m: dict[str, float]) -> float:
    return sum(v for k, v in m.items() if k.startswith("sentry_event_drops_total"))


def test_a_sighup_storm_under_live_load_loses_no_alert_the_baseline_has(tmp_path: Path) -> None:
    _live_or_skip()
    files = tmp_path / "steady"
    files.mkdir()
    prefix = f"{files}/"
    live = Live(tmp_path, prefix)
    load: subprocess.Popen[bytes] | None = None
    try:
        _caught_up(live, f"{prefix}warm-")  # the alert path works before the phases
        load = subprocess.Popen([sys.executable, "-c", LOAD_SCRIPT, str(LOAD)])
        n = int(SECONDS / PERIOD)
        before = live.metrics()
        assert _steady(f"{prefix}calm-", n).wait(SECONDS * 3 + 60) == 0
        _caught_up(live, f"{prefix}calm-mark-")
        calm = live.metrics()
        storm = _steady(f"{prefix}storm-", n)
        hups = 0
        while storm.poll() is None:
            live.proc.send_signal(signal.SIGHUP)
            hups += 1
            time.sleep(0.2)
        assert storm.wait() == 0
        # The phase's last events may still wait in the rings (read, not lost): a file
        # made after the phase must have alerted before the daemon is stopped.
        _caught_up(live, f"{prefix}storm-mark-")
        after = live.metrics()
    finally:
        if load is not None:
            load.kill()
            load.wait()
        code = live.stop()
    assert code == 0, "".join(live.stderr[-30:])
    alerted = live.files_alerted()
    got_calm = sum(1 for f in alerted if re.match(re.escape(prefix) + r"calm-\d+$", f))
    got_storm = sum(1 for f in alerted if re.match(re.escape(prefix) + r"storm-\d+$", f))
    reloads = after.get('sentry_rule_reloads_total{result="ok"}', 0.0)
    report = (
        f"{n} files a phase; alerts without SIGHUPs {got_calm}, with {hups} SIGHUPs "
        f"{got_storm}; {reloads:.0f} reloads; drops {_drops(calm) - _drops(before):.0f}"
        f" / {_drops(after) - _drops(calm):.0f}; evaluated "
        f"{calm['sentry_evaluated_events_total'] - before['sentry_evaluated_events_total']:.0f}"
        f" / {after['sentry_evaluated_events_total'] - calm['sentry_evaluated_events_total']:.0f}"
    )
    print(report)
    assert after.get('sentry_rule_reloads_total{result="failed"}', 0.0) == 0, report
    assert reloads >= 2, report  # the storm reloaded (back to back: each takes ~0.7 s here)
    assert got_calm > 0, report
    if got_storm < got_calm and _drops(calm) > _drops(before):
        # The reader could not keep up even without signals (the machine is overloaded by
        # other work): the baseline is not one to compare a storm against.
        pytest.skip(f"the calm phase itself dropped events: no baseline ({report})")
    assert got_storm >= got_calm, report
