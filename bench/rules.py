"""Rule engine speed: a ~1M-event capture through Falco 0.28.1's ruleset and ours, vs sysdig.

Builds (or reuses, ``--keep``) the big capture of ``bench/replay.py`` and times, in process:

* ``falco``   Falco 0.28.1's ``falco_rules.yaml`` (the rules that compile), events the rules
              and the inspector need selected by the reader, the inspector, the ruleset;
* ``sentry``  our default rules (``rules/sentry_rules.yaml`` + local), the same way;
* ``inspect`` the reader and the inspector alone, on the events the sentry case reads: the
              floor under both rule runs (what is left is the rules' own cost);
* ``sysdig``  ``TZ=UTC sysdig -r BIG FILTER`` with output discarded: a filter-only run over
              the same file (``--filter``; by default a rule-like condition).

First, the event-type index of our default rules: for each syscall rule, the event types
the engine holds it under (what it is evaluated on); a rule held under every type (no
``evt.type`` restriction the index can use) is flagged, and the run exits 1 after the
figures (``--index-only``: the index, no capture). Then events/s and each time's ratio to
sysdig, and what our rules cost over the same run's ``inspect`` floor (the baseline: the
same reading and state keeping with no rules), then (``--rule-stats``) the ten most
expensive of our rules as ``sentry run --rule-stats`` prints them, from a measured pass, and
(``--profile``) the top functions of a cProfile run of the ``sentry`` case.

Usage: python bench/rules.py [--events N] [--keep PATH] [--filter EXPR] [--rule-stats]
       [--profile] [--index-only]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay import build

from sentry.capture.scapreader import ScapReader
from sentry.cli.run import default_rules, output_compiler
from sentry.inspect.cstate_inspector import capture_inspector
from sentry.pipeline import Pipeline, PipelineOptions, load_ruleset, needed_event_types
from sentry.rules.ruleset import Ruleset

ROOT = Path(__file__).resolve().parents[1]
FALCO = Path(os.environ.get("SENTRY_CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
FALCO_RULES = FALCO / "falco-0.28.1" / "rules" / "falco_rules.yaml"
DEFAULT_FILTER = (
    "evt.type in (open, openat, execve, connect, accept) and "
    "(proc.name in (cat, bash, sh, nc, ping) or fd.name startswith /etc)"
)


def load(paths: list[Path]) -> Ruleset:
    ruleset, defs = load_ruleset(paths, output_compiler=output_compiler())
    if defs.errors:
        print(
            f"  ({len(defs.errors)} rules of {', '.join(p.name for p in paths)} did not "
            f"compile and are left out; first: {defs.errors[0]})"
        )
    return ruleset


def index_report(ruleset: Ruleset) -> list[str]:
    """Print each syscall rule's indexed event types; the names of those held under all."""
    everywhere = []
    rows = []
    for rule in ruleset.rules:
        if rule.source != "syscall":
            continue
        if rule.index_types is None:
            everywhere.append(rule.name)
            rows.append((rule.name, "ALL EVENT TYPES (no evt.type restriction)"))
        else:
            rows.append(
                (rule.name, f"{len(rule.index_types)}: {' '.join(sorted(rule.index_types))}")
            )
    width = max((len(name) for name, _ in rows), default=0)
    print(f"event-type index of our syscall rules ({len(rows)}):")
    for name, types in rows:
        print(f"  {name:<{width}}  {types}")
    names = ruleset.evttype_names()
    total = "every type" if names is None else f"{len(names)} event types"
    print(f"  together: {total}; rules held under all types: {len(everywhere)}")
    for name in everywhere:
        print(f"  FLAGGED: {name!r} is evaluated on every event")
    return everywhere


def replay(
    ruleset: Ruleset, big: Path, rule_stats: bool = False, tracker: str = "c"
) -> tuple[int, int]:
    """(events delivered to the pipeline, alerts) for one pass."""
    alerts = 0

    def sink(_alert: object) -> None:
        nonlocal alerts
        alerts += 1

    reader = ScapReader(big)
    inspector = capture_inspector(reader, tracker=tracker)
    reader.event_types = needed_event_types(ruleset, inspector)
    pipeline = Pipeline(ruleset, sink, PipelineOptions(hostname="bench"))
    if rule_stats:
        from sentry.rules.rulestats import attach

        cost = attach(pipeline, on_signal=False)
    stats = pipeline.run(reader, inspector)
    if rule_stats:
        print(cost.table())
    return stats.events, alerts


