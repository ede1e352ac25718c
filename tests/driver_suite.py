"""The syscall-coverage tests both live drivers run: the same code, with each folder's source.

``tests/ebpf/test_ebpf_syscalls.py`` (the probe, on the host as root) and
``tests/kmod/test_kmod_syscalls.py`` (the module, in the qemu guest) import these tests; each
folder's conftest provides ``live_source``, a module-scoped live capture that sees the
test's child processes. The cases and the workload are in ``driver_cases.py``.
Sampling is tested here too: both drivers must drop alike (``driver/include/sentry_sampling.h``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driver_cases import (
    CASES,
    EFAULT,
    WORKLOAD_PARAMS,
    Captured,
    Case,
    WorkloadParams,
    check_layout,
    run_case,
    run_sampled,
    run_workload,
)
from sentry.errors import DriverError
from sentry.events.syscalls import X86_64_BY_NAME, X86_64_SYSCALLS
from sentry.events.table import event_by_name

Workload = tuple[Captured, dict[str, Any], str]


@pytest.fixture(scope="module")
def workload(live_source: Any, tmp_path_factory: pytest.TempPathFactory) -> Workload:
    """driver_workload.py's events through this folder's driver, captured once."""
    work = tmp_path_factory.mktemp("workload")
    cap, facts = run_workload(live_source, work)
    return cap, facts, str(work)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_syscall_case(live_source: Any, case: Case, tmp_path: Path) -> None:
    run_case(live_source, case, tmp_path)


@pytest.mark.parametrize(
    "expect", WORKLOAD_PARAMS, ids=[f"{c[0]}{c[1]}{i}" for i, c in enumerate(WORKLOAD_PARAMS)]
)
def test_workload_event_params(workload: Workload, expect: WorkloadParams) -> None:
    cap, facts, work = workload
    evt, direction, params = expect
    want = params(facts, work)
    seen = [e.params() for e in cap.named(evt, direction) if e.tid in (facts["pid"], facts["tid"])][
        :5
    ]
    assert cap.find_all(evt, direction, **want), (
        f"no {evt}{direction} with {want}; the workload's were {seen}"
    )


def test_every_event_has_the_tables_layout(workload: Workload) -> None:
    """Parameter count, sizes and types of each event are exactly the event table's."""
    cap, _, _ = workload
    assert len({ev.type for ev in cap.events}) > 100  # the workload covers most events
    check_layout(cap.events)


def test_table_syscalls_are_never_generic(workload: Workload) -> None:
    """Every syscall the recipe table gives a dedicated event (sentry_syscall_specs.h, which
    syscalls.py mirrors: tests/ebpf/test_specs.py) is written as that event, never as a
    generic one; and the generic ones the workload makes (chown, prctl) are generic."""
    cap, _, _ = workload
    generic = {ev.param(1) for ev in cap.named("syscall", ">")}
    table = {nr: sc for nr, sc in X86_64_SYSCALLS.items() if sc.enter_event}
    dedicated = sorted(table[nr].name for nr in generic if nr in table)
    assert not dedicated, f"generic events for syscalls with a dedicated event: {dedicated}"
    assert {X86_64_BY_NAME["chown"].nr, X86_64_BY_NAME["prctl"].nr} <= generic


def test_process_events_have_the_tables_layout(workload: Workload) -> None:
    cap, _, _ = workload
    for name, direction in (("execve", "<"), ("clone", "<"), ("procexit", ">")):
        evs = cap.named(name, direction)
        assert evs, f"no {name}{direction}"
        want = len(event_by_name(name, direction).params)
        assert {ev.nparams for ev in evs} == {want}, f"{name}{direction}: table has {want}"


def test_unreadable_path_is_empty_and_counted(workload: Workload) -> None:
    cap, facts, _ = workload
    assert facts["efault"] == -1
    failed = cap.find_all("openat", "<", fd=-EFAULT, name=None)
    assert failed and failed[0].tid == facts["pid"]
    assert cap.counted is not None and cap.counted.drops_page_fault >= 1


def test_execve_exit_carries_the_new_process(workload: Workload) -> None:
    cap, facts, work = workload
    (ev,) = [e for e in cap.find_all("execve", "<", res=0) if e.tid == facts["exec_child"]]
    assert ev.param_by_name("exe") == "echo"
    assert ev.param_by_name("args") == b"sentry-arg1\0sentry-arg2\0"
    assert ev.param_by_name("pid") == facts["exec_child"]
    assert ev.param_by_name("ptid") == facts["pid"]
    assert ev.param_by_name("comm") == "echo"
    assert ev.param_by_name("cwd").rstrip("/") == work
    assert b"SENTRY_ENV=yes" in ev.param_by_name("env")
    assert ev.param_by_name("fdlimit") > 0
    assert b"cpu=" in (ev.param_by_name("cgroups") or b"cpu=")


