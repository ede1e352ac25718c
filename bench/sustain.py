"""A paced syscall load held for a minute, live through eBPF, drained as ``sentry run`` drains.

Issue 12's sustained-rate target: with the default rules, a steady 200 k events/s for 60 s
must lose **zero** events. A small C program does open+close of /dev/null at a fixed pace
(each pair is four events: both halves of both calls), checking the clock every 256 pairs;
this process reads the probe as ``sentry run`` does (the default interest set,
``Inspector.from_host()``, the default rules in the Pipeline, the drop monitor) and counts
what it drained, the probe's drops and the alerts.

Printed: the rate asked for and reached (the loop's own count), the events drained, the
drops (events and as a share of the loop's events), the reader's CPU-seconds per wall second
and its events per CPU-second. The drop count is the judge (a same-run figure); nothing is
timed against a constant.

Usage: python bench/sustain.py [--rate EVENTS_PER_S] [--seconds S]  (root)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ebpf
from ebpf import LoopWindow, rules_reader

PACED_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
	double pairs_per_s = atof(argv[1]), seconds = atof(argv[2]), t0, t;
	long done = 0, j;
	char go[1];
	struct timespec nap = { 0, 200000 };

	if (read(0, go, 1) < 0)	/* wait until the reader is ready */
		return 1;
	t0 = now();
	while ((t = now()) - t0 < seconds) {
		if (done >= (t - t0) * pairs_per_s) {	/* ahead of the pace: wait */
			nanosleep(&nap, NULL);
			continue;
		}
		for (j = 0; j < 256; j++, done++)
			close(open("/dev/null", O_RDONLY));
	}
	printf("%ld %f\n", done, now() - t0);
	return 0;
}
"""

EVENTS_PER_PAIR = 4  # open enter/exit, close enter/exit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200_000, help="events per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/sustain.py needs root", file=sys.stderr)
        return 2
    from sentry.capture.drivers import open_live

    # The reader gives up DRAIN_SECONDS (30 s) after the loop starts: for a longer run it
    # must keep reading until the loop ends, or the rest counts as drops it never had.
    ebpf.DRAIN_SECONDS = max(ebpf.DRAIN_SECONDS, args.seconds + 30)
    consume, interest, counts = rules_reader()
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "paced.c", Path(tmp) / "paced"
        src.write_text(PACED_C)
        subprocess.run(["cc", "-O2", "-Wall", "-o", str(exe), str(src)], check=True)
        live = open_live("ebpf", interest=interest)
        try:
            proc = subprocess.Popen(
                [str(exe), str(args.rate / EVENTS_PER_PAIR), str(args.seconds)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            before = live.stats()
            window = LoopWindow(live, proc)
            consume(window)
            after = live.stats()
            out = proc.stdout.read()
            proc.wait()
        finally:
            live.close()
    pairs, wall = out.split()
    loop_events = int(pairs) * EVENTS_PER_PAIR
    drops = after.drops - before.drops
    reached = loop_events / float(wall)
    print(
        f"asked {args.rate:,.0f} events/s for {args.seconds:.0f} s; the loop made "
        f"{loop_events:,} events ({reached:,.0f}/s)"
    )
    print(
        f"drained {window.events:,} events (the host's other activity included) in "
        f"{window.wall:.1f} s wall, {window.cpu:.1f} CPU-s: "
        f"{window.events / window.cpu if window.cpu else 0:,.0f} events per CPU-second, "
        f"{window.cpu / window.wall if window.wall else 0:.2f} CPU-s per second"
    )
    print(
        f"drops: {drops:,} ({100 * drops / loop_events if loop_events else 0:.2f} % of the "
        f"loop's events); alerts raised: {counts['alerts']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
