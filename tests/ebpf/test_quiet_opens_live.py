"""Quiet opens through the real eBPF probe (driver/bpf/probe_quiet.h, rules/quiet.py).

With the quiet files of the default rules pushed down, an open of /dev/null closed with
nothing in between is never written and counted as suppressed; a held open is written
before any other event of its process (dup2, fork), so the inspector's fd state is what it
would be without the filter; and a rule that names /dev/null takes it out of the quiet set,
after which those opens are seen again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance_data import REPO_ROOT
from driver_cases import run_trigger
from sentry.inspect.inspector import Inspector
from sentry.pipeline import load_ruleset
from sentry.rules.compiler import compile_filter
from sentry.rules.quiet import quiet_paths

pytestmark = pytest.mark.root

DEFAULT_RULES = REPO_ROOT / "rules" / "sentry_rules.yaml"
PAIRS = 300

FLOOD = f"""
for i in range({PAIRS}):
    os.close(os.open("/dev/null", os.O_RDONLY))
print("done")
"""

HELD = """
fd = os.open("/dev/null", os.O_RDONLY)
os.dup2(fd, 77)          # an event on the held descriptor: the open is written first
os.close(77)
os.close(fd)
fd2 = os.open("/dev/null", os.O_WRONLY)
pid = os.fork()          # the child inherits fd2: written before the fork
if pid == 0:
    os.write(fd2, b"x")
    os._exit(0)
os.waitpid(pid, 0)
os.close(fd2)
print("fds", fd, fd2)
"""


@pytest.fixture
def quiet_source(ebpf_source: Any) -> Iterator[Any]:
    yield ebpf_source
    ebpf_source.set_quiet([])


def _dev_null_opens(events: list[Any]) -> list[Any]:
    return [
        ev
        for ev in events
        if ev.info.name in ("open", "openat", "openat2") and ev.param_by_name("name") == "/dev/null"
    ]


def test_open_close_pairs_of_a_quiet_file_are_left_out_and_counted(
    quiet_source: Any, tmp_path: Path
) -> None:
    ruleset, _ = load_ruleset([DEFAULT_RULES])
    paths = quiet_paths(ruleset.rules)
    assert "/dev/null" in paths
    assert "/dev/null" in quiet_source.set_quiet(paths)
    before = quiet_source.stats()
    cap = run_trigger(quiet_source, FLOOD, tmp_path)
    after = quiet_source.stats()
    assert "done" in cap.output
    assert _dev_null_opens(cap.events) == []
    closes = [ev for ev in cap.events if ev.info.name == "close"]
    quiet = after.quiet - before.quiet
    # each pair: open enter and exit, close enter and exit; suppressed, not dropped
    assert quiet >= 4 * PAIRS, (quiet, len(closes))
    assert after.suppressed - before.suppressed >= quiet
    assert after.drops == before.drops


def test_a_held_open_is_written_before_any_other_event_of_its_process(
    quiet_source: Any, tmp_path: Path
) -> None:
    quiet_source.set_quiet(["/dev/null"])
    before = quiet_source.stats()
    cap = run_trigger(quiet_source, HELD, tmp_path)
    after = quiet_source.stats()
    fd, fd2 = (int(x) for x in cap.output.split("fds", 1)[1].split()[:2])
    names = [(ev.info.name, ev.info.direction) for ev in cap.events]
    opens = _dev_null_opens(cap.events)
    # the two held opens, written late as openat exits naming the descriptors
    assert [(ev.info.name, ev.info.direction, ev.param_by_name("fd")) for ev in opens] == [
        ("openat", "<", fd),
        ("openat", "<", fd2),
    ], names
    assert after.quiet_written - before.quiet_written >= 2
    first_dup = next(i for i, ev in enumerate(cap.events) if ev.info.name.startswith("dup"))
    first_clone = next(
        i for i, ev in enumerate(cap.events) if ev.info.name in ("clone", "clone3", "fork")
    )
    assert cap.events.index(opens[0]) < first_dup
    assert cap.events.index(opens[1]) < first_clone
    # the inspector's fd state is right: the dup, and the child's write, name /dev/null
    inspector = Inspector.from_host()
    on_null = compile_filter("fd.name = /dev/null").match
    seen = []
    for ev in cap.events:
        inspector.process(ev)
        if ev.info.name.startswith("dup") and ev.info.direction == "<":
            seen.append(("dup", on_null(ev)))
        if ev.info.name == "write" and ev.info.direction == ">":
            seen.append(("write", on_null(ev)))
    assert ("dup", True) in seen and ("write", True) in seen, seen


def test_a_rule_naming_dev_null_makes_its_opens_seen(quiet_source: Any, tmp_path: Path) -> None:
    extra = tmp_path / "null.yaml"
    extra.write_text(
        "- rule: Dev Null Opened\n  desc: d\n"
        "  condition: evt.type in (open, openat) and evt.dir=< and fd.name=/dev/null\n"
        "  output: opened %fd.name\n  priority: WARNING\n"
    )
    ruleset, defs = load_ruleset([DEFAULT_RULES, extra])
    assert not defs.errors
    paths = quiet_paths(ruleset.rules)
    assert "/dev/null" not in paths and "/dev/zero" in paths
    quiet_source.set_quiet(paths)
    before = quiet_source.stats()
    cap = run_trigger(quiet_source, FLOOD, tmp_path)
    after = quiet_source.stats()
    exits = [ev for ev in _dev_null_opens(cap.events) if ev.info.direction == "<"]
    assert len(exits) == PAIRS
    assert after.quiet == before.quiet
    # and the rule matches them, as the engine would evaluate it
    rule = next(r for r in ruleset.rules if r.name == "Dev Null Opened")
    inspector = Inspector.from_host()
    matched = 0
    for ev in cap.events:
        inspector.process(ev)
        matched += ev.info.name == "openat" and rule.filter.match(ev)
    assert matched == PAIRS
