"""``sentry tail --explain RULE [-r RULES]... [-e CAPTURE]``: a rule's near misses.

Every event of the rule's event types is explained (:mod:`sentry.rules.explain`); one that
failed exactly one of the rule's top-level clauses (an exception counts as one) is printed
with that clause and its fields' values, and a match is printed as such, so a rule's author
sees what stopped it. The rules load as ``sentry run`` loads them (``-r``, else the
defaults). A count goes to stderr at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

import orjson

from sentry.errors import SentryError


def near_misses(
    rule: str,
    rules: list[Path] | None,
    capture: str | None,
    driver: str | None,
    out: TextIO,
    as_json: bool = False,
    enter_events: str = "auto",
) -> tuple[int, int]:
    """Print ``rule``'s near misses (and matches); (near misses, matches).

    ``enter_events``: the configuration's ``engine.enter_events``, as ``sentry run`` applies
    it (``auto``: enter events explained only for rules older than engine 0.52.0).
    """
    from sentry.cli.run import default_rules, output_compiler, report_problems
    from sentry.cli.tail import compile_tail_filter, open_capture, open_live, selected_events
    from sentry.pipeline import load_ruleset
    from sentry.rules.explain import Explainer, render, to_json
    from sentry.rules.ruleset import Selection

    paths = list(rules) if rules else default_rules()
    ruleset, defs = load_ruleset(
        paths, output_compiler=output_compiler(), selection=Selection(enter_events=enter_events)
    )
    if defs.errors:
        report_problems(defs)
        raise SentryError("rules did not load (errors listed above)")
    compiled = next((r for r in ruleset.all_rules if r.name == rule), None)
    if compiled is None or compiled.source != "syscall":
        close = [r.name for r in ruleset.all_rules if rule.lower() in r.name.lower()][:3]
        hint = f" (did you mean: {', '.join(repr(c) for c in close)})" if close else ""
        raise SentryError(
            f"no syscall rule named '{rule}' in {', '.join(str(p) for p in paths)}{hint}"
        )
    types = compiled.evttypes
    flt = compile_tail_filter(f"evt.type in ({', '.join(sorted(types))})" if types else None)
    source, inspector = (
        open_capture(capture) if capture else open_live(set(types) if types else None, driver)
    )
    explainer = Explainer(defs)
    misses = matches = 0
    try:
        for ev in selected_events(source, inspector, flt, not ruleset.evaluates_enter):
            hit = compiled.filter.match(ev)
            clause = None if hit else explainer.near_miss(rule, ev)
            if not hit and clause is None:
                continue
            where = (
                f"{ev.num} {explainer._value('proc.name', None, ev)} "
                f"({explainer._value('thread.tid', None, ev)}) "
                f"{explainer._value('evt.type', None, ev)}"
            )
            if hit:
                matches += 1
            else:
                misses += 1
            if as_json:
                doc: dict[str, Any] = {
                    "evt.num": ev.num,
                    "rule": rule,
                    "result": "match" if hit else "near miss",
                }
                if clause is not None:
                    doc["failed"] = to_json(clause)
                out.write(orjson.dumps(doc, default=str).decode() + "\n")
            elif hit:
                out.write(f"{where}: matches '{rule}'\n")
            else:
                assert clause is not None
                first, *inside = render(clause, margin="  ").splitlines()
                first = first.strip()[2:].removesuffix(" <- decided")
                out.write(f"{where}: near miss of '{rule}': failed {first}\n")
                for line in inside:  # a macro's, an or's clauses: what inside failed
                    out.write(f"  {line}\n")
            out.flush()
    finally:
        source.close()
    print(
        f"sentry: '{rule}': {misses} near miss{'es' if misses != 1 else ''}, {matches} "
        f"match{'es' if matches != 1 else ''}",
        file=sys.stderr,
    )
    return misses, matches
