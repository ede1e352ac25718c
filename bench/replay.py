"""Replay speed: our capture reader (and ``sentry tail``) against sysdig on a ~1M-event file.

Builds BIG.scap by repeating the syscall events of the Falco conformance traces (internal
procinfo/container events left out) with shifted timestamps, written by ScapWriter, then
times:

* ``walk``      our reader producing every Event (header decoded, nothing else);
* ``walk-py``   the same with the pure-Python block walk (no C walker);
* ``type``      the same, plus looking at each event's type name (what a type filter does);
* ``params``    the same, plus decoding every parameter (worst case);
* ``select``    only ``open`` events become Events (``ScapReader(event_types=...)``), the
                others are skipped in the block walk, as a type-indexed ruleset needs;
* ``sysdig``    ``TZ=UTC sysdig -r BIG FILTER`` with output discarded (a filter-only run);
* ``tail``      ``sentry tail -e BIG FILTER`` with output discarded (fds kept in C, the
                default ``state_tracker: c``);
* ``tail-py``   the same with ``-o state_tracker=python`` (the Python inspector): the
                same-run baseline of the C tracker;
* ``start``     ``sentry tail --help``: the command's start-up alone (interpreter, imports);
* ``sysdig-p``  ``sysdig -r BIG -p FORMAT PRINT_FILTER`` (a printing run: ~100k lines);
* ``tail-p``    ``sentry tail -e BIG -p FORMAT PRINT_FILTER``.

``sentry`` is run from the interpreter's own bin directory (a pyenv shim adds ~0.4 s).

Usage: python bench/replay.py [--events N] [--keep PATH] [--filter EXPR]
       [--print-filter EXPR] [--format FMT]
Prints seconds, events/s and the ratio to sysdig's matching run for each.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sentry.capture import scapreader
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.events.table import events_named

ROOT = Path(__file__).resolve().parents[1]
TRACES = Path(os.environ.get("SENTRY_CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
TRACES = TRACES / "falco-0.28.1" / "test" / "trace_files"
SOURCES = ("cat_write", "open-multiple-files", "syscall", "connect_localhost", "ping_sendto")
SKIP = {"procinfo", "container"}


def trace_records(
    edit: Callable[[bytes], bytes] = bytes,
) -> tuple[list[tuple[int, int, bytes]], int, ScapReader]:
    """The source traces' syscall events as (ns since the series' start, cpu, record, each
    passed through ``edit``), the series' span in ns, and the first trace's reader (its
    metadata blocks)."""
    records = []
    meta = None
    base = 0
    for name in SOURCES:
        reader = ScapReader(TRACES / f"{name}.scap")
        meta = meta or reader
        events = [evt for evt in reader if evt.info.name not in SKIP]
        first = events[0].ts
        records += [(base + evt.ts - first, evt.cpu, edit(bytes(evt.record()))) for evt in events]
        base = records[-1][0] + 1000
    assert meta is not None
    return records, base, meta


def build(path: Path, target: int) -> int:
    """Write ~target events: the source traces' syscall events, repeated, time-shifted."""
    records, span, meta = trace_records()
    first = 1_700_000_000_000_000_000
    written = 0
    with ScapWriter(
        path,
        machine=meta.machine,
        threads=meta.threads.values(),
        fds=meta.fds,
        users=meta.users,
        groups=meta.groups,
        interfaces=meta.interfaces,
    ) as w:
        rnd = 0
        while written < target:
            shift = first + rnd * span
            for delta, cpu, record in records:
                ts = (shift + delta).to_bytes(8, "little")
                w.write_record(ts + record[8:], cpu)
                written += 1
            rnd += 1
    return written


