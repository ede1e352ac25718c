"""Fixtures for the kernel module tests, which run inside the qemu guest (run_in_vm.sh).

Without ``/dev/sentry0`` (the module not loaded, as on a host without module support)
every test here skips and says why; ``run_in_vm.sh`` boots the guest, loads the module and
runs them there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentry.capture.kmod import KmodSource

DEVICE = Path("/dev/sentry0")
HERE = Path(__file__).resolve().parent


def module_path() -> Path:
    """The built module: $SENTRY_KO, else driver/sentry.ko in this tree."""
    return Path(os.environ.get("SENTRY_KO", HERE.parent.parent / "driver" / "sentry.ko"))


@pytest.fixture(autouse=True)
def needs_module() -> None:
    if not DEVICE.exists():
        pytest.skip("needs the sentry module loaded (/dev/sentry0): run tests/kmod/run_in_vm.sh")


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def source() -> Iterator[KmodSource]:
    with KmodSource() as src:
        yield src
