"""Generated rule programs agree with the compiled closures, rule by rule and on first match."""

from __future__ import annotations

import re

import pytest

from sentry.capture.scapmeta import MachineInfo, ThreadEntry
from sentry.capture.scapreader import ScapReader
from sentry.capture.scapwriter import ScapWriter
from sentry.inspect.inspector import Inspector
from sentry.outputs.format import OutputFormat
from sentry.rules.codegen import build_program, header_constants
from sentry.rules.loader import RulesLoader
from sentry.rules.ruleset import CompiledRule, compile_rules

T0 = 1_600_000_000_000_000_000
O_RDONLY, O_WRONLY, O_CREAT = 1, 2, 4  # scap's PPM_O_* flags

CONDITIONS = [
    "evt.type = open and fd.name = /etc/passwd",
    "evt.type in (open, openat) and evt.is_open_write = true and fd.num >= 0",
    "evt.type = open and evt.is_open_read != true",
    "evt.type = open and fd.name startswith /etc and not proc.name in (cat, less)",
    "evt.type = open and fd.name contains ssh and proc.name != bash",
    "evt.type = open and fd.name pmatch (/etc, /root/.ssh) and fd.num < 5",
    "evt.type = open and fd.name glob '/etc/*' and proc.pname exists",
    "evt.type = open and toupper(proc.name) = CAT",
    "evt.type = open and (proc.name = cat or proc.name in (vi, nano)) and fd.typechar = f",
    "evt.type = open and fd.directory = /etc and evt.dir = <",
    "evt.type = open and proc.name = val(proc.pname)",
    "evt.type = open and fd.name in ()",
    "evt.type = open and not (evt.is_open_write = true and fd.num >= 0) and proc.pid > 150",
    "evt.type = open and evt.rawres >= 0 and fd.name endswith passwd",
    "evt.type = open and fd.name icontains SHADOW or proc.cmdline contains keys",
    "evt.type = open and fd.sip = 10.0.0.1",
    "evt.type = open and evt.arg.flags contains O_CREAT",
    "evt.type = open and evt.dir = > and evt.is_open_write = true",
    "(evt.type = open or evt.type = execve) and evt.dir != < and proc.name = vi",
]


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[object]:
    """Opens by cat, vi and bash (read, write, create; some failing), seen by the inspector."""
    path = tmp_path_factory.mktemp("codegen") / "opens.scap"
    procs = [(50, "bash", 1), (100, "cat", 50), (200, "vi", 50), (300, "bash", 50)]
    threads = [
        ThreadEntry(
            tid=t, pid=t, ptid=p, comm=c, exe=c, exepath=f"/bin/{c}", args=["x"], cwd="/root/"
        )
        for t, c, p in procs
    ]
    opens = [
        ("/etc/passwd", O_RDONLY, 3),
        ("/etc/shadow", O_WRONLY, 4),
        ("/root/.ssh/authorized_keys", O_WRONLY | O_CREAT, 6),
        ("/tmp/x", O_RDONLY, -2),
        ("/etc/ssh/sshd_config", O_RDONLY, 5),
    ]
    with ScapWriter(path, machine=MachineInfo(num_cpus=1, hostname="t"), threads=threads) as w:
        ts = T0
        for tid, _comm, _ in procs[1:]:
            for name, flags, fd in opens:
                w.write_event("open>", name, flags, 0, ts=ts, tid=tid)
                w.write_event("open<", fd, name, flags, 0, 0, ts=ts + 10, tid=tid)
                ts += 100
    reader = ScapReader(path)
    inspector = Inspector.from_capture(reader)
    out: list[object] = []
    for batch in reader.batches():
        for ev in batch:
            inspector.process(ev)
            out.append(ev.detach() if hasattr(ev, "detach") else ev)
    return out


def compiled(conditions: list[str]) -> list[CompiledRule]:
    loader = RulesLoader()
    text = "".join(
        f"- rule: r{i}\n  desc: d\n  condition: {c}\n  output: o\n  priority: INFO\n"
        for i, c in enumerate(conditions)
    )
    loader.load_text(text, "t.yaml")
    ruleset = compile_rules(loader.defs, output_compiler=lambda out, _src: OutputFormat(out))
    assert not loader.defs.errors, loader.defs.errors
    return ruleset.rules


def test_each_rule_program_agrees_with_its_closure(events: list) -> None:
    rules = compiled(CONDITIONS)
    matched = 0
    for rule in rules:
        program = build_program([rule])
        by_type = {n: build_program([rule], header_constants(n)) for n in {e.type for e in events}}
        for ev in events:
            want = bool(rule.match(ev))
            assert (program(ev) == 0) == want, (rule.filter.text, ev)
            assert (by_type[ev.type](ev) == 0) == want, (rule.filter.text, ev)
            matched += want
    assert matched > 10  # the conditions do fire on these events


def test_programs_for_one_event_type_decide_header_tests_when_built() -> None:
    from sentry.events.table import event_by_name

    rule = compiled(["evt.type = open and evt.dir = < and proc.name = cat"])[0]
    enter = event_by_name("open", ">").code
    exit_ = event_by_name("open", "<").code
    assert "xf" not in (build_program([rule], header_constants(enter)).__doc__ or "xf")
    assert "xf" in (build_program([rule], header_constants(exit_)).__doc__ or "")
    assert header_constants(enter) == {"evt.dir": ">", "evt.type": "open"}


def test_rule_list_program_returns_first_match(events: list) -> None:
    rules = compiled(CONDITIONS)
    program = build_program(rules)
    seen = set()
    for ev in events:
        first = next((i for i, r in enumerate(rules) if r.match(ev)), -1)
        assert program(ev) == first
        seen.add(first)
    assert len(seen) > 3


def test_fields_and_shared_conditions_get_one_local_each(events: list) -> None:
    shared = "(proc.name in (cat, vi) or fd.name startswith /etc)"
    rules = compiled([f"evt.type = open and {shared} and fd.num = {n}" for n in range(4)])
    program = build_program(rules)
    source = program.__doc__ or ""
    assert len(set(re.findall(r"\bxf\d+\(", source))) == 3  # proc.name, fd.name, fd.num
    assert len(set(re.findall(r"\bb\d+ :=", source))) == 1
    for ev in events:
        assert program(ev) == next((i for i, r in enumerate(rules) if r.match(ev)), -1)


def test_rule_without_tree_runs_its_matcher(events: list) -> None:
    rule = compiled(["evt.type = open and fd.name = /etc/passwd"])[0]
    rule.match_ast = None
    program = build_program([rule])
    assert [program(ev) for ev in events] == [0 if rule.match(ev) else -1 for ev in events]
    assert any(program(ev) == 0 for ev in events)
