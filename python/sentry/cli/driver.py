"""``sentry driver status|load|unload``: what the kernel module and its devices say.

``status`` reports whether the module is loaded, its devices, API version and counters (or
that a consumer is reading), and whether the eBPF probe could run instead. ``load`` and
``unload`` call ``scripts/driver-loader.sh``, which finds, builds or removes the module.
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import typer

from sentry.errors import DriverError

# The checkout's loader, else the copy a wheel ships in sentry/data.
_LOADERS = (
    Path(__file__).resolve().parents[3] / "scripts" / "driver-loader.sh",
    Path(__file__).resolve().parents[1] / "data" / "driver-loader.sh",
)
LOADER = next((p for p in _LOADERS if p.is_file()), _LOADERS[0])


def module_loaded() -> bool:
    try:
        return any(
            line.startswith("sentry ") for line in Path("/proc/modules").read_text().splitlines()
        )
    except OSError:
        return False


def status_lines() -> list[str]:
    from sentry.capture.kmod import KmodSource, device_paths

    lines = [f"kernel module: {'loaded' if module_loaded() else 'not loaded'}"]
    devices = device_paths("/dev") if Path("/dev").is_dir() else []
    if devices:
        lines.append(f"devices: {', '.join(str(p) for _, p in devices)}")
        try:
            with KmodSource(start=False) as src:
                st = src.stats()
                lines.append(f"api version: {src.api_version}")
                lines.append(
                    f"counters: events={st.events} drops={st.drops} suppressed={st.suppressed}"
                )
        except DriverError as err:
            busy = isinstance(err.__cause__, OSError) and err.__cause__.errno == errno.EBUSY
            lines.append("devices in use by a consumer (sentry run?)" if busy else str(err))
    btf = Path("/sys/kernel/btf/vmlinux").exists()
    lines.append(f"eBPF probe: {'possible (BTF present)' if btf else 'unavailable (no BTF)'}")
    return lines


def _loader(*args: str) -> None:
    if not LOADER.is_file():
        raise DriverError(f"{LOADER} not found")
    done = subprocess.run(["bash", str(LOADER), *args], check=False)
    if done.returncode != 0:
        raise DriverError(f"driver-loader.sh {' '.join(args)} failed ({done.returncode})")


def register(app: typer.Typer) -> None:
    driver = typer.Typer(help="Kernel module status, load and unload.", no_args_is_help=True)

    @driver.command("status")
    def status() -> None:
        """Module, devices, counters and eBPF availability."""
        for line in status_lines():
            typer.echo(line)

    @driver.command("load")
    def load() -> None:
        """Find, build or download the module for this kernel and load it."""
        _loader()

    @driver.command("unload")
    def unload() -> None:
        """Remove the module (refused by the kernel while a reader has it open)."""
        _loader("--unload")

    app.add_typer(driver, name="driver")
