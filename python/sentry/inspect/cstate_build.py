"""Build and load the C state tracker (``cstate.c``), compiled with cffi in API mode.

Built like the C event walker (``sentry/capture/scapscan_build.py``): ``scripts/install.sh``
and the wheel build (``setup.py``) compile it into this package (``python -m
sentry.inspect.cstate_build``); otherwise :func:`load` compiles it on first use into the
per-user cache (``$XDG_CACHE_HOME/sentry``). Builds are named by the hash of the source, so a
changed ``cstate.c`` is never served by an old build. :func:`load` returns None (and says why
once, on stderr) when no compiler is there: the Python inspector is the fallback.
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
SOURCE = HERE / "cstate.c"
CDEF = """
#define CS_NSLOTS 38
#define CS_MAXP 32
struct cs_evt {
    uint8_t op; uint8_t plan; uint8_t wide; uint8_t arg;
    int8_t slot[CS_NSLOTS];
    uint8_t kind[CS_MAXP];
};
struct cs_thread_out {
    int64_t tid, pid, ptid, sid, vpgid, vtid, vpid;
    const char *comm, *exe, *exepath, *cwd, *args, *env;
    uint32_t comm_len, exe_len, exepath_len, cwd_len, args_len, env_len;
    int64_t uid, gid, loginuid, tty, fdlimit, flags;
    uint64_t clone_ts;
    int64_t exe_writable, exe_flags;
    uint64_t cap_inh, cap_perm, cap_eff;
    int64_t last_type, last_fd;
    uint64_t fds_id;
    uint32_t nfds;
};
struct cs_fd_out {
    int64_t num;
    int32_t type, role, l4proto, listening, connected, cfam, sfam, cport_set, sport_set;
    uint32_t flags;
    uint64_t ino, dev;
    uint8_t cip[16], sip[16];
    int64_t cport, sport, socktype;
    const char *name, *name_raw;
    uint32_t name_len, name_raw_len;
};
struct cs_state;
struct cs_state *cs_new(const struct cs_evt *evt, uint32_t ntypes);
void cs_free(struct cs_state *cs);
int cs_feed(struct cs_state *cs, const uint8_t *rec, uint32_t len);
int cs_feed_blocks(struct cs_state *cs, const uint8_t *buf, uint64_t size, uint64_t *off,
                   uint64_t *num);
int cs_thread_get(struct cs_state *cs, int64_t tid, struct cs_thread_out *out);
int cs_thread_next(struct cs_state *cs, uint32_t *pos, struct cs_thread_out *out);
int cs_fd_get(struct cs_state *cs, int64_t tid, int64_t num, struct cs_fd_out *out);
int cs_fd_next(struct cs_state *cs, int64_t tid, uint32_t *pos, struct cs_fd_out *out);
int cs_event_fd(struct cs_state *cs, struct cs_fd_out *out);
void cs_counts(struct cs_state *cs, uint64_t *out);
int cs_thread_put(struct cs_state *cs, const struct cs_thread_out *in);
int cs_share_fds(struct cs_state *cs, int64_t tid, int64_t other);
int cs_fd_put(struct cs_state *cs, int64_t tid, const struct cs_fd_out *in);
"""
_PREFIX = "_cstate_"
_SAID: list[bool] = []


def make_ffi(module: str) -> cffi.FFI:
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source(module, SOURCE.read_text(), extra_compile_args=["-O2", "-Werror", "-Wall"])
    return ffi


def module_name() -> str:
    """The tracker's module name for the current source."""
    digest = hashlib.sha256((SOURCE.read_text() + CDEF).encode()).hexdigest()[:16]
    return _PREFIX + digest


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sentry" / f"py{sys.version_info[0]}{sys.version_info[1]}"


def _find(directory: Path, name: str) -> Path | None:
    built = sorted(directory.glob(f"{name}.*.so")) or sorted(directory.glob(f"{name}.so"))
    return built[0] if built else None


def installed() -> Path | None:
    """The tracker built into the package at install time for the current source, if any."""
    return _find(HERE, module_name())


def build(directory: Path) -> Path:
    """Compile the tracker into directory; raises cffi.VerificationError or OSError."""
    name = module_name()
    work = directory / f".build-cstate-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        path = Path(make_ffi(name).compile(tmpdir=str(work)))
        final = directory / path.name
        os.replace(path, final)  # concurrent first uses never see a partial file
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


def load(*, use_installed: bool = True) -> Any | None:
    """The compiled tracker (``.ffi``, ``.lib``): the install-time build, else the cached
    one, else built into the cache now; None (said once) when it cannot be built."""
    name = module_name()
    try:
        path = (use_installed and _find(HERE, name)) or _find(_cache_dir(), name)
        if not path:
            path = build(_cache_dir())
        return _import(name, path)
    except (cffi.VerificationError, OSError, ImportError) as err:
        if not _SAID:
            _SAID.append(True)
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            sys.stderr.write(f"sentry: the C state tracker is not available ({reason})\n")
        return None


def main() -> int:
    """Build the tracker into the package (scripts/install.sh); drop builds of older sources."""
    try:
        path = installed() or build(HERE)
    except (cffi.VerificationError, OSError) as err:
        print(f"sentry: building the C state tracker failed: {err}", file=sys.stderr)
        return 1
    for old in HERE.glob(f"{_PREFIX}*.so"):
        if not old.name.startswith(module_name() + "."):
            old.unlink()
    print(f"C state tracker: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
