"""eBPF probe cost and reader throughput, all measured in one run on this host (root).

Loops (a small C program, so the syscall dominates): ``getppid`` and ``open``+``close`` of
/dev/null, N calls each (and at most ``--seconds`` each), timed by the loop itself, in
these states of the probe:

* ``detached``  no probe loaded;
* ``idle``      probe attached, the syscalls outside the interest set (suppressed early);
* ``capture``   probe capturing everything for the loop's process tree into rings big
                enough to hold it all, read only after the loop (the probe's own cost);
* ``walk``      probe capturing everything for the loop's process tree while this process
                drains the rings, making an Event of every record (header only);
* ``decode``    the same, decoding every parameter of every event (full decoding);

and, as ``sentry run`` captures (issue 5): the **default interest set** (the syscalls the
default rules and the inspector need, :func:`sentry.pipeline.live_interest`) for **all
processes** (so the drained counts include the host's other activity):

* ``dflt-probe``  into big rings, read only after the loop (the probe's own cost);
* ``dflt-decode`` the probe as ``open_live("ebpf")`` opens it, drained by a reader decoding
                  every parameter of every event;
* ``dflt-rules``  the same, drained as ``sentry run`` does: ``Inspector.from_host()``, the
                  default rules (``rules/``) in the :class:`~sentry.pipeline.Pipeline`,
                  with the drop monitor; alerts are counted, not printed; no quiet opens;
* ``dflt-quiet``  ``dflt-rules`` with the quiet opens ``sentry run`` pushes down (the files
                  no default rule can match an open of, ``rules/quiet.py``): the probe
                  leaves out open+close pairs of /dev/null (``driver/bpf/probe_quiet.h``),
                  counted in the ``quiet`` column (suppressed, not drained, not dropped).

Prints the best of three ns per call and the ratio to ``detached`` for each, and for the
states with a reader the events drained per wall second and per CPU-second of the reader,
and the drops (the loop outruns a Python reader; drops are counted, never silent). Targets
(issue 5): ``dflt-rules`` open+close <= 1.5x detached; >= 1M events/s drained with the
default rules on one core.

Usage: python bench/ebpf.py [--calls N] [--seconds S] [--loop NAME]... [--states A,B]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

LOOP_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = atol(argv[2]), i = 0, j;
	double limit = atof(argv[3]) * 1e9, a, b;
	char go[4];

	if (read(0, go, 1) < 0)	/* wait until the reader is ready */
		return 1;
	a = now_ns();
	b = a;
	while (i < n && b - a < limit) {	/* bounded in count and in time */
		for (j = 0; j < 1024 && i < n; j++, i++) {
			if (argv[1][0] == 'g')
				syscall(SYS_getppid);
			else
				close(open("/dev/null", O_RDONLY));
		}
		b = now_ns();
	}
	printf("%f %ld\n", (b - a) / i, i);
	return 0;
}
"""

LOOPS = {"getppid": "g", "open+close": "o"}
STATES = (
    "idle",
    "capture",
    "walk",
    "decode",
    "dflt-probe",
    "dflt-decode",
    "dflt-rules",
    "dflt-quiet",
)
RUNS = 3  # best of
DRAIN_SECONDS = 30.0  # a reader gives up this long after the loop's start

Consumer = Callable[["LoopWindow"], None]


def build_loop(workdir: Path) -> Path:
    src = workdir / "loop.c"
    exe = workdir / "loop"
    src.write_text(LOOP_C)
    subprocess.run(["cc", "-O2", "-Wall", "-o", str(exe), str(src)], check=True)
    return exe


def drain(source: Any, seconds: float = 5.0) -> None:
    """Empty the rings (between runs), for at most ``seconds``."""
    end = time.monotonic() + seconds
    for batch in source.batches():
        if not batch or time.monotonic() > end:
            break


