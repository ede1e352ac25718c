"""Condition evaluation speed: Falco 0.28.1's default rules over the conformance traces' events.

Decodes the traces once (state included), compiles every default rule the field registry
supports, then times, per event:

* ``baseline``  one trivial compiled filter (``evt.num >= 0``): the cost of a call;
* ``all``       every rule's ``match`` on every event (no event-type index);
* ``indexed``   only the rules whose ``evttypes`` admit the event's type (what the engine does).

Usage: python bench/filter_match.py [--rounds N]
Prints ns per match and per event, and each figure as a ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sentry.capture.scapreader import ScapReader
from sentry.errors import SentryError
from sentry.inspect.inspector import Inspector
from sentry.rules.compiler import Filter, compile_filter

ROOT = Path(__file__).resolve().parents[1]
FALCO = Path(os.environ.get("SENTRY_CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
FALCO = FALCO / "falco-0.28.1"
TRACES = ("cat_write", "open-multiple-files", "syscall", "connect_localhost", "ping_sendto")


def default_rule_filters() -> tuple[list[Filter], int]:
    """Compiled conditions of the default syscall rules, and how many did not compile."""
    items = yaml.safe_load((FALCO / "rules" / "falco_rules.yaml").read_text())
    macros = {i["macro"]: i["condition"] for i in items if "macro" in i}
    lists = {i["list"]: [str(v) for v in i["items"]] for i in items if "list" in i}
    filters, skipped = [], 0
    for item in items:
        if "rule" in item:
            try:
                filters.append(compile_filter(item["condition"], macros=macros, lists=lists))
            except SentryError:
                skipped += 1
    return filters, skipped


def trace_events() -> list[Any]:
    events = []
    for name in TRACES:
        reader = ScapReader(str(FALCO / "test" / "trace_files" / f"{name}.scap"))
        inspector = Inspector.from_capture(reader)
        for batch in reader.batches():
            for ev in batch:
                inspector.process(ev)
                events.append(ev)
        reader.close()
    return events


def timed(
    rounds: int, events: list[Any], plan: Callable[[Any], list[Callable[[Any], bool]]]
) -> tuple[float, int]:
    """Seconds spent and matches made running ``plan(event)``'s matchers on every event."""
    per_event = [(ev, plan(ev)) for ev in events]
    calls = sum(len(ms) for _, ms in per_event) * rounds
    start = time.perf_counter()
    for _ in range(rounds):
        for ev, matchers in per_event:
            for match in matchers:
                match(ev)
    return time.perf_counter() - start, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    filters, skipped = default_rule_filters()
    events = trace_events()
    print(f"{len(filters)} rules compiled ({skipped} need fields we lack), {len(events)} events")
    trivial = compile_filter("evt.num >= 0").match
    every = [f.match for f in filters]
    by_type: dict[str, list[Callable[[Any], bool]]] = {}

    def indexed(ev: Any) -> list[Callable[[Any], bool]]:
        name = ev.info.name
        if name not in by_type:
            by_type[name] = [f.match for f in filters if f.evttypes is None or name in f.evttypes]
        return by_type[name]

    base_s, base_n = timed(args.rounds, events, lambda ev: [trivial])
    base_ns = base_s / base_n * 1e9
    for label, plan in (("all", lambda ev: every), ("indexed", indexed)):
        secs, n = timed(args.rounds, events, plan)
        per_match = secs / n * 1e9 if n else 0.0
        per_event = secs / (len(events) * args.rounds) * 1e9
        print(
            f"{label:8} {per_match:7.0f} ns/match ({per_match / base_ns:4.1f}x baseline)  "
            f"{per_event / 1000:7.2f} us/event"
        )
    print(f"baseline {base_ns:7.0f} ns/match")


if __name__ == "__main__":
    main()
