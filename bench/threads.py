"""Memory of the thread table: RSS with 10 k live threads tracked, live through eBPF.

Issue 12's memory target: with 10 k live threads tracked, the reader stays within 150 MB
RSS. This process runs the pipeline as ``sentry run`` does (the default interest set,
``Inspector.from_host()``, the default rules in the Pipeline) over the live eBPF probe; a small
C program then forks P processes of T threads each (default 10 x 1000), every thread
blocked on a pipe, each process holding a few open files. The reader drains their clone
events until the table holds them all, then RSS is read again.

Two ways in are measured in one run:

* ``live``  the threads are born while the reader runs (clone events build the table);
* ``/proc`` a second reader starts with them already running (``Inspector.from_host()``
            reads them from /proc, as ``sentry run`` at start-up).

Printed: threads in the table, RSS before and after, the growth per tracked thread, and
RSS against the 150 MB target (a same-run figure, not a timed assertion).

Usage: python bench/threads.py [--processes P] [--threads T]  (root)
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SPAWN_C = r"""
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int gate[2];

static void *park(void *arg)
{
	char c;

	(void)arg;
	while (read(gate[0], &c, 1) < 0)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	int procs = atoi(argv[1]), threads = atoi(argv[2]), p, t, ready[2];
	char c;

	if (pipe(ready))
		return 1;
	for (p = 0; p < procs; p++) {
		if (fork() == 0) {
			pthread_attr_t attr;
			pthread_t th;

			if (pipe(gate))
				_exit(1);
			open("/etc/hostname", O_RDONLY);
			open("/dev/null", O_WRONLY);
			pthread_attr_init(&attr);
			pthread_attr_setstacksize(&attr, 64 << 10);
			for (t = 1; t < threads; t++)	/* the main thread is one of them */
				if (pthread_create(&th, &attr, park, NULL))
					_exit(2);
			write(ready[1], "r", 1);
			read(0, &c, 1);	/* until the bench closes our stdin */
			_exit(0);
		}
	}
	for (p = 0; p < procs; p++)
		if (read(ready[0], &c, 1) != 1)
			return 3;
	printf("ready\n");
	fflush(stdout);
	read(0, &c, 1);
	while (wait(NULL) > 0)
		;
	return 0;
}
"""


def rss_mb() -> float:
    """This process's resident set now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pipeline() -> tuple[Any, Any, Any, set[int]]:
    """(engine, inspector, source, interest) as ``sentry run`` builds them."""
    from sentry.capture.drivers import open_live
    from sentry.cli.run import default_rules, load_checked
    from sentry.inspect.inspector import Inspector
    from sentry.pipeline import Pipeline, PipelineOptions, live_interest
    from sentry.rules.ruleset import Selection

    ruleset = load_checked(default_rules(), Selection())
    inspector = Inspector.from_host()
    engine = Pipeline(ruleset, lambda _alert: None, PipelineOptions())
    interest = live_interest(ruleset, inspector) or set()
    return engine, inspector, open_live("ebpf", interest=interest), interest


class Until:
    """A source that ends once ``done()`` holds (checked after each batch) or on timeout."""

    def __init__(self, source: Any, done: Any, seconds: float = 120.0):
        self.source, self.done, self.end = source, done, time.monotonic() + seconds

    def stats(self) -> Any:
        return self.source.stats()

    def batches(self) -> Any:
        for batch in self.source.batches():
            yield batch
            if self.done() or time.monotonic() > self.end:
                return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1000, help="per process")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/threads.py needs root", file=sys.stderr)
        return 2
    total = args.processes * args.threads
    _soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    if hard != resource.RLIM_INFINITY and hard < total + 4096:
        print(f"RLIMIT_NPROC's hard limit ({hard}) is below {total} threads", file=sys.stderr)
        return 2
    resource.setrlimit(resource.RLIMIT_NPROC, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "spawn.c", Path(tmp) / "spawn"
        src.write_text(SPAWN_C)
        subprocess.run(["cc", "-O2", "-pthread", "-o", str(exe), str(src)], check=True)

        engine, inspector, live, _ = pipeline()
        engine.run(Until(live, lambda: True, 2.0), inspector)  # drain the start-up backlog
        base_threads, base_rss = len(inspector.threads), rss_mb()
        proc = subprocess.Popen(
            [str(exe), str(args.processes), str(args.threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                print("the spawner failed", file=sys.stderr)
                return 1

            def ours() -> int:
                return sum(
                    1 for th in inspector.threads if th.comm == "spawn" and th.pid != proc.pid
                )

            engine.run(Until(live, lambda: ours() >= total), inspector)
            live_threads, live_rss, drops = ours(), rss_mb(), live.stats().drops
            live.close()

            from sentry.inspect.inspector import Inspector

            before = rss_mb()
            fresh = Inspector.from_host()
            proc_threads = sum(
                1 for th in fresh.threads if th.comm == "spawn" and th.pid != proc.pid
            )
            proc_rss = rss_mb()
        finally:
            proc.kill()
            proc.wait()
    print(f"{total:,} threads forked ({args.processes} processes x {args.threads})")
    print(
        f"{'way in':<7} {'tracked':>8} {'RSS before':>11} {'RSS after':>10} "
        f"{'KB/thread':>10} {'target 150 MB':>14}"
    )
    for way, n, r0, r1 in (
        ("live", live_threads, base_rss, live_rss),
        ("/proc", proc_threads, before, proc_rss),
    ):
        per = (r1 - r0) * 1024 / n if n else 0.0
        verdict = "within" if r1 <= 150 else "OVER"
        print(f"{way:<7} {n:>8,} {r0:>9.1f}MB {r1:>8.1f}MB {per:>10.2f} {verdict:>14}")
    print(
        f"(the table held {base_threads:,} host threads before; probe drops while "
        f"forking: {drops:,}; /proc's 'before' is with the probe closed (its rings unmapped) and "
        "the live table still held)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
