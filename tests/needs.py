"""Skip a test for a missing tool, saying why; under CI (env CI set), where `.ci/run`
installs every tool the tests need, the same absence fails the test instead."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail with it under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI installs it: scripts/install.sh)")
    pytest.skip(reason)


def ebpf_unavailable() -> str | None:
    """Why the probe cannot run here, or None."""
    if os.geteuid() != 0:
        return "eBPF capture needs root"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "kernel without BTF (/sys/kernel/btf/vmlinux)"
    return None


def need_ebpf() -> None:
    """Skip (fail under CI) where the probe cannot run."""
    reason = ebpf_unavailable()
    if reason:
        missing(reason)
