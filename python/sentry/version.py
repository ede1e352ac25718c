"""Sentry's version, the driver API and event-schema versions, and where packaged data lives.

The version has one home, ``driver/VERSION``: pyproject.toml (setuptools), the kernel
module (Kbuild -> MODULE_VERSION), dkms.conf and the driver loader all read it. A wheel ships
it, with the default rules, the config template and the driver sources, under
``sentry/data`` (setup.py copies them there at build time); a checkout reads them in place.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: packaged data of an installed wheel (absent in a checkout)
DATA_DIR = PACKAGE / "data"
#: the source checkout this package runs from, when it does (editable install)
CHECKOUT = PACKAGE.parents[1]


def driver_dir() -> Path:
    """The driver sources: the checkout's driver/, else the packaged copy."""
    for cand in (CHECKOUT / "driver", DATA_DIR / "driver"):
        if (cand / "VERSION").is_file():
            return cand
    return DATA_DIR / "driver"


@cache
def version() -> str:
    try:
        return (driver_dir() / "VERSION").read_text().strip()
    except OSError:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            return dist_version("sentry-runtime")
        except PackageNotFoundError:
            return "unknown"


def _abi_define(name: str) -> int | None:
    try:
        text = (driver_dir() / "include" / "sentry_abi.h").read_text()
    except OSError:
        return None
    found = re.search(rf"^#define\s+{name}\s+(\d+)", text, re.M)
    return int(found.group(1)) if found else None


def api_version() -> int | None:
    """The ring/ioctl contract between the drivers and this package (SENTRY_API_VERSION)."""
    return _abi_define("SENTRY_API_VERSION")


def schema_version() -> int | None:
    """The event table's version (SENTRY_SCHEMA_VERSION)."""
    return _abi_define("SENTRY_SCHEMA_VERSION")


def engine_version() -> str:
    """The rules engine version the loader implements (what ``required_engine_version`` is
    checked against)."""
    from sentry.rules import loader

    found = getattr(loader, "ENGINE_VERSION", None)
    if isinstance(found, tuple):
        return ".".join(str(part) for part in found)
    return str(found) if found is not None else "unknown"


def version_lines() -> list[str]:
    """What ``sentry --version`` prints (Falco's ``--version`` layout: the engine, then the
    driver's API and schema versions and the default driver's version)."""
    return [
        f"Sentry version: {version()}",
        f"Engine:         {engine_version()}",
        "Driver:",
        f"  API version:    {api_version()}",
        f"  Schema version: {schema_version()}",
        f"  Default driver: {version()}",
    ]


def version_info() -> dict[str, str]:
    """The same as a mapping (``--support``'s ``engine_info``; Falco's key names)."""
    return {
        "sentry_version": version(),
        "engine_version": engine_version(),
        "driver_api_version": str(api_version()),
        "driver_schema_version": str(schema_version()),
        "default_driver_version": version(),
    }
