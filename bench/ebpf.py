"""eBPF probe cost and reader throughput, all measured in one run on this host (root).

Loops (a small C program, so the syscall dominates): ``getppid`` and ``open``+``close`` of
/dev/null, N calls each, timed by the loop itself, in four states of the probe:

* ``detached``  no probe loaded;
* ``idle``      probe attached, the syscalls outside the interest set (suppressed early);
* ``capture``   probe capturing everything for the loop's process tree into rings big
                enough to hold it all, read only after the loop (the probe's own cost);
* ``walk``      probe capturing everything for the loop's process tree while this process
                drains the rings, making an Event of every record (header only);
* ``decode``    the same, decoding every parameter of every event (full decoding).

Prints the best of three ns per call and the ratio to ``detached`` for each, and for the
capturing states the events drained per wall second and per CPU-second of the reader, and
the drops (the loop outruns a Python reader; drops are counted, never silent).

Usage: python bench/ebpf.py [--calls N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOOP_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	long n = atol(argv[2]), i;
	struct timespec a, b;
	char go[4];

	if (read(0, go, 1) < 0)	/* wait until the reader is ready */
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (argv[1][0] == 'g') {
		for (i = 0; i < n; i++)
			syscall(SYS_getppid);
	} else {
		for (i = 0; i < n; i++)
			close(open("/dev/null", O_RDONLY));
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
"""

LOOPS = {"getppid": "g", "open+close": "o"}


def build_loop(workdir: Path) -> Path:
    src = workdir / "loop.c"
    exe = workdir / "loop"
    src.write_text(LOOP_C)
    subprocess.run(["cc", "-O2", "-o", str(exe), str(src)], check=True)
    return exe


def run_loop(exe: Path, mode: str, calls: int, source: object | None = None,
             decode: bool = True) -> tuple[float, dict]:
    """ns per call; with a source, also what the reader drained while the loop ran."""
    proc = subprocess.Popen([str(exe), mode, str(calls)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    drained = {"events": 0, "cpu": 0.0, "wall": 0.0}
    assert proc.stdin is not None and proc.stdout is not None
    if source is None:
        proc.stdin.write("g")
        proc.stdin.close()
        out = proc.stdout.read()
        proc.wait()
        return float(out), drained
    batches = source.batches()  # type: ignore[attr-defined]
    next(batches)
    proc.stdin.write("g")
    proc.stdin.close()
    cpu0, wall0 = time.process_time(), time.monotonic()
    events = 0
    for batch in batches:
        if decode:
            for ev in batch:
                for i in range(ev.nparams):  # full decoding
                    ev.param(i)
        events += len(batch)
        if not batch and proc.poll() is not None:
            break
    drained = {"events": events, "cpu": time.process_time() - cpu0,
               "wall": time.monotonic() - wall0}
    out = proc.stdout.read()
    proc.wait()
    return float(out), drained


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300_000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/ebpf.py needs root", file=sys.stderr)
        return 2
    from sentry.capture.ebpf import EbpfSource

    with tempfile.TemporaryDirectory() as tmp:
        exe = build_loop(Path(tmp))
        results: dict[str, dict[str, float]] = {name: {} for name in LOOPS}
        drains: dict[tuple[str, str], dict] = {}
        for name, mode in LOOPS.items():
            results[name]["detached"] = min(run_loop(exe, mode, args.calls)[0] for _ in range(3))
        src = EbpfSource(interest=set(), target_tgid=os.getpid(), ring_bytes=128 << 20)
        try:
            for name, mode in LOOPS.items():
                results[name]["idle"] = min(run_loop(exe, mode, args.calls)[0] for _ in range(3))
            src.set_interest(None)
            for name, mode in LOOPS.items():
                runs = []
                for _ in range(3):
                    runs.append(run_loop(exe, mode, args.calls)[0])
                    for batch in src.batches():  # empty the rings between runs
                        if not batch:
                            break
                results[name]["capture"] = min(runs)
            for state in ("walk", "decode"):
                for name, mode in LOOPS.items():
                    runs = []
                    for _ in range(3):
                        before = src.stats()
                        ns, drained = run_loop(exe, mode, args.calls, src, state == "decode")
                        drained["drops"] = src.stats().drops - before.drops
                        runs.append((ns, drained))
                    ns, drained = min(runs, key=lambda r: r[0])
                    results[name][state] = ns
                    drains[(name, state)] = drained
        finally:
            src.close()
    print(f"{'loop':<12} {'state':<9} {'ns/call':>9} {'x detached':>11}")
    for name, states in results.items():
        base = states["detached"]
        for state, ns in states.items():
            print(f"{name:<12} {state:<9} {ns:>9.0f} {ns / base:>11.2f}")
    print()
    print(f"{'loop':<12} {'reader':<7} {'events':>9} {'ev/s wall':>11} {'ev/CPU-s':>11} "
          f"{'drops':>8}")
    for (name, state), d in drains.items():
        wall = d["events"] / d["wall"] if d["wall"] else 0.0
        cpu = d["events"] / d["cpu"] if d["cpu"] else 0.0
        print(f"{name:<12} {state:<7} {d['events']:>9} {wall:>11.0f} {cpu:>11.0f} "
              f"{d['drops']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
