"""Build the C event-block walker (``scapscan.c``) with cffi in API mode.

Used two ways: by setuptools (``cffi_modules=["python/sentry/capture/scapscan_build.py:ffi"]``)
at install time, and by :func:`load` on first use, which compiles into a per-user cache
(``$XDG_CACHE_HOME/sentry``) keyed by the source's hash. ``load`` returns None when no C
compiler is available; the reader then walks blocks in Python.
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


def make_ffi(module: str = "sentry.capture._scapscan") -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source(module, SOURCE.read_text(), extra_compile_args=["-O2", "-Werror"])
    return ffi


ffi = make_ffi()  # for setuptools' cffi_modules


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sentry"


def load() -> Any | None:
    """The compiled module (``.ffi``, ``.lib``), building it into the cache if needed."""
    try:
        from sentry.capture import _scapscan  # type: ignore[attr-defined]

        return _scapscan
    except ImportError:
        pass
    digest = hashlib.sha256((SOURCE.read_text() + CDEF).encode()).hexdigest()[:16]
    name = f"_scapscan_{digest}"
    cache = _cache_dir() / f"py{sys.version_info[0]}{sys.version_info[1]}"
    try:
        built = sorted(cache.glob(f"{name}.*.so")) or sorted(cache.glob(f"{name}.so"))
        if not built:
            # build privately, then rename: concurrent first uses never see a partial file
            work = cache / f"build-{os.getpid()}"
            work.mkdir(parents=True, exist_ok=True)
            try:
                path = Path(make_ffi(name).compile(tmpdir=str(work)))
                final = cache / path.name
                os.replace(path, final)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            built = [final]
        spec = importlib.util.spec_from_file_location(name, built[0])
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except (cffi.VerificationError, OSError, ImportError):
        return None
