"""Driver choice: explicit drivers, auto's fallback to eBPF, and clear refusals."""

from __future__ import annotations

import pytest

from sentry.capture import drivers
from sentry.errors import DriverError

pytestmark = pytest.mark.root


def test_unknown_driver_is_refused() -> None:
    with pytest.raises(DriverError, match="unknown driver 'bogus'"):
        drivers.open_live("bogus")


def test_kmod_without_device_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(drivers, "KMOD_DEVICE", tmp_path / "sentry0")
    with pytest.raises(DriverError, match="sentry0 does not exist"):
        drivers.open_live("kmod")


def test_auto_falls_back_to_ebpf(
    monkeypatch: pytest.MonkeyPatch, tmp_path, ebpf_source: object
) -> None:
    monkeypatch.setattr(drivers, "KMOD_DEVICE", tmp_path / "sentry0")
    from sentry.capture.ebpf import EbpfSource

    src = drivers.open_live("auto", snaplen=120)
    try:
        assert isinstance(src, EbpfSource)
        assert src._settings.snaplen == 120
    finally:
        src.close()


def test_environment_picks_the_driver(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(drivers, "KMOD_DEVICE", tmp_path / "sentry0")
    monkeypatch.setenv("SENTRY_DRIVER", "kmod")
    with pytest.raises(DriverError, match="module not loaded"):
        drivers.open_live()
