"""State tracking speed: the C state tracker (inspect/cstate.c) vs the Python inspector.

Over the same ~1M-event capture (``bench/replay.py``'s: the Falco traces' syscall events,
repeated and time-shifted), from the capture's starting state, times:

* ``python``  the reader's Event objects through ``Inspector.process`` (every event);
* ``c``       the file's event blocks walked and tracked in C (``CState.feed_blocks``): no
              Python object per event;
* ``c+py``    the reader's Event objects, each record handed to the C tracker
              (``CState.feed_event``): what the tracker costs behind today's reader.

Prints events/s and the same-run ratio of each to ``python``, and checks that both end with
the same number of threads.

Usage: python bench/state.py [--events N] [--keep PATH]
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay import _cpu, build

from sentry.capture.scapreader import ScapReader, _load
from sentry.inspect.cstate import CState
from sentry.inspect.inspector import Inspector

_BLOCK = struct.Struct("<II")


def run_python(big: Path) -> tuple[int, int]:
    reader = ScapReader(big)
    inspector = Inspector.from_capture(reader)
    process = inspector.process
    n = 0
    for batch in reader.batches():
        for ev in batch:
            process(ev)
        n += len(batch)
    return n, len(inspector.threads)


def run_c(big: Path) -> tuple[int, int]:
    reader = ScapReader(big)
    cs = CState()
    cs.load(Inspector.from_capture(reader))
    buf = _load(str(big))
    off = n = 0
    while True:
        status, off, done = cs.feed_blocks(buf, off)
        n += done
        if status != 2:  # 2: a metadata block (section header, lists): skipped here
            break
        off += _BLOCK.unpack_from(buf, off)[1]
    return n, cs.counts()["threads"]


def run_c_events(big: Path) -> tuple[int, int]:
    reader = ScapReader(big)
    cs = CState()
    cs.load(Inspector.from_capture(reader))
    feed = cs.feed_event
    n = 0
    for batch in reader.batches():
        for ev in batch:
            feed(ev)
        n += len(batch)
    return n, cs.counts()["threads"]


def measure(label: str, fn, big: Path) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), _cpu()
    n, threads = fn(big)
    took, used = time.perf_counter() - start, _cpu() - cpu
    print(
        f"  {label:<7} {n:>9} events  {took:7.2f} s  (cpu {used:.2f} s)  "
        f"{n / used / 1e6:6.2f} M events per CPU-second  threads at the end: {threads}",
        flush=True,
    )
    return used, n, threads


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the big capture here")
    args = ap.parse_args()
    tmp = None
    if args.keep:
        big = args.keep
        if not big.exists():
            print(f"building {big} ({args.events} events)", flush=True)
            build(big, args.events)
    else:
        tmp = tempfile.TemporaryDirectory()
        big = Path(tmp.name) / "big.scap"
        print(f"building {big} ({args.events} events)", flush=True)
        build(big, args.events)
    results = {
        label: measure(label, fn, big)
        for label, fn in (("python", run_python), ("c", run_c), ("c+py", run_c_events))
    }
    base_cpu, base_n, base_threads = results["python"]
    print("same-run ratios (events per CPU-second, vs python):")
    for label, (used, n, threads) in results.items():
        print(f"  {label:<7} x{(n / used) / (base_n / base_cpu):.1f}")
        if n != base_n or threads != base_threads:
            print(
                f"  {label}: {n} events / {threads} threads, python {base_n} / "
                f"{base_threads}: they differ",
                flush=True,
            )
            return 1
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
