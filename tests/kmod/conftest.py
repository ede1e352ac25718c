"""Fixtures for the kernel module tests, which run inside the qemu guest (run_in_vm.sh).

Without ``/dev/sentry0`` (the module not loaded, as on a host without module support)
every test here skips and says why; ``run_in_vm.sh`` boots the guest, loads the module and
runs them there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

DEVICE = Path("/dev/sentry0")


@pytest.fixture(autouse=True)
def needs_module() -> None:
    if not DEVICE.exists():
        pytest.skip("needs the sentry module loaded (/dev/sentry0): run tests/kmod/run_in_vm.sh")


@pytest.fixture
def python() -> str:
    return sys.executable


