"""The flood attack (issue 12): one process floods syscalls at full speed and, in the middle
of the flood, does what the default rules exist to catch. Every one of those actions must
alert: an attacker who could blind Sentry by making noise first would have a free hand.

``sentry run --driver ebpf`` with the default rules watches the whole host, as deployed.
The attacker is a small C program named ``nginx`` (so that its shell is a web server's).
Its flood is benign syscalls a busy program makes (getppid, fstat, read of /dev/zero,
write to /dev/null, lseek: ~0.8 M events/s here) which no rule and no state needs, so the
interest set pushed into the probe (``sentry rules list --syscalls``) leaves them in the
kernel and the flood costs the reader nothing. ROUNDS times spread over the flood, without
slowing it otherwise, it:

* opens a file below /etc for writing (``File Written Below Etc``),
* opens /etc/shadow for reading (``Password File Read By Unexpected Program``),
* forks a shell (``Shell Spawned By Web Server``).

The same attack with a flood of open+close of /dev/null (``opens``): syscalls the
interest set must carry, since rules look at opens. No loaded rule can match an open of
/dev/null (``sentry/rules/quiet.py`` proves it from the rules), so the probe holds each
such open back and drops it with its close (``driver/bpf/probe_quiet.h``): the flood is
counted as suppressed (``sentry_n_suppressed_quiet``), not written and not dropped.
Both floods run by default (``SENTRY_FLOOD=ignored`` or ``=opens`` picks one).

Attribution: the /etc file's name and the attacker's argv carry a token unique to this
run; only alerts naming it are counted (other tests may run on the host beside this one).
When alerts are missing the failure says how many events the probe dropped meanwhile.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sentry_daemon import SentryDaemon

pytestmark = pytest.mark.root

ROUNDS = 4
SECONDS = 10.0

ATTACKER_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *etc_file = argv[2];
	double seconds = atof(argv[3]), t0, t;
	int rounds = atoi(argv[4]), opens = !strcmp(argv[5], "opens"), done = 0, fd, j;
	int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
	long calls = 0;
	char go, buf[64];
	struct stat st;
	pid_t pid;

	if (read(0, &go, 1) != 1)
		return 1;
	t0 = now();
	while ((t = now()) - t0 < seconds) {
		if (opens) {
			for (j = 0; j < 256; j++)
				close(open("/dev/null", O_RDONLY));
			calls += 2 * 256;
		} else {
			for (j = 0; j < 256; j++) {
				getppid();
				fstat(zero, &st);
				if (read(zero, buf, sizeof(buf)) < 0)
					return 5;
				if (write(null, buf, sizeof(buf)) < 0)
					return 6;
				lseek(zero, 0, SEEK_SET);
			}
			calls += 5 * 256;
		}
		if (done < rounds && t - t0 >= (done + 1) * seconds / (rounds + 1)) {
			fd = open(etc_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || write(fd, "x\n", 2) != 2)
				return 2;
			close(fd);
			fd = open("/etc/shadow", O_RDONLY);
			if (fd < 0)
				return 3;
			close(fd);
			pid = fork();
			if (pid == 0) {
				execl("/bin/sh", "sh", "-c", ":", (char *)NULL);
				_exit(127);
			}
			if (pid < 0 || waitpid(pid, NULL, 0) != pid)
				return 4;
			done++;
		}
	}
	printf("%ld %d %.3f\n", calls, done, now() - t0);
	return 0;
}
"""


@pytest.fixture(autouse=True)
def _need_ebpf() -> None:
    from needs import need_ebpf

    need_ebpf()


WANT = {
    "File Written Below Etc": ROUNDS,
    "Password File Read By Unexpected Program": ROUNDS,
    "Shell Spawned By Web Server": ROUNDS,
}