class LoopWindow:
    """A source over ``source`` for one loop run: first the backlog (not counted), then the
    loop starts and batches are counted until it has exited and the rings are empty."""

    def __init__(self, source: Any, proc: subprocess.Popen[str]):
        self.source = source
        self.proc = proc
        self.events = 0
        self.cpu = self.wall = 0.0

    def stats(self) -> Any:
        return self.source.stats()

    def batches(self) -> Iterator[list[Any]]:
        for batch in self.source.batches():
            yield batch
            if not batch:
                break
        assert self.proc.stdin is not None
        self.proc.stdin.write("g")
        self.proc.stdin.close()
        cpu0, wall0 = time.process_time(), time.monotonic()
        end = wall0 + DRAIN_SECONDS
        events = 0
        for batch in self.source.batches():
            events += len(batch)
            yield batch
            if (not batch and self.proc.poll() is not None) or time.monotonic() > end:
                break
        self.events = events
        self.cpu, self.wall = time.process_time() - cpu0, time.monotonic() - wall0


def run_loop(
    exe: Path,
    mode: str,
    calls: int,
    seconds: float,
    source: Any = None,
    consume: Consumer | None = None,
) -> tuple[float, dict[str, float]]:
    """ns per call; with a consumer, also what it drained from ``source`` meanwhile."""
    proc = subprocess.Popen(
        [str(exe), mode, str(calls), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    drained: dict[str, float] = {}
    try:
        if consume is None:
            proc.stdin.write("g")
            proc.stdin.close()
        else:
            start = source.stats()
            window = LoopWindow(source, proc)
            consume(window)
            end = source.stats()
            drained = {
                "events": window.events,
                "cpu": window.cpu,
                "wall": window.wall,
                "drops": end.drops - start.drops,
                "quiet": end.quiet - start.quiet,
            }
        out = proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()
    ns, done = out.split()
    if int(done) < calls:
        print(f"note: {mode} loop stopped at {done} calls (--seconds)", file=sys.stderr)
    return float(ns), drained


def walk(window: LoopWindow) -> None:
    for _batch in window.batches():
        pass


def decode(window: LoopWindow) -> None:
    for batch in window.batches():
        for ev in batch:
            for i in range(ev.nparams):  # full decoding
                ev.param(i)


def rules_reader() -> tuple[Consumer, set[int], dict[str, int], list[str]]:
    """(consumer, interest, counts, quiet paths): the default rules run as ``sentry run``
    does."""
    from sentry.cli.run import default_rules, load_checked
    from sentry.inspect.inspector import Inspector
    from sentry.pipeline import Pipeline, PipelineOptions, live_interest
    from sentry.rules.quiet import quiet_paths_for
    from sentry.rules.ruleset import Selection
    from sentry.service.config import load_config
    from sentry.service.drops import DropMonitor

    cfg = load_config(None, [])
    ruleset = load_checked(default_rules(), Selection())
    inspector = Inspector.from_host()
    counts = {"alerts": 0}

    def sink(_alert: Any) -> None:
        counts["alerts"] += 1

    pipeline = Pipeline(ruleset, sink, PipelineOptions())

    def consume(window: LoopWindow) -> None:
        d = cfg.section("syscall_event_drops")
        monitor = DropMonitor(
            actions=d["actions"],
            threshold=d["threshold"],
            rate=d["rate"],
            max_burst=d["max_burst"],
            simulate=False,
            stats=window.stats,
            alert=lambda _report: sink(None),
            log=lambda _line: None,
        )
        pipeline.run(window, inspector, monitor.check)

    quiet = quiet_paths_for(ruleset, cfg)
    return consume, live_interest(ruleset, inspector) or set(), counts, quiet


def best(
    exe: Path,
    mode: str,
    args: argparse.Namespace,
    source: Any = None,
    consume: Consumer | None = None,
) -> tuple[float, dict[str, float]]:
    """The run with the fewest ns per call out of RUNS (rings emptied between runs)."""
    runs = []
    for _ in range(RUNS):
        runs.append(run_loop(exe, mode, args.calls, args.seconds, source, consume))
        if source is not None:
            drain(source)
    return min(runs, key=lambda r: r[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="limit per loop run")
    parser.add_argument(
        "--loop", action="append", choices=list(LOOPS), help="only this loop (repeatable)"
    )
    parser.add_argument(
        "--states",
        default=",".join(STATES),
        help=f"comma-separated states to run besides detached (default: {','.join(STATES)})",
    )
    args = parser.parse_args()
    states = set(args.states.split(","))
    if states - set(STATES):
        parser.error(f"unknown states: {', '.join(sorted(states - set(STATES)))}")
    loops = {name: mode for name, mode in LOOPS.items() if not args.loop or name in args.loop}
    if os.geteuid() != 0:
        print("bench/ebpf.py needs root", file=sys.stderr)
        return 2
    from sentry.capture.drivers import open_live
    from sentry.capture.ebpf import EbpfSource
    from sentry.events.syscalls import X86_64_SYSCALLS

    results: dict[str, dict[str, float]] = {name: {} for name in loops}
    drains: dict[tuple[str, str], dict[str, float]] = {}
    described: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_loop(Path(tmp))
        for name, mode in loops.items():
            results[name]["detached"] = best(exe, mode, args)[0]
        src = EbpfSource(interest=set(), target_tgid=os.getpid(), ring_bytes=128 << 20)
        try:
            if "idle" in states:
                for name, mode in loops.items():
                    results[name]["idle"] = best(exe, mode, args)[0]
            src.set_interest(None)
            if "capture" in states:
                for name, mode in loops.items():
                    results[name]["capture"] = best(exe, mode, args, src)[0]
            tree_readers: dict[str, Consumer] = {"walk": walk, "decode": decode}
            for state, consume in tree_readers.items():
                if state not in states:
                    continue
                for name, mode in loops.items():
                    results[name][state], drains[(name, state)] = best(
                        exe, mode, args, src, consume
                    )
        finally:
            src.close()

        rules, interest, counts, quiet = rules_reader()
        if "dflt-probe" in states:
            src = EbpfSource(interest=interest, ring_bytes=128 << 20)
            try:
                for name, mode in loops.items():
                    results[name]["dflt-probe"] = best(exe, mode, args, src)[0]
            finally:
                src.close()
        live = open_live("ebpf", interest=interest)
        described.append(getattr(live, "description", ""))
        try:
            default_readers: dict[str, Consumer] = {
                "dflt-decode": decode,
                "dflt-rules": rules,
                "dflt-quiet": rules,
            }
            for state, consume in default_readers.items():
                if state not in states:
                    continue
                if state == "dflt-quiet":
                    live.set_quiet(quiet)  # type: ignore[attr-defined]
                for name, mode in loops.items():
                    results[name][state], drains[(name, state)] = best(
                        exe, mode, args, live, consume
                    )
        finally:
            live.close()

    names = sorted(X86_64_SYSCALLS[nr].name for nr in interest if nr in X86_64_SYSCALLS)
    print(
        f"default interest set: {len(interest)} syscalls; open/openat/close in it: "
        f"{all(n in names for n in ('open', 'openat', 'close'))}; getppid in it: "
        f"{'getppid' in names}"
    )
    print(f"live source: {described[0]}")
    print(f"quiet opens (dflt-quiet): {', '.join(quiet) or 'none'}")
    print(f"{'loop':<12} {'state':<11} {'ns/call':>9} {'x detached':>11}")
    for name, by_state in results.items():
        base = by_state["detached"]
        for state, ns in by_state.items():
            print(f"{name:<12} {state:<11} {ns:>9.0f} {ns / base:>11.2f}")
    print()
    print(
        f"{'loop':<12} {'reader':<11} {'events':>9} {'ev/s wall':>11} {'ev/CPU-s':>11} "
        f"{'drops':>9} {'drop %':>7} {'quiet':>9}"
    )
    for (name, state), d in drains.items():
        wall = d["events"] / d["wall"] if d["wall"] else 0.0
        cpu = d["events"] / d["cpu"] if d["cpu"] else 0.0
        made = d["events"] + d["drops"]
        print(
            f"{name:<12} {state:<11} {d['events']:>9.0f} {wall:>11.0f} {cpu:>11.0f} "
            f"{d['drops']:>9.0f} {100 * d['drops'] / made if made else 0.0:>7.1f} "
            f"{d.get('quiet', 0):>9.0f}"
        )
    print(f"\ndflt-rules: {counts['alerts']} alerts raised over all runs (counted, not printed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
