"""The eBPF probe's object file: where it comes from and what the loader reads in it.

The probe is built from ``driver/bpf`` with clang: by ``scripts/install.sh`` (``make -C
driver/bpf``; used while newer than its sources), else at first use into a cache directory
under a name derived from its sources, so an upgrade rebuilds it and a second start does
not. ``$SENTRY_BPF_OBJECT`` names a prebuilt object instead.
The views of its data sections (settings block, configuration) are cffi bindings:
:mod:`sentry.capture._cffi.bpfsettings`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from sentry.capture._cffi.abi import include_dir
from sentry.errors import DriverError

_TOOLS = ("clang", "bpftool", "llvm-strip", "make")


def source_dir() -> Path:
    """driver/bpf: $SENTRY_BPF_SOURCE_DIR, the source tree, or the installed package data."""
    env = os.environ.get("SENTRY_BPF_SOURCE_DIR")
    here = Path(__file__).resolve()
    candidates = [Path(env)] if env else []
    candidates += [here.parents[3] / "driver" / "bpf", here.parents[1] / "data" / "driver" / "bpf"]
    for cand in candidates:
        if (cand / "sentry.bpf.c").is_file():
            return cand
    raise DriverError(
        "eBPF probe sources (driver/bpf/sentry.bpf.c) not found; "
        "set SENTRY_BPF_SOURCE_DIR or SENTRY_BPF_OBJECT"
    )


def cache_dir() -> Path:
    env = os.environ.get("SENTRY_CACHE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/cache/sentry")
    return Path.home() / ".cache" / "sentry"


def _inputs(src: Path) -> list[Path]:
    """The probe's sources (vmlinux.h is generated, not one of them)."""
    inputs = sorted(
        p
        for p in src.iterdir()
        if (p.suffix in (".c", ".h") or p.name == "Makefile") and p.name != "vmlinux.h"
    )
    return inputs + sorted(include_dir().glob("*.h"))


def _digest(src: Path) -> str:
    h = hashlib.sha256()
    for path in _inputs(src):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _fresh_in_tree(src: Path) -> Path | None:
    """driver/bpf/sentry.bpf.o (as scripts/install.sh builds it) when newer than its sources."""
    obj = src / "sentry.bpf.o"
    try:
        built = obj.stat().st_mtime
        return obj if all(p.stat().st_mtime <= built for p in _inputs(src)) else None
    except OSError:
        return None


def object_path() -> Path:
    """The compiled probe: $SENTRY_BPF_OBJECT, else the cached build, else built now."""
    env = os.environ.get("SENTRY_BPF_OBJECT")
    if env:
        if not Path(env).is_file():
            raise DriverError(f"SENTRY_BPF_OBJECT={env}: no such file")
        return Path(env)
    src = source_dir()
    out = cache_dir() / f"bpf-{_digest(src)}"
    obj = out / "sentry.bpf.o"
    if obj.is_file():
        return obj
    in_tree = _fresh_in_tree(src)
    if in_tree is not None:  # copied: a later `make clean` in the tree must not pull it away
        try:
            out.mkdir(parents=True, exist_ok=True)
            tmp = out / f".sentry.bpf.o.{os.getpid()}"
            shutil.copyfile(in_tree, tmp)
            tmp.replace(obj)
            return obj
        except OSError:
            pass
    return build(src, out)


def build(src: Path, out: Path) -> Path:
    """Compile the probe into out/ with clang; DriverError saying what is missing or failed."""
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        raise DriverError(
            "the eBPF probe is compiled at first use and needs "
            + ", ".join(missing)
            + " (Debian/Ubuntu: apt-get install clang llvm bpftool make)"
        )
    if not Path("/sys/kernel/btf/vmlinux").is_file():
        raise DriverError(
            "the kernel has no BTF (/sys/kernel/btf/vmlinux); the eBPF probe "
            "needs CONFIG_DEBUG_INFO_BTF=y"
        )
    out.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(
            ["make", "-s", "-C", str(src), f"OUTPUT={out}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DriverError("building the eBPF probe timed out") from None
    obj = out / "sentry.bpf.o"
    if proc.returncode != 0 or not obj.is_file():
        detail = (proc.stderr or proc.stdout)[-3000:]
        raise DriverError(f"building the eBPF probe failed:\n{detail}")
    return obj
