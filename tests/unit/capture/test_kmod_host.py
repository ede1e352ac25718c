"""Host-side checks of the kernel module's Python face that need no loaded module."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentry.capture.kmod import KmodSource, device_paths
from sentry.errors import DriverError

REPO = Path(__file__).resolve().parents[3]


def test_devices_are_found_by_cpu_number(tmp_path: Path) -> None:
    for name in ("sentry10", "sentry2", "sentry0", "sentry-ctl", "null"):
        (tmp_path / name).touch()
    assert [cpu for cpu, _ in device_paths(tmp_path)] == [0, 2, 10]


def test_missing_devices_are_a_driver_error(tmp_path: Path) -> None:
    with pytest.raises(DriverError, match="is the sentry module loaded"):
        KmodSource(dev_dir=tmp_path)


def test_unopenable_device_is_a_driver_error(tmp_path: Path) -> None:
    (tmp_path / "sentry0").mkdir()  # a directory cannot be opened read-write
    with pytest.raises(DriverError, match="cannot open"):
        KmodSource(dev_dir=tmp_path)
