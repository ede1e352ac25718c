"""Enter events and today's Falco (issue 15): a capture with enter and exit events, as our
drivers write them, read by rules of Falco 0.28.1 (evaluated on both) and of today's Falco
(required_engine_version >= 0.52.0: exit events only, each reading its enter's parameters).

Falco >= 0.42's drivers send one exit event per syscall carrying the enter's parameters;
ours still send the pair, so the exit's ``evt.arg.X`` reads the enter's when it lacks X.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sentry.capture.scapmeta import ThreadEntry
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.events.wire import SCAP_VALUES
from sentry.fields.registry import resolve
from sentry.inspect.inspector import Inspector
from sentry.rules.loader import load_rules
from sentry.rules.ruleset import ENTERLESS_ENGINE_VERSION, Selection, compile_rules

T0 = 1_700_000_000_000_000_000
CLONE_NEWNS, CLONE_NEWUSER = (
    SCAP_VALUES["SCAP_CL_CLONE_NEWNS"],
    SCAP_VALUES["SCAP_CL_CLONE_NEWUSER"],
)
SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("enter") / "enter.scap"
    sh = ThreadEntry(300, 300, 1, comm="sh", exe="sh", exepath="/bin/sh", cwd="/", uid=1000)
    with ScapWriter(path, threads=[sh]) as w:
        w.write_event("setuid>", 0, tid=300, ts=T0)
        w.write_event("setuid<", 0, tid=300, ts=T0 + 1)
        w.write_event("unshare>", CLONE_NEWUSER, tid=300, ts=T0 + 10)
        w.write_event("unshare<", 0, tid=300, ts=T0 + 11)
        w.write_event("setns>", 5, CLONE_NEWNS, tid=300, ts=T0 + 20)
        w.write_event("setns<", 0, tid=300, ts=T0 + 21)
        # an exit whose enter was not seen (dropped): nothing to read from it
        w.write_event("setuid<", 0, tid=300, ts=T0 + 30)
    return path


def _fields(capture: Path, *fields: tuple[str, str]) -> list[tuple[str, dict[str, Any]]]:
    reader = ScapReader(capture)
    inspector = Inspector.from_capture(reader)
    out = []
    for ev in reader:
        inspector.process(ev)
        values = {f"{n}.{a}": resolve(n, a).extract(ev) for n, a in fields}
        out.append((f"{ev.info.name}{ev.info.direction}", values))
    return out


def test_exit_reads_its_enter_parameters(capture: Path) -> None:
    got = _fields(
        capture,
        ("evt.rawarg", "uid"),
        ("evt.arg", "flags"),
        ("evt.rawarg", "nstype"),
        ("evt.rawarg", "fd"),
    )
    uid, flags, nstype, fd = "evt.rawarg.uid", "evt.arg.flags", "evt.rawarg.nstype", "evt.rawarg.fd"
    assert got[1] == ("setuid<", {uid: 0, flags: None, nstype: None, fd: None})
    assert got[3][0] == "unshare<" and got[3][1][flags] == "CLONE_NEWUSER"
    assert got[5] == ("setns<", {uid: None, flags: None, nstype: CLONE_NEWNS, fd: 5})
    # the enter events keep their own
    assert got[0][1][uid] == 0 and got[2][1][flags] == "CLONE_NEWUSER"
    # an exit without its enter: <NA>, not a value from an earlier call
    assert got[6] == ("setuid<", {uid: None, flags: None, nstype: None, fd: None})


def test_evt_arg_by_name_without_specialising(capture: Path) -> None:
    """The unspecialised extractor (an event type it was not built for) agrees."""
    reader = ScapReader(capture)
    inspector = Inspector.from_capture(reader)
    arg = resolve("evt.rawarg", "uid")
    seen = []
    for ev in reader:
        inspector.process(ev)
        seen.append(arg.extract(ev))
    assert seen == [0, 0, None, None, None, None, None]


RULES = """
- required_engine_version: {version}
- rule: Namespace change
  desc: d
  condition: evt.type in (unshare, setns)
  output: "ns %evt.type %evt.dir"
  priority: WARNING
