"""Build and load the C event-block walker (``scapscan.c``), compiled with cffi in API mode.

``scripts/install.sh`` builds it into this package (``python -m
sentry.capture.scapscan_build``), so that no compiler is needed when a capture is first read.
Otherwise :func:`load` compiles it on first use into a per-user cache
(``$XDG_CACHE_HOME/sentry``). Either build is named by the hash of the source, so a changed
``scapscan.c`` is never served by an old build. Without a compiler ``load`` says once, on
stderr, that the slower Python walker is used, and returns None.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import cffi

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "scapscan.c"
CDEF = """
struct scan_rec {
    uint64_t off; uint64_t num; uint64_t ts; uint64_t tid;
    uint32_t len; uint32_t nparams; uint16_t type; uint16_t cpu; uint32_t arg0_ok;
    int64_t arg0;
};
int scap_scan(const uint8_t *buf, uint64_t size, uint64_t *off, uint64_t *num,
              uint64_t *unknown, const uint8_t *want, const uint8_t *arg0_kind,
              uint32_t ntypes, struct scan_rec *out, int max, int *status);
"""
_PREFIX = "_scapscan_"
_SAID_SLOW: list[bool] = []


def make_ffi(module: str) -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source(module, SOURCE.read_text(), extra_compile_args=["-O2", "-Werror"])
    return ffi


def module_name() -> str:
    """The walker's module name for the current source."""
    digest = hashlib.sha256((SOURCE.read_text() + CDEF).encode()).hexdigest()[:16]
    return _PREFIX + digest


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sentry" / f"py{sys.version_info[0]}{sys.version_info[1]}"


def _find(directory: Path, name: str) -> Path | None:
    built = sorted(directory.glob(f"{name}.*.so")) or sorted(directory.glob(f"{name}.so"))
    return built[0] if built else None


def installed() -> Path | None:
    """The walker built into the package at install time for the current source, if any."""
    return _find(HERE, module_name())


def build(directory: Path) -> Path:
    """Compile the walker into directory; raises cffi.VerificationError or OSError."""
    name = module_name()
    # build privately, then rename: concurrent first uses never see a partial file
    work = directory / f".build-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        path = Path(make_ffi(name).compile(tmpdir=str(work)))
        final = directory / path.name
        os.replace(path, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def _import(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _say_slow_path(err: Exception) -> None:
    if _SAID_SLOW:
        return
    _SAID_SLOW.append(True)
    reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
    sys.stderr.write(
        f"sentry: the C event walker is not available ({reason}); reading "
        "captures with the slower Python walker (install gcc, or run "
        "scripts/install.sh)\n"
    )


def load(*, use_installed: bool = True) -> Any | None:
    """The compiled walker module (``.ffi``, ``.lib``): the install-time build, else the
    cached one, else built into the cache now; None (said once) when it cannot be built."""
    name = module_name()
    try:
        path = (use_installed and _find(HERE, name)) or _find(_cache_dir(), name)
        if not path:
            path = build(_cache_dir())
        return _import(name, path)
    except (cffi.VerificationError, OSError, ImportError) as err:
        _say_slow_path(err)
        return None


def main() -> int:
    """Build the walker into the package (scripts/install.sh); drop builds of older sources."""
    try:
        path = installed() or build(HERE)
    except (cffi.VerificationError, OSError) as err:
        print(f"sentry: building the C event walker failed: {err}", file=sys.stderr)
        return 1
    for old in HERE.glob(f"{_PREFIX}*.so"):
        if not old.name.startswith(module_name() + "."):  # other Pythons' builds stay
            old.unlink()
    print(f"C event walker: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