def counters(daemon: SentryDaemon) -> tuple[float, float, float, dict[str, float], float]:
    """(events the driver wrote, events it dropped, syscall events read, alerts of the
    expected rules, quiet opens and closes left out) so far: the daemon's /metrics."""
    status, body = daemon.request("/metrics")
    assert status == 200
    got: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    matches: dict[str, float] = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            got[(s.name, tuple(sorted(s.labels.items())))] = s.value
            if s.name == "sentry_rules_matches_total" and s.labels["rule_name"] in WANT:
                matches[s.labels["rule_name"]] = s.value
    return (
        got.get(("sentry_n_evts_total", ()), 0.0),
        got.get(("sentry_n_drops_total", ()), 0.0),
        got.get(("sentry_events_total", (("source", "syscall"),)), 0.0),
        matches,
        got.get(("sentry_n_suppressed_quiet_total", ()), 0.0),
    )


@pytest.mark.parametrize("flood", os.environ.get("SENTRY_FLOOD", "ignored,opens").split(","))
def test_every_suspicious_action_inside_a_syscall_flood_alerts(tmp_path: Path, flood: str) -> None:
    token = f"sentry-flood-{uuid.uuid4().hex[:12]}"
    etc_file = Path("/etc") / token
    exe = tmp_path / "nginx"
    src = tmp_path / "attacker.c"
    src.write_text(ATTACKER_C)
    subprocess.run(["cc", "-O2", "-Wall", "-o", str(exe), str(src)], check=True)
    config = tmp_path / "sentry.yaml"
    config.write_text(
        "json_output: true\n"
        "webserver:\n  enabled: true\n  listen_address: 127.0.0.1\n  listen_port: 0\n"
    )
    daemon = SentryDaemon(["-c", str(config), "--driver", "ebpf"], start_timeout=120)
    try:
        before = counters(daemon)
        attacker = subprocess.Popen(
            [str(exe), token, str(etc_file), str(SECONDS), str(ROUNDS), flood],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        out, _ = attacker.communicate("g", timeout=SECONDS + 60)
        assert attacker.returncode == 0, f"the attacker failed ({attacker.returncode})"
        calls, done, wall = out.split()
        assert int(done) == ROUNDS
        # Until the reader has caught up: the rules' counters (any process's) show as many
        # alerts as we expect, or its count of events read stops moving, or 60 s.
        after, end = counters(daemon), time.monotonic() + 60
        while time.monotonic() < end:
            if all(after[3].get(r, 0) - before[3].get(r, 0) >= n for r, n in WANT.items()):
                break
            time.sleep(1.0)
            now = counters(daemon)
            if now[2] == after[2]:
                break
            after = now
    finally:
        code, stdout = daemon.stop()
        etc_file.unlink(missing_ok=True)
    assert code == 0
    alerts = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    ours = [a for a in alerts if token in a.get("output", "")]
    by_rule: dict[str, int] = {}
    for a in ours:
        by_rule[a["rule"]] = by_rule.get(a["rule"], 0) + 1
    written, dropped = after[0] - before[0], after[1] - before[1]
    quiet = after[4] - before[4]
    events = int(calls) * 2  # the flood's syscalls, enter and exit
    want = WANT
    got = {rule: by_rule.get(rule, 0) for rule in want}
    print(  # the figures, for -s / -rP: this is the measurement too
        f"flood {flood}: {events:,} events in {float(wall):.1f} s; the probe wrote "
        f"{written:,.0f} (all processes), dropped {dropped:,.0f}, left out as quiet "
        f"{quiet:,.0f}; alerts {got}"
    )
    assert got == want, (
        f"suspicious actions that did not alert: got {got}, want {want}; the flood made "
        f"{events:,} events in {float(wall):.1f} s ({events / float(wall):,.0f}/s); meanwhile "
        f"the probe wrote {written:,.0f} events and dropped {dropped:,.0f} "
        f"({100 * dropped / max(1.0, written + dropped):.1f} %)"
        + (" -- lost to drops" if dropped else "")
    )
    if flood == "opens":
        # The flood's opens of /dev/null and their closes are left out in the kernel, and
        # counted (suppressed, not dropped): all of them, less a few around the actions.
        assert quiet >= 0.99 * events, (
            f"the probe left out {quiet:,.0f} quiet opens/closes of the flood's {events:,}"
        )