- rule: Setuid root
  desc: d
  condition: evt.type=setuid and evt.rawarg.uid=0 and evt.dir=<
  output: "setuid %evt.rawarg.uid"
  priority: WARNING
"""


def _ruleset(tmp_path: Path, version: str, mode: str = "auto") -> Any:
    path = tmp_path / f"rules-{version}.yaml"
    path.write_text(RULES.format(version=version))
    defs = load_rules([path])
    defs.raise_errors()
    return compile_rules(defs).select(Selection(enter_events=mode))


def test_auto_follows_required_engine_version(tmp_path: Path) -> None:
    assert _ruleset(tmp_path, "9").evaluates_enter  # Falco 0.28.1's rules
    assert _ruleset(tmp_path, "0.51.0").evaluates_enter
    assert not _ruleset(tmp_path, ".".join(map(str, ENTERLESS_ENGINE_VERSION))).evaluates_enter
    assert not _ruleset(tmp_path, "0.57.0").evaluates_enter  # today's falcosecurity/rules
    assert _ruleset(tmp_path, "0.57.0", "evaluate").evaluates_enter
    assert not _ruleset(tmp_path, "9", "skip").evaluates_enter


def _alerts(tmp_path: Path, capture: Path, version: str, *opts: str) -> list[str]:
    rules = tmp_path / f"r-{version}.yaml"
    rules.write_text(RULES.format(version=version))
    res = subprocess.run(
        [*SENTRY, "run", "-r", str(rules), "-e", str(capture), *opts],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return [
        line.split(": ", 1)[1].split(" ", 1)[1] for line in res.stdout.splitlines() if ": " in line
    ]


@pytest.mark.parametrize("tracker", ["c", "python"])
def test_one_alert_per_syscall_for_todays_rules(
    tmp_path: Path, capture: Path, tracker: str
) -> None:
    """The lone setuid exit reads no enter with either state tracker: the unshare and setns
    enters in between (no rule needs them) still count as the thread's last enter."""
    got = _alerts(tmp_path, capture, "0.57.0", "-o", f"state_tracker={tracker}")
    assert sorted(got) == ["ns setns <", "ns unshare <", "setuid 0"], got


def test_both_directions_for_old_rules_and_when_asked(tmp_path: Path, capture: Path) -> None:
    old = _alerts(tmp_path, capture, "9")
    assert sorted(old) == [
        "ns setns <",
        "ns setns >",
        "ns unshare <",
        "ns unshare >",
        "setuid 0",
    ], old
    asked = _alerts(tmp_path, capture, "0.57.0", "-o", "engine.enter_events=evaluate")
    assert sorted(asked) == sorted(old)
    skipped = _alerts(tmp_path, capture, "9", "-o", "engine.enter_events=skip")
    assert sorted(skipped) == ["ns setns <", "ns unshare <", "setuid 0"]


OR_RULE = """
- required_engine_version: {version}
- rule: Openat or cat
  desc: d
  condition: evt.type=openat or proc.name=cat
  output: "x"
  priority: WARNING
"""


@pytest.mark.parametrize(("version", "types"), [("0.57.0", None), ("9", {"openat"})])
def test_evttype_resolver_of_an_or_with_another_field(
    tmp_path: Path, version: str, types: set[str] | None
) -> None:
    """Today's resolver (libs' filter_evttype_resolver) runs `evt.type=openat or
    proc.name=cat` on every event type; Falco 0.28.1's walk on openat only."""
    path = tmp_path / "or.yaml"
    path.write_text(OR_RULE.format(version=version))
    defs = load_rules([path])
    ruleset = compile_rules(defs)
    (rule,) = ruleset.rules
    assert rule.index_types == (frozenset(types) if types else None)
    assert ruleset.evttype_names() == types
