"""Per-rule cost: events evaluated, matches and CPU time of each rule (``--rule-stats``).

Off (the default), nothing here runs: the pipeline evaluates each event type with its
generated program. On, :meth:`RuleStats.program` replaces each type's program by a loop
over the type's rules in file order that reads the clock between rules (one
``perf_counter_ns`` per rule evaluated), so each rule is charged the time from the end of
the previous rule to the end of its own match: every nanosecond of evaluation goes to a
rule, and the rules' sum is the pipeline's evaluation time. The loop keeps the pipeline's
contract (index of the first matching rule, -1 for none; with ``rule_matching: all`` each
match is raised), so alerts are the same; it is slower than the generated program (no
shared subexpressions), which the figures include. Time is the evaluating thread's elapsed
time: CPU time on a replay, which runs on one thread.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentry.pipeline import Pipeline

Program = Callable[[Any], int]


class RuleStats:
    """Counters by rule name: ``[evaluated, matches, nanoseconds]``."""

    def __init__(self) -> None:
        self.by_rule: dict[str, list[int]] = {}
        self.total = [0, 0]  # events evaluated, nanoseconds from first to last clock read

    def _entry(self, name: str) -> list[int]:
        return self.by_rule.setdefault(name, [0, 0, 0])

    def program(
        self, rules: Sequence[Any], raise_alert: Callable[[Any, Any], None] | None = None
    ) -> Program:
        """A timed evaluator of ``rules`` (a ``for_type`` entry); ``raise_alert`` given:
        every matching rule is raised (``rule_matching: all``) and -1 returned."""
        checks = tuple((self._entry(r.name), r.match, r) for r in rules)
        clock = time.perf_counter_ns
        total = self.total

        if raise_alert is None:

            def first(ev: Any) -> int:
                start = t = clock()
                for i, (entry, match, _rule) in enumerate(checks):
                    hit = match(ev)
                    now = clock()
                    entry[0] += 1
                    entry[2] += now - t
                    t = now
                    if hit:
                        entry[1] += 1
                        total[0] += 1
                        total[1] += now - start
                        return i
                total[0] += 1
                total[1] += t - start
                return -1

            return first

        def every(ev: Any) -> int:
            start = t = clock()
            for entry, match, rule in checks:
                hit = match(ev)
                now = clock()
                entry[0] += 1
                entry[2] += now - t
                if hit:
                    entry[1] += 1
                    raise_alert(rule, ev)
                    after = clock()  # the alert's rendering is the rule's cost too
                    entry[2] += after - now
                    now = after
                t = now
            total[0] += 1
            total[1] += t - start
            return -1

        return every

    def rows(self) -> list[tuple[str, int, int, int]]:
        """(rule, evaluated, matches, nanoseconds), most expensive first."""
        return sorted(
            ((name, e[0], e[1], e[2]) for name, e in self.by_rule.items()),
            key=lambda r: (-r[3], r[0]),
        )

    def table(self, top: int = 10) -> str:
        """The ``top`` most expensive rules, as ``--rule-stats`` prints them."""
        rows = self.rows()
        spent = sum(r[3] for r in rows)
        lines = [
            f"Rule cost: {len(rows)} rules, {self.total[0]} events evaluated in "
            f"{spent / 1e9:.3f} s; the {min(top, len(rows))} most expensive:",
            f"  {'cpu_s':>8} {'share':>6} {'evaluated':>10} {'matches':>8} {'ns/eval':>8}  rule",
        ]
        for name, evaluated, matches, ns in rows[:top]:
            share = ns / spent if spent else 0.0
            per = ns // evaluated if evaluated else 0
            lines.append(
                f"  {ns / 1e9:8.3f} {share:6.1%} {evaluated:10d} {matches:8d} {per:8d}  {name}"
            )
        return "\n".join(lines)


def attach(pipeline: Pipeline, *, on_signal: bool = True) -> RuleStats:
    """Measure ``pipeline``'s rules from its first event on; SIGUSR1 prints the table."""
    stats = RuleStats()
    pipeline.rule_stats = stats
    if on_signal:

        def dump(_signum: int, _frame: Any) -> None:
            print(stats.table(), file=sys.stderr, flush=True)

        with contextlib.suppress(ValueError):  # not the main thread: the table at exit only
            signal.signal(signal.SIGUSR1, dump)
    return stats
