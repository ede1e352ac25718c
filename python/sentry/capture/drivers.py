"""Choosing the live capture driver: the kernel module, the eBPF probe, or the first that works.

``open_live("auto")`` prefers the kernel module when ``/dev/sentry0`` exists and falls back
to the eBPF probe; when neither can start, the :class:`DriverError` says why for each.
The choice comes from the caller (``--driver kmod|ebpf|auto``), else ``$SENTRY_DRIVER``,
else ``auto``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sentry.capture.source import LiveSource
from sentry.errors import DriverError

DRIVERS = ("auto", "kmod", "ebpf")
KMOD_DEVICE = Path("/dev/sentry0")


def _open_kmod(snaplen: int | None, interest: Iterable[int] | None) -> LiveSource:
    from sentry.capture.kmod import KmodSource

    if not KMOD_DEVICE.exists():
        raise DriverError(
            f"{KMOD_DEVICE} does not exist (module not loaded; "
            "see `sentry driver load` or scripts/driver-loader.sh)"
        )
    return KmodSource(snaplen=snaplen, interest=interest)


def _open_ebpf(snaplen: int | None, interest: Iterable[int] | None) -> LiveSource:
    from sentry.capture.ebpf import EbpfSource

    if os.geteuid() != 0:
        raise DriverError(
            "the eBPF probe needs root (CAP_BPF and CAP_PERFMON): "
            "run sentry as root, e.g. with sudo"
        )
    if snaplen is None:
        return EbpfSource(interest=interest)
    return EbpfSource(snaplen=snaplen, interest=interest)


_OPENERS = {"kmod": _open_kmod, "ebpf": _open_ebpf}


def open_live(
    driver: str | None = None, *, snaplen: int | None = None, interest: Iterable[int] | None = None
) -> LiveSource:
    """A started live source from the chosen driver ("auto": kernel module, else eBPF)."""
    choice = driver or os.environ.get("SENTRY_DRIVER") or "auto"
    if choice not in DRIVERS:
        raise DriverError(f"unknown driver '{choice}' (choose one of {', '.join(DRIVERS)})")
    if choice != "auto":
        return _OPENERS[choice](snaplen, interest)
    reasons = []
    for name in ("kmod", "ebpf"):
        try:
            return _OPENERS[name](snaplen, interest)
        except DriverError as err:
            reasons.append(f"  {'kernel module' if name == 'kmod' else 'eBPF probe'}: {err}")
    raise DriverError("no live capture driver could start:\n" + "\n".join(reasons))
