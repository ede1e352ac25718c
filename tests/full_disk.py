"""A real full disk for tests: a tiny tmpfs, filled up, that can be freed again.

Root only (mount); elsewhere the tests that need it skip, and fail under CI (CI runs as root).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class FullDisk:
    """A mounted tmpfs at ``path`` whose space is taken by a filler file until ``free()``."""

    def __init__(self, path: Path):
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        with open(self.filler, "ab", buffering=0) as f, contextlib.suppress(OSError):
            while f.write(b"\0" * 4096):
                pass

    def free(self) -> None:
        for name in ("filler", "filler2"):
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()


def need_root(what: str) -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail(f"{what} needs root (CI runs as root)")
        pytest.skip(f"{what} needs root (mount)")


@contextlib.contextmanager
def full_disk(base: Path, size: str = "256k") -> Iterator[FullDisk]:
    """A tmpfs of ``size`` mounted under ``base``, not yet filled."""
    need_root("a full-disk test")
    mnt = base / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], check=True)
    try:
        yield FullDisk(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
