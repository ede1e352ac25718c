"""Rules reloads while events flow: the loop never pairs one ruleset's dispatch with another's
rules (issue 12: a wrong rule name or an IndexError on SIGHUP under load).

Two rulesets over Falco's open-multiple-files trace, laid out so that any mix-up shows: in
``A`` the open exit matches the fifth rule (index 4), in ``B`` the first and only (index 0).
A's index into B's rules raises IndexError; B's index into A's names ``A0``, whose
condition never holds. Every open exit must raise exactly one alert, named ``A4`` or ``B0``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from conformance_data import FALCO_DIR
from sentry.capture.scapreader import ScapReader
from sentry.inspect.inspector import Inspector
from sentry.outputs.format import OutputFormat
from sentry.pipeline import Pipeline, PipelineOptions
from sentry.rules.alert import Alert
from sentry.rules.loader import RulesLoader
from sentry.rules.ruleset import Ruleset, compile_rules

TRACE = FALCO_DIR / "test" / "trace_files" / "open-multiple-files.scap"
OPEN_EXIT = "evt.type=open and evt.dir=<"

# Under CI (which installs the conformance data) a missing trace fails the tests instead.
pytestmark = pytest.mark.skipif(
    not TRACE.exists() and not os.environ.get("CI"), reason=f"no Falco trace at {TRACE}"
)


def compile_text(text: str) -> Ruleset:
    loader = RulesLoader()
    loader.load_text(text, "t.yaml")
    assert not loader.defs.errors
    return compile_rules(loader.defs, output_compiler=lambda out, _src: OutputFormat(out))


def rule(name: str, condition: str) -> str:
    return (
        f"- rule: {name}\n  desc: d\n  condition: {condition}\n"
        '  output: "%fd.name"\n  priority: info\n'
    )


RULES_A = "".join(
    [rule(f"A{i}", f"{OPEN_EXIT} and proc.name=no_such_process_{i}") for i in range(4)]
    + [rule("A4", OPEN_EXIT)]
)
RULES_B = rule("B0", OPEN_EXIT)


@pytest.fixture(scope="module")
def rulesets() -> tuple[Ruleset, Ruleset]:
    return compile_text(RULES_A), compile_text(RULES_B)


def open_exits() -> int:
    return sum(1 for ev in ScapReader(TRACE) if ev.info.name == "open" and ev.type & 1)


def passes(pipeline: Pipeline, count: int, on_event: Callable[[int], None] | None = None) -> None:
    """Read the trace ``count`` times through ``pipeline``, each with its own inspector."""
    for _ in range(count):
        reader = ScapReader(TRACE)
        pipeline.run(reader, Inspector.from_capture(reader), on_event)


def alternate(a: Ruleset, b: Ruleset) -> Iterator[Ruleset]:
    while True:
        yield b
        yield a


def test_open_exits_raise_one_alert_each_without_reloads(
    rulesets: tuple[Ruleset, Ruleset],
) -> None:
    a, b = rulesets
    for ruleset, name in ((a, "A4"), (b, "B0")):
        alerts: list[Alert] = []
        passes(Pipeline(ruleset, alerts.append, PipelineOptions(hostname="h")), 1)
        assert alerts and {x.rule for x in alerts} == {name}
        assert len(alerts) == open_exits()


@pytest.mark.parametrize("per_event", [False, True], ids=["batch-loop", "on-event-loop"])
def test_reload_inside_a_batch_keeps_the_batch_on_its_pair(
    rulesets: tuple[Ruleset, Ruleset], per_event: bool
) -> None:
    """Each alert reloads (the sink runs mid-batch, the worst moment for the reader): the
    rest of the batch must still be evaluated with one pair, old or new, never half of each."""
    a, b = rulesets
    alerts: list[Alert] = []
    swaps = alternate(a, b)
    pipeline: Pipeline

    def sink(alert: Alert) -> None:
        alerts.append(alert)
        pipeline.use_ruleset(next(swaps))

    pipeline = Pipeline(a, sink, PipelineOptions(hostname="h"))
    passes(pipeline, 3, (lambda _ts: None) if per_event else None)
    assert {x.rule for x in alerts} <= {"A4", "B0"}
    assert {x.rule for x in alerts} == {"A4", "B0"}  # both pairs did run
    assert len(alerts) == 3 * open_exits()


def test_reloads_from_another_thread_while_events_flow(
    rulesets: tuple[Ruleset, Ruleset],
) -> None:
    """As the daemon's control thread does on SIGHUP: reload back to back while the main
    thread reads the trace over and over (thread switches made as frequent as possible)."""
    a, b = rulesets
    alerts: list[Alert] = []
    pipeline = Pipeline(a, alerts.append, PipelineOptions(hostname="h"))
    stop = threading.Event()
    reloads = 0
    failures: list[BaseException] = []

    def reloader() -> None:
        nonlocal reloads
        try:
            for ruleset in alternate(a, b):
                if stop.is_set():
                    return
                pipeline.use_ruleset(ruleset)
                reloads += 1
        except BaseException as err:  # seen by the assertion below
            failures.append(err)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=reloader)
    thread.start()
    try:
        passes(pipeline, 100)
        passes(pipeline, 100, lambda _ts: None)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert not failures
    assert reloads > 10
    assert {x.rule for x in alerts} <= {"A4", "B0"}
    assert len(alerts) == 200 * open_exits()