def _cpu() -> float:
    """CPU seconds (user + system) used so far by this process and its finished children."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(label: str, fn: Callable[[], object]) -> float:
    """Run fn; print wall and CPU seconds (CPU is steadier on a shared machine)."""
    start, cpu = time.perf_counter(), _cpu()
    fn()
    took, used = time.perf_counter() - start, _cpu() - cpu
    print(f"  {label:<8} {took:8.2f} s  (cpu {used:.2f} s)", flush=True)
    return took


def walk(path: Path) -> int:
    n = 0
    for batch in ScapReader(path).batches():
        n += len(batch)
    return n


def walk_pure_python(path: Path) -> int:
    saved = scapreader._SCANNER[:]
    scapreader._SCANNER[:] = [None]
    try:
        return walk(path)
    finally:
        scapreader._SCANNER[:] = saved


def walk_types(path: Path) -> int:
    opens = 0
    for batch in ScapReader(path).batches():
        for evt in batch:
            if evt.info.name == "open":
                opens += 1
    return opens


def walk_selected(path: Path) -> int:
    codes = {info.code for info in events_named("open")}
    return sum(len(batch) for batch in ScapReader(path, event_types=codes).batches())


def walk_params(path: Path) -> int:
    n = 0
    for batch in ScapReader(path).batches():
        for evt in batch:
            for i in range(evt.nparams):
                evt.param(i)
            n += 1
    return n


def run_quiet(cmd: list[str]) -> None:
    env = dict(os.environ, TZ="UTC")
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the big capture here")
    ap.add_argument("--filter", default="evt.type=open and fd.name contains passwd")
    ap.add_argument("--print-filter", default="evt.type=open")
    ap.add_argument(
        "--format",
        default="%evt.num %evt.outputtime %proc.name (%thread.tid) %evt.dir %evt.type %fd.name",
    )
    args = ap.parse_args()

    tmp = None
    if args.keep:
        big = args.keep
    else:
        tmp = tempfile.mkdtemp(prefix="sentry-bench-")
        big = Path(tmp) / "BIG.scap"
    try:
        if not big.exists():
            start = time.perf_counter()
            partial = big.with_suffix(".partial")
            n = build(partial, args.events)
            partial.rename(big)
            print(
                f"built {big} ({n} events, {big.stat().st_size >> 20} MiB) "
                f"in {time.perf_counter() - start:.1f} s"
            )
        total = walk(big)
        print(f"{total} events; filter: {args.filter}")
        results = {
            "walk": timed("walk", lambda: walk(big)),
            "walk-py": timed("walk-py", lambda: walk_pure_python(big)),
            "type": timed("type", lambda: walk_types(big)),
            "params": timed("params", lambda: walk_params(big)),
            "select": timed("select", lambda: walk_selected(big)),
        }
        sysdig = shutil.which("sysdig")
        if sysdig:
            results["sysdig"] = timed(
                "sysdig", lambda: run_quiet([sysdig, "-r", str(big), args.filter])
            )
        sentry = shutil.which("sentry", path=str(Path(sys.executable).parent)) or shutil.which(
            "sentry"
        )
        py_state = ["-o", "state_tracker=python"]
        if sentry:
            results["tail"] = timed(
                "tail", lambda: run_quiet([sentry, "tail", "-e", str(big), args.filter])
            )
            results["tail-py"] = timed(
                "tail-py",
                lambda: run_quiet([sentry, "tail", "-e", str(big), *py_state, args.filter]),
            )
            results["start"] = timed("start", lambda: run_quiet([sentry, "tail", "--help"]))
        printing = {}
        if sysdig:
            printing["sysdig-p"] = timed(
                "sysdig-p",
                lambda: run_quiet([sysdig, "-r", str(big), "-p", args.format, args.print_filter]),
            )
        if sentry:
            printing["tail-p"] = timed(
                "tail-p",
                lambda: run_quiet(
                    [sentry, "tail", "-e", str(big), "-p", args.format, args.print_filter]
                ),
            )
        print()
        for runs, base in ((results, results.get("sysdig")), (printing, printing.get("sysdig-p"))):
            for label, took in runs.items():
                ratio = f"  x{took / base:5.2f} sysdig" if base else ""
                print(f"  {label:<8} {total / took / 1e6:6.2f} M events/s{ratio}")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