def inspect_only(ruleset: Ruleset, big: Path, tracker: str = "c") -> tuple[int, int]:
    """(events read, 0): the same reading and state keeping as :func:`replay`, no rules."""
    reader = ScapReader(big)
    inspector = capture_inspector(reader, tracker=tracker)
    reader.event_types = needed_event_types(ruleset, inspector)
    process = inspector.process
    events = 0
    for batch in reader.batches():
        events += len(batch)
        for ev in batch:
            process(ev)
    return events, 0


def timed(label: str, fn: object) -> float:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    took = time.perf_counter() - start
    extra = ""
    if isinstance(result, tuple):
        extra = f"  ({result[0]} events evaluated, {result[1]} alerts)"
    print(f"  {label:<8} {took:8.2f} s{extra}", flush=True)
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the big capture here")
    ap.add_argument("--filter", default=DEFAULT_FILTER)
    ap.add_argument("--profile", action="store_true", help="cProfile the sentry-rules pass")
    ap.add_argument(
        "--rule-stats",
        action="store_true",
        help="a measured pass of our rules: the ten most expensive",
    )
    ap.add_argument(
        "--index-only", action="store_true", help="print the event-type index only (no capture)"
    )
    ap.add_argument(
        "--python-state",
        action="store_true",
        help="the same passes again with the Python inspector (the reference) as the baseline",
    )
    args = ap.parse_args()
    ours = load(default_rules())
    everywhere = index_report(ours)
    if args.index_only:
        return 1 if everywhere else 0

    tmp = None
    if args.keep:
        big = args.keep
    else:
        tmp = tempfile.mkdtemp(prefix="sentry-bench-")
        big = Path(tmp) / "BIG.scap"
    try:
        if not big.exists():
            partial = big.with_suffix(".partial")
            n = build(partial, args.events)
            partial.rename(big)
            print(f"built {big} ({n} events)")
        total = sum(len(b) for b in ScapReader(big).batches())
        print(f"{total} events in {big}")
        falco = load([FALCO_RULES]) if FALCO_RULES.exists() else None
        results: dict[str, float] = {}
        print(f"  sentry ruleset: {len(ours)} rules")
        if falco is not None:
            print(f"  falco ruleset: {len(falco)} rules")
            results["falco"] = timed("falco", lambda: replay(falco, big))
        results["sentry"] = timed("sentry", lambda: replay(ours, big))
        results["inspect"] = timed("inspect", lambda: inspect_only(ours, big))
        if args.python_state:
            if falco is not None:
                results["falco-py"] = timed(
                    "falco-py", lambda: replay(falco, big, tracker="python")
                )
            results["sentry-py"] = timed("sentry-py", lambda: replay(ours, big, tracker="python"))
            results["insp-py"] = timed("insp-py", lambda: inspect_only(ours, big, tracker="python"))
        sysdig = shutil.which("sysdig")
        if sysdig:
            env = dict(os.environ, TZ="UTC")
            results["sysdig"] = timed(
                "sysdig",
                lambda: subprocess.run(
                    [sysdig, "-r", str(big), args.filter],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    check=True,
                ),
            )
        print()
        base = results.get("sysdig")
        for label, took in results.items():
            ratio = f"  x{took / base:5.2f} sysdig's time" if base else ""
            print(f"  {label:<8} {total / took / 1e3:8.1f} k events/s{ratio}")
        floor = results["inspect"]
        spent = results["sentry"] - floor
        print(
            f"  our {sum(r.source == 'syscall' for r in ours.rules)} syscall rules over the "
            "same run's inspect floor: "
            f"{spent / total * 1e9:.0f} ns per event read, "
            f"{results['sentry'] / floor:.2f}x the floor's time "
            f"({total / results['sentry'] / 1e3:.1f} vs {total / floor / 1e3:.1f} k events/s)"
        )
        if args.rule_stats:
            print()
            timed("measured", lambda: replay(ours, big, rule_stats=True))
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(replay, ours, big)
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
            print(out.getvalue())
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if everywhere else 0


if __name__ == "__main__":
    sys.exit(main())
