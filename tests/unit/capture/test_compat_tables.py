"""The 32-bit syscall tables (sentry.events.compat_syscalls) and the header both drivers
compile them into (driver/include/sentry_compat_syscalls.h)."""

from __future__ import annotations

from pathlib import Path

from sentry.events.compat_syscalls import IA32_SYSCALLS, X32_SYSCALLS, socketcall_target
from sentry.events.syscalls import X86_64_BY_NAME

REPO = Path(__file__).resolve().parents[3]


def nr(name: str) -> int:
    return X86_64_BY_NAME[name].nr


def test_ia32_calls_of_the_default_rules_map_to_x86_64() -> None:
    expect = {5: "open", 295: "openat", 8: "creat", 11: "execve", 358: "execveat",
              362: "connect", 359: "socket", 120: "clone", 2: "fork", 190: "vfork",
              38: "rename", 10: "unlink", 15: "chmod", 213: "setuid", 23: "setuid",
              221: "fcntl", 195: "stat", 340: "prlimit64", 414: "ppoll"}  # fmt: skip
    for ia32, name in expect.items():
        sc = IA32_SYSCALLS[ia32]
        assert (sc.x86_64, sc.generic_only) == (nr(name), False), sc


def test_ia32_calls_with_other_layouts_are_generic_or_dropped() -> None:
    for ia32 in (145, 146, 370, 372, 162, 76, 180, 192):  # readv .. pread64, mmap2
        assert IA32_SYSCALLS[ia32].generic_only, IA32_SYSCALLS[ia32]
    for ia32 in (82, 90, 102, 117, 140, 34):  # old select/mmap, socketcall, ipc, _llseek, nice
        assert IA32_SYSCALLS[ia32].x86_64 is None, IA32_SYSCALLS[ia32]


def test_socketcall_and_x32_calls() -> None:
    assert socketcall_target(3) == (nr("connect"), 3, False)
    assert socketcall_target(16) == (nr("sendmsg"), 3, True)
    assert socketcall_target(0) is None and socketcall_target(21) is None
    assert (X32_SYSCALLS[520].x86_64, X32_SYSCALLS[520].generic_only) == (nr("execve"), False)
    assert X32_SYSCALLS[515].generic_only  # readv: 32-bit iovec
