"""Webhook throughput: Kubernetes audit events per second through ``POST /k8s-audit`` to alerts.

Starts ``sentry run --disable-source syscall`` with its web server on 127.0.0.1 (port chosen
by the kernel), Sentry's k8s audit rules and alerts written to a file, then sends a bounded
number of audit events built from the conformance set's audit files (a mix of events that
raise alerts and events that do not) over keep-alive connections:

* ``single``     one Event per request (what a log shipper replaying a file does);
* ``eventlist``  EventLists of ``--batch`` events (what the API server's webhook does).

Before timing, ``sentry run -e`` on the same events counts the alerts they must raise; after,
SIGTERM drains the outputs and the alerts file must hold exactly that many (no loss).

Usage: python bench/webhook.py [--events N] [--batch B] [--clients C]
Prints events/s and alerts/s for each mode, and the loss check.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUDIT = Path(os.environ.get("SENTRY_CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
AUDIT = AUDIT / "falco-0.28.1" / "test" / "trace_files" / "k8s_audit"
RULES = ROOT / "rules" / "k8s_audit_rules.yaml"
SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]


def sample_events() -> list[dict[str, object]]:
    """Every audit event of the conformance files (the malformed one left out)."""
    events = []
    for path in sorted(AUDIT.glob("*.json")):
        for line in path.read_text().splitlines():
            if line.strip():
                doc = json.loads(line)
                if isinstance(doc, dict) and doc.get("kind") == "Event":
                    events.append(doc)
    return events


def expected_alerts(events: list[dict[str, object]], workdir: Path) -> int:
    """How many alerts ``sentry run -e`` raises for these events."""
    path = workdir / "events.json"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    proc = subprocess.run(
        [*SENTRY, "run", "-r", str(RULES), "-e", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sum(1 for line in proc.stdout.splitlines() if line.startswith("{"))


class Daemon:
    def __init__(self, workdir: Path):
        self.alerts = workdir / "alerts.txt"
        config = workdir / "sentry.yaml"
        config.write_text(
            "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
            "  max_body_bytes: 67108864\nstdout_output:\n  enabled: false\n"
            f"file_output:\n  enabled: true\n  keep_alive: true\n  filename: {self.alerts}\n"
            "buffered_outputs: true\njson_output: true\n"
        )
        self.proc = subprocess.Popen(
            [*SENTRY, "run", "-c", str(config), "-r", str(RULES), "--disable-source", "syscall"],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        self.port = 0
        for line in self.proc.stderr:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found.group(1))
                break
        if not self.port:
            raise SystemExit("sentry run did not start its web server")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(300)
        return sum(1 for _ in self.alerts.open()) if self.alerts.exists() else 0


def send(port: int, bodies: list[bytes]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    for body in bodies:
        conn.request("POST", "/k8s-audit", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"webhook answered {resp.status}")
    conn.close()


def run_mode(
    name: str, bodies: list[bytes], n_events: int, expected: int, clients: int, workdir: Path
) -> bool:
    daemon = Daemon(workdir)
    shares = [bodies[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=send, args=(daemon.port, s)) for s in shares]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    got = daemon.stop()
    ok = got == expected
    print(
        f"{name:10s} {n_events:8d} events in {elapsed:7.2f} s: {n_events / elapsed:9.0f} "
        f"events/s, {got / elapsed:8.0f} alerts/s; alerts {got}/{expected} "
        f"{'(no loss)' if ok else '(LOST ' + str(expected - got) + ')'}"
    )
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=20000, help="events per mode")
    ap.add_argument("--batch", type=int, default=100, help="events per EventList")
    ap.add_argument("--clients", type=int, default=2, help="concurrent connections")
    args = ap.parse_args()
    sample = sample_events()
    events = [sample[i % len(sample)] for i in range(args.events)]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        expected = expected_alerts(events, workdir)
        single = [json.dumps(e).encode() for e in events]
        lists = [
            json.dumps(
                {
                    "kind": "EventList",
                    "apiVersion": "audit.k8s.io/v1",
                    "items": events[i : i + args.batch],
                }
            ).encode()
            for i in range(0, len(events), args.batch)
        ]
        print(
            f"{len(sample)} distinct audit events, {args.events} sent per mode, "
            f"{expected} alerts expected, {args.clients} clients"
        )
        ok = run_mode("single", single, len(events), expected, args.clients, workdir)
        (workdir / "alerts.txt").unlink(missing_ok=True)
        ok = run_mode("eventlist", lists, len(events), expected, args.clients, workdir) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
