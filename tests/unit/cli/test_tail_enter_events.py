"""``sentry tail`` and ``engine.enter_events`` (issue 15), through the real CLI on real
captures: with ``skip`` (``-o`` or ``-c``) tail neither matches nor prints syscall enter
events, as Falco >= 0.42 has none, while each exit still reads its enter's parameters;
without the key (``auto``, no rules) it shows both directions, as sysdig does.

Judged against sysdig 0.29.3 where it is installed: the events of Falco's traces it prints,
and the exits among them (``evt.dir='<'``), are what tail prints without and with ``skip``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance_data import FALCO_DIR
from sentry.capture.scapmeta import ThreadEntry
from sentry.capture.scapwriter import ScapWriter

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
TRACES = FALCO_DIR / "test" / "trace_files"
SKIP = ("-o", "engine.enter_events=skip")
T0 = 1_700_000_000_000_000_000
# Events with an enter direction that are no syscall's enter (they stay under skip).
META_ENTERS = {"procexit", "switch", "signaldeliver", "container"}


def tail(*args: str | Path) -> list[str]:
    done = subprocess.run(
        [*SENTRY, "tail", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def sysdig(trace: Path, *args: str) -> list[str]:
    done = subprocess.run(
        ["sysdig", "-r", str(trace), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


@pytest.mark.skipif(not TRACES.is_dir(), reason=f"no Falco traces at {TRACES}")
@pytest.mark.parametrize("name", ["cat_write.scap", "open-multiple-files.scap", "ping_sendto.scap"])
def test_skip_hides_the_enter_events_of_falcos_traces(name: str) -> None:
    trace = TRACES / name
    both = tail("-e", trace)
    exits = tail("-e", trace, *SKIP)
    assert tail("-e", trace, "-o", "engine.enter_events=evaluate") == both
    # what skip leaves out is exactly the syscall enters; every exit and meta event stays
    assert [line for line in both if line not in exits] == [
        line for line in both if line.split()[5] == ">" and line.split()[6] not in META_ENTERS
    ]
    assert all(line in both for line in exits)
    dropped = len(both) - len(exits)
    assert dropped > len(both) // 3, (len(both), len(exits))
    if shutil.which("sysdig"):
        assert len(both) == len(sysdig(trace))
        assert sum(1 for line in exits if line.split()[5] == "<") == len(
            sysdig(trace, "evt.dir='<'")
        )


@pytest.mark.skipif(not TRACES.is_dir(), reason=f"no Falco traces at {TRACES}")
def test_skip_filter_matches_exits_only_and_json_too(tmp_path: Path) -> None:
    trace = TRACES / "cat_write.scap"
    flt = "evt.type in (open, openat, write) and proc.name=cat"
    both = tail("-e", trace, flt)
    exits = tail("-e", trace, *SKIP, flt)
    assert {line.split()[5] for line in both} == {">", "<"}
    assert {line.split()[5] for line in exits} == {"<"}
    assert len(exits) == sum(1 for line in both if line.split()[5] == "<")
    assert tail("-e", trace, *SKIP, "--json", flt) == [
        line for line in tail("-e", trace, "--json", flt) if '"evt.dir":"<"' in line
    ]
    # a rule on enter events matches nothing: there are none
    assert tail("-e", trace, *SKIP, "evt.dir=>") == [
        line for line in tail("-e", trace, "evt.dir=>") if line.split()[6] in META_ENTERS
    ]
    # the config file says the same as -o
    config = tmp_path / "sentry.yaml"
    config.write_text("engine:\n  enter_events: skip\n")
    assert tail("-e", trace, "-c", config, flt) == exits


@pytest.fixture(scope="module")
def setuid_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A capture of our writer: setuid(0), setuid(1000), then another call."""
    path = tmp_path_factory.mktemp("tail-enter") / "setuid.scap"
    sh = ThreadEntry(300, 300, 1, comm="sh", exe="sh", exepath="/bin/sh", cwd="/", uid=1000)
    with ScapWriter(path, threads=[sh]) as w:
        w.write_event("setuid>", 0, tid=300, ts=T0)
        w.write_event("setuid<", 0, tid=300, ts=T0 + 1)
        w.write_event("setuid>", 1000, tid=300, ts=T0 + 10)
        w.write_event("setuid<", 0, tid=300, ts=T0 + 11)
        w.write_event("unshare>", 0, tid=300, ts=T0 + 20)
        w.write_event("unshare<", 0, tid=300, ts=T0 + 21)
    return path


def test_skipped_enters_still_give_their_exits_the_parameters(setuid_capture: Path) -> None:
    fmt = ("-p", "*%evt.num %evt.dir %evt.rawarg.uid")
    assert tail("-e", setuid_capture, *fmt, "evt.type=setuid") == [
        "1 > 0",
        "2 < 0",
        "3 > 1000",
        "4 < 1000",
    ]
    # the filter cannot select the enters, but they are read: the exit knows its uid
    assert tail("-e", setuid_capture, *SKIP, *fmt, "evt.type=setuid") == [
        "2 < 0",
        "4 < 1000",
    ]
    assert tail("-e", setuid_capture, *SKIP, *fmt, "evt.rawarg.uid=0") == ["2 < 0"]
    assert tail("-e", setuid_capture, *fmt, "evt.rawarg.uid=0") == ["1 > 0", "2 < 0"]
    assert len(tail("-e", setuid_capture, *SKIP)) == 3  # every exit, no enter


EXPLAIN_RULES = """\
- required_engine_version: {version}
- rule: Setuid root
  desc: d
  condition: evt.type=setuid and evt.rawarg.uid=0
  output: "setuid %evt.rawarg.uid"
  priority: WARNING
"""


@pytest.mark.parametrize(
    ("version", "opts", "matched"),
    [
        ("0.57.0", (), ["2"]),  # today's rules: auto skips the enters, as sentry run
        ("9", (), ["1", "2"]),  # 0.28.1's rules: auto evaluates both
        ("9", SKIP, ["2"]),
        ("0.57.0", ("-o", "engine.enter_events=evaluate"), ["1", "2"]),
    ],
)
def test_explain_follows_the_rules_engine_version(
    tmp_path: Path, setuid_capture: Path, version: str, opts: tuple[str, ...], matched: list[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(EXPLAIN_RULES.format(version=version))
    out = tail("--explain", "Setuid root", "-r", rules, "-e", setuid_capture, *opts)
    assert [line.split()[0] for line in out if "matches" in line] == matched
