"""The probe's kernel check: which releases it refuses and what it says (the real refusal
on Debian's 5.10 is tests/kmod/test_driver_choice.py, in qemu)."""

from __future__ import annotations

from pathlib import Path

from sentry.capture.ebpf import BTF_VMLINUX, kernel_refusal


def test_release_below_5_17_is_refused_with_the_reason() -> None:
    for release in ("5.10.0-32-amd64", "5.15.0-91-generic", "5.16.20", "4.19.0-27-amd64"):
        why = kernel_refusal(release)
        assert why is not None and f"Linux {release} is too old" in why
        assert "5.17" in why and "--driver kmod" in why


def test_supported_releases_pass_when_btf_is_there() -> None:
    assert BTF_VMLINUX.exists()  # the host and Debian's 6.x kernels have it
    for release in ("5.17.0", "6.1.0-57-amd64", "6.12.117+deb12-amd64", "6.18.0"):
        assert kernel_refusal(release) is None


def test_missing_btf_is_refused_with_the_reason(tmp_path: Path) -> None:
    why = kernel_refusal("6.12.0", tmp_path / "vmlinux")
    assert why is not None and "no BTF" in why and "CONFIG_DEBUG_INFO_BTF" in why
