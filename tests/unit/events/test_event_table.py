"""The event table against scap's facts as sysdig 0.29 prints them (``sysdig -L``)."""

from __future__ import annotations

import re
import subprocess

import pytest

from sentry.events.flagnames import FLAG_TABLES
from sentry.events.syscalls import (
    LIBS_LATER_EVENTS,
    PPM_SC_NAMES,
    X86_64_BY_NAME,
    X86_64_SYSCALLS,
)
from sentry.events.table import (
    EVENT_MAX,
    EVENTS,
    SYSDIG_029_EVENT_MAX,
    EventType,
    event_by_name,
)
from sentry.fields.argtext import walk_flags  # the walk production rendering uses (evt.args)
from sysdig_ref import need_sysdig


@pytest.mark.sysdig
def test_current_events_match_sysdig_event_list() -> None:
    # sysdig -L lists every current, non-internal event: direction, name, param types, names
    out = subprocess.run([need_sysdig(), "-L"], capture_output=True, check=True, text=True)
    theirs = {line.strip() for line in out.stdout.splitlines() if line.strip()}
    ours = set()
    longer = {}
    for code, info in EVENTS.items():
        if code >= SYSDIG_029_EVENT_MAX or info.old_version or info.unused:
            continue
        if info.category.name == "INTERNAL":
            continue
        args = [
            f"{'DYNAMIC' if p.type.name == 'DYN' else p.type.name} {p.name}" for p in info.params
        ]
        line = f"{info.direction} {info.name}({', '.join(args)})"
        if line not in theirs:
            # libs' later parameters after sysdig's own (execve caps..., clone pidns start):
            # readers read the ones they know, so sysdig's list must be a prefix of ours.
            for n in range(len(args) - 1, 0, -1):
                short = f"{info.direction} {info.name}({', '.join(args[:n])})"
                if short in theirs:
                    longer[info.name] = len(args) - n
                    line = short
                    break
        ours.add(line)
    assert ours == theirs
    assert longer == {"execve": 8, "execveat": 8, "clone": 1, "fork": 1, "vfork": 1, "clone3": 1}


def test_enter_events_are_even_and_exits_follow() -> None:
    assert EVENT_MAX == 420  # libs' PPM_EVENT_MAX up to newfstatat
    for code, info in EVENTS.items():
        assert info.direction == (">" if code % 2 == 0 else "<")
        assert info.ident.endswith("_E" if code % 2 == 0 else "_X")
        assert EventType[info.ident] == code


def test_known_numbers() -> None:
    assert EventType.SYSCALL_OPEN_E == 2
    assert EventType.SYSCALL_EXECVE_19_X == 293
    assert EventType.SYSCALL_CLONE_20_X == 223
    assert EventType.SYSCALL_OPENAT_2_E == 306
    assert EventType.PROCEXIT_1_E == 186
    assert EventType.SYSCALL_OPENAT2_X == 327
    assert event_by_name("openat", "<").code == 307
    assert event_by_name("execve", "<").code == 293
    assert event_by_name("open", ">").code == 2
    assert [p.name for p in EVENTS[293].params][16:20] == ["tty", "pgid", "loginuid", "flags"]
    assert [p.name for p in EVENTS[293].params][20:] == [
        "cap_inheritable",
        "cap_permitted",
        "cap_effective",
        "exe_ino",
        "exe_ino_ctime",
        "exe_ino_mtime",
        "uid",
        "trusted_exepath",
    ]
    assert EventType.SYSCALL_MEMFD_CREATE_E == 404 and EventType.SYSCALL_INIT_MODULE_X == 411
    assert EventType.SYSCALL_FINIT_MODULE_E == 412 and EventType.SYSCALL_NEWFSTATAT_X == 419
    assert event_by_name("dup", "<").code == 125  # the generation our drivers write


def test_every_dedicated_syscall_event_is_an_enter_event_sysdig_knows() -> None:
    aliases = {
        "pread64": "pread",
        "pwrite64": "pwrite",
        "prlimit64": "prlimit",
        "umount2": "umount",
        "pipe2": "pipe",
        "dup2": "dup",
        "dup3": "dup",
        "eventfd2": "eventfd",
        "signalfd4": "signalfd",
        "inotify_init1": "inotify_init",
        "accept4": "accept",
    }
    dedicated = [sc for sc in X86_64_SYSCALLS.values() if sc.enter_event]
    assert len(dedicated) > 100
    for sc in dedicated:
        info = EVENTS[sc.enter_event]
        assert info.is_enter and not info.old_version
        assert info.name == aliases.get(sc.name, sc.name)
        assert sc.enter_event < SYSDIG_029_EVENT_MAX or sc.name in LIBS_LATER_EVENTS
    assert {sc.name for sc in dedicated if sc.enter_event >= SYSDIG_029_EVENT_MAX} == {
        "open_by_handle_at",
        "capset",
        "memfd_create",
        "init_module",
        "finit_module",
        "mknod",
        "mknodat",
    }
    assert X86_64_BY_NAME["openat"].nr == 257
    assert X86_64_BY_NAME["execve"].enter_event == EventType.SYSCALL_EXECVE_19_E


def test_portable_syscall_codes() -> None:
    assert len(PPM_SC_NAMES) == 333
    assert PPM_SC_NAMES[231 - 67] == "exit_group"  # PPM_SC_EXIT_GROUP = 164
    assert X86_64_BY_NAME["exit_group"].ppm_sc == 164
    assert X86_64_BY_NAME["memfd_create"].ppm_sc == 0  # no portable code in this generation
    assert all(re.fullmatch(r"[a-z_0-9<>]+", name) for name in PPM_SC_NAMES)


@pytest.mark.parametrize(
    ("table", "value", "text"),
    [
        ("file_flags", 4097, "O_RDONLY|O_CLOEXEC"),
        ("file_flags", 577, "O_DIRECT|O_NONBLOCK|O_RDONLY"),
        ("file_flags", 0, "O_NONE"),
        ("file_flags", 3, "O_RDWR"),
        ("mmap_flags", 1026, "MAP_PRIVATE|MAP_DENYWRITE"),
        ("access_flags", 0, "F_OK"),
        ("socket_families", 1, "AF_LOCAL"),
        ("semctl_commands", 4096, "SETVAL"),
    ],
)
def test_flag_names_in_scap_order(table: str, value: int, text: str) -> None:
    # expected texts are sysdig's own output for these values
    assert walk_flags(FLAG_TABLES[table], value) == text


def test_interest_set_from_event_names() -> None:
    from sentry.events.syscalls import syscall_numbers_for_event_names

    nrs = syscall_numbers_for_event_names({"open", "accept", "execve", "exit_group"})
    names = {X86_64_SYSCALLS[nr].name for nr in nrs}
    assert names == {"open", "accept", "accept4", "execve", "exit_group"}
