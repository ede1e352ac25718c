"""Fixtures for the kernel module tests, which run inside the qemu guest (run_in_vm.sh).

Without ``/dev/sentry0`` (the module not loaded, as on a host without module support)
every test here skips and says why; ``run_in_vm.sh`` boots the guest, loads the module and
runs them there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentry.capture.kmod import KmodSource

DEVICE = Path("/dev/sentry0")


NO_MODULE = "needs the sentry module loaded (/dev/sentry0): run tests/kmod/run_in_vm.sh"


@pytest.fixture(autouse=True)
def needs_module() -> None:
    if not DEVICE.exists():
        pytest.skip(NO_MODULE)


@pytest.fixture(scope="module")
def live_source() -> Iterator[KmodSource]:
    """The source driver_suite.py's shared syscall tests capture with: the module's rings
    (every process but this one; the tests follow their child's process tree)."""
    if not DEVICE.exists():
        pytest.skip(NO_MODULE)
    with KmodSource() as src:
        yield src


@pytest.fixture
def python() -> str:
    return sys.executable
