"""The replay's inspector with its fds in C (inspect/cstate_inspector.py) against the
Python reference: the same field values on every event, the same alerts, fewer events
made Python objects, and ``state_tracker`` choosing between them in the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from inspect_story import write_story
from tests.cstate_compare import _tracker, compare_fields

from conformance_data import FALCO_DIR
from sentry.capture.scapreader import ScapReader
from sentry.cli.run import output_compiler
from sentry.events.table import EVENTS
from sentry.inspect.cstate_inspector import CStateInspector
from sentry.inspect.inspector import Inspector
from sentry.pipeline import Pipeline, PipelineOptions, load_ruleset, needed_event_types

TRACES = sorted((FALCO_DIR / "test" / "trace_files").glob("*.scap"))
RULES = Path(__file__).resolve().parents[3] / "rules"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_story(tmp_path_factory.mktemp("story") / "story.scap")


# What a rule or a tail filter on these syscalls makes the reader deliver: the C tracker
# is fed the rest from the file (V2 blocks in C; V1 captures, as most Falco traces, event
# by event), which the reference reads too.
SOME = {"open", "openat", "connect", "sendto", "read", "write", "execve", "fchdir"}


@pytest.mark.parametrize("only", [None, SOME], ids=["every-event", "some-syscalls"])
@pytest.mark.parametrize("trace", TRACES, ids=[t.stem for t in TRACES])
def test_fields_agree_on_falco_traces(trace: Path, only: set[str] | None) -> None:
    n, problems = compare_fields(trace, only)
    assert n > 0 or only is not None
    assert not problems, "\n".join(problems)


def test_fields_agree_on_every_state_change(story: Path) -> None:
    """The story: dirfd and cwd-relative opens, dup, pipe, connect/bind/accept (renames),
    close, clone with and without CLONE_FILES, execve, setuid."""
    for only in (None, SOME):
        n, problems = compare_fields(story, only)
        assert n > 10
        assert not problems, "\n".join(problems)


def _alerts(path: Path, cls: type[Inspector]) -> tuple[list[tuple[str, str]], int, set[str]]:
    ruleset, defs = load_ruleset([RULES], output_compiler=output_compiler(None))
    assert not defs.errors
    out: list[tuple[str, str]] = []
    reader = ScapReader(path)
    inspector = cls.from_capture(reader)
    types = needed_event_types(ruleset, inspector)
    seen: set[str] = set()

    def sink(alert: object) -> None:
        out.append((alert.rule, alert.output))  # type: ignore[attr-defined]

    pipeline = Pipeline(ruleset, sink, PipelineOptions(hostname="h", rule_matching="all"))
    stats = pipeline.run(reader, inspector)
    seen = {EVENTS[t].name for t in types or ()}
    return out, stats.events, seen


def test_same_alerts_fewer_python_events(story: Path) -> None:
    _tracker()
    ref, ref_events, ref_types = _alerts(story, Inspector)
    c, c_events, c_types = _alerts(story, CStateInspector)
    assert ref, "the story raises alerts with the default rules"
    assert c == ref
    # close and pipe are state only: the reference reads them, the C tracker alone does.
    assert {"close", "pipe", "fcntl"} & ref_types and {"close", "pipe"} <= ref_types - c_types
    assert c_events < ref_events


def test_fd_read_after_the_tracker_moved_on_is_an_error(story: Path) -> None:
    """An event's fd is C's while the event is handled: read later, it would be another
    event's state. Reading it then fails loudly instead."""
    _tracker()
    reader = ScapReader(story)
    inspector = CStateInspector.from_capture(reader)
    events = [ev for batch in reader.batches() for ev in batch]
    opens = [ev for ev in events if ev.info.name == "openat" and ev.info.direction == "<"]
    assert len(opens) >= 2
    first, second = opens[0], opens[1]
    for ev in events:
        inspector.process(ev)
        if ev is first:
            assert first.fdinfo is not None and first.fdinfo.name.endswith("shared.txt")
        if ev is second:
            break
    assert first.fdinfo is not None  # read while handled: kept
    with pytest.raises(RuntimeError, match="after the tracker moved on"):
        _ = events[events.index(first) - 1].fdinfo  # never read while it was handled


def _sentry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from sentry.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_state_tracker_key_in_tail_and_run(story: Path) -> None:
    fmt = "%evt.num %evt.type %fd.num %fd.name %proc.name %proc.cwd"
    c = _sentry("tail", "-e", str(story), "-p", fmt, "fd.num >= 0")
    py = _sentry("tail", "-e", str(story), "-p", fmt, "-o", "state_tracker=python", "fd.num >= 0")
    assert c.returncode == 0 and py.returncode == 0, c.stderr + py.stderr
    assert c.stdout.count("\n") > 10 and c.stdout == py.stdout, c.stdout
    runs = [
        _sentry("run", "-e", str(story), "-o", "json_output=true", "-o", f"state_tracker={t}")
        for t in ("c", "python")
    ]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert '"rule"' in runs[0].stdout and runs[0].stdout == runs[1].stdout
    bad = _sentry("run", "-e", str(story), "-o", "state_tracker=go")
    assert bad.returncode != 0 and "state_tracker: must be one of c, python" in bad.stderr
    assert "Traceback" not in bad.stderr