def test_execveat_exit(workload: Workload) -> None:
    """A successful execveat is reported as scap does: an execveat enter (330), then an
    execve exit (293) carrying the new program; never a successful execveat exit (331)."""
    cap, facts, _ = workload
    assert facts["execveat_status"] == 0
    child = [
        e
        for e in cap.events
        if e.tid == facts["execveat_child"] and e.info.name in ("execve", "execveat")
    ]
    assert [e.type for e in child] == [330, 293], [(e.type, dict(e.params())) for e in child]
    assert child[0].param_by_name("pathname") == "/bin/true"
    assert child[1].param_by_name("res") == 0
    assert child[1].param_by_name("args") == b"via-execveat\0"
    assert child[1].param_by_name("comm") == "true"


def test_clone_family_seen_from_parent_and_child(workload: Workload) -> None:
    cap, facts, _ = workload
    child = facts["exec_child"]
    assert [e for e in cap.find_all("clone", "<", res=child) if e.tid == facts["pid"]]
    in_child = [e for e in cap.find_all("clone", "<", res=0) if e.tid == child]
    assert in_child and in_child[0].param_by_name("ptid") == facts["pid"]
    assert cap.find_all("fork", "<", res=facts["fork_child"])
    spawned = facts["spawn_child"]
    assert any(cap.find_all(name, "<", res=spawned) for name in ("clone3", "clone", "vfork"))


def test_procexit_reports_the_exit_status(workload: Workload) -> None:
    cap, facts, _ = workload
    evs = [e for e in cap.find_all("procexit", ">") if e.tid == facts["fork_child"]]
    assert evs and evs[0].param_by_name("ret") == 3


def test_no_internal_errors(workload: Workload) -> None:
    """While the workload ran, nothing was lost and every event counted was delivered."""
    cap, _, _ = workload
    assert cap.counted is not None
    assert cap.counted.drops_bug == 0
    assert cap.counted.drops_buffer == 0
    assert cap.counted.events == cap.delivered


# ---- sampling ("dropping mode"): the same rules in both drivers, as scap's ------------------

SAMPLING = 4


@pytest.fixture
def sampling_source(live_source: Any) -> Iterator[Any]:
    """The live source; sampling back to 1 afterwards, whatever the test did."""
    yield live_source
    live_source.set_sampling(1)


def test_sampling_keeps_one_nth_of_each_second(sampling_source: Any, tmp_path: Path) -> None:
    """Sampling 4: a steady stream of getppid over whole seconds arrives only for the
    first quarter of each second (about 1/4 of it; the rest counted as suppressed),
    getcwd (always dropped while sampling) not at all, and every process and fd event
    (clone, execve, procexit, openat) arrives wherever it fell in the second."""
    sampling_source.set_sampling(SAMPLING)
    run = run_sampled(sampling_source, tmp_path, ratio=SAMPLING, seconds=2, spawns=8)
    facts, cap = run.facts, run.cap
    assert cap.counted is not None and cap.counted.drops == 0, cap.counted  # exact counts
    generated = 2 * facts["calls"]  # enter and exit
    kept = run.getppid_events()
    # The child ran outside the kept part too (its share inside is about 1/SAMPLING of its
    # calls, less under emulation, where its CPU time is not spread evenly over the second),
    # so the check below cannot pass if everything were kept.
    assert facts["inside"] + facts["across"] < 0.75 * facts["calls"], facts
    # exactly the calls the child made in the kept part (those across a border: either)
    assert 2 * facts["inside"] * 0.9 <= kept <= 2 * (facts["inside"] + facts["across"]) * 1.1, (
        kept,
        facts,
    )
    assert cap.counted.suppressed >= generated - kept
    assert facts["cwd_calls"] > 0 and run.getcwd_events() == 0

    spawned = facts["spawned"]
    assert len(spawned) >= 3 and not all(facts["spawn_kept_part"]), facts  # some dropped part
    for pid in spawned:
        assert cap.find_all("clone", "<", res=pid), f"parent's clone exit for {pid}"
        assert [e for e in cap.find_all("clone", "<", res=0) if e.tid == pid]
        assert [e for e in cap.named("execve", ">") if e.tid == pid]
        assert [e for e in cap.find_all("execve", "<", res=0) if e.tid == pid]
        assert [e for e in cap.named("procexit", ">") if e.tid == pid]
    opened = cap.find_all("openat", "<", name="sampled.txt")
    assert len(opened) == len(spawned), (len(opened), facts)


def test_sampling_one_keeps_everything_again(sampling_source: Any, tmp_path: Path) -> None:
    sampling_source.set_sampling(SAMPLING)
    sampling_source.set_sampling(1)
    run = run_sampled(sampling_source, tmp_path, ratio=SAMPLING, seconds=1)
    assert run.cap.counted is not None and run.cap.counted.drops == 0, run.cap.counted
    assert run.facts["inside"] < run.facts["calls"]  # it ran outside the kept part too
    assert run.getppid_events() == 2 * run.facts["calls"]
    assert run.getcwd_events() >= 2 * run.facts["cwd_calls"]  # and those of its startup


@pytest.mark.parametrize("ratio", [0, 1025, -1])
def test_sampling_ratio_out_of_range_is_refused(sampling_source: Any, ratio: int) -> None:
    with pytest.raises(DriverError, match=r"sampling ratio must be within 1\.\.1024"):
        sampling_source.set_sampling(ratio)
