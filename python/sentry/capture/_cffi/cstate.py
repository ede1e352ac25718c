"""The C state tracker (``sentry/inspect/cstate.c``): what Python sees of it and how it is
built.

:class:`sentry.inspect.cstate.CState` wraps it; without a compiler the Python inspector is
the fallback. Built and loaded by :mod:`sentry.capture._cffi.build`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentry.capture._cffi.build import CModule
from sentry.version import driver_dir

INSPECT = Path(__file__).resolve().parents[2] / "inspect"
INCLUDE = driver_dir() / "include"  # sentry_wire.h: the event header's and block's offsets
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
    int32_t renamed_now;
};
struct cs_state;
struct cs_state *cs_new(const struct cs_evt *evt, uint32_t ntypes);
void cs_free(struct cs_state *cs);
int cs_feed(struct cs_state *cs, const uint8_t *rec, uint32_t len);
int cs_feed_blocks(struct cs_state *cs, const uint8_t *buf, uint64_t size, uint64_t *off,
                   uint64_t *num, uint64_t limit);
int cs_thread_get(struct cs_state *cs, int64_t tid, struct cs_thread_out *out);
int cs_thread_last(struct cs_state *cs, int64_t tid, int64_t *type, uint64_t *ts);
int cs_thread_next(struct cs_state *cs, uint32_t *pos, struct cs_thread_out *out);
int cs_fd_get(struct cs_state *cs, int64_t tid, int64_t num, struct cs_fd_out *out);
int cs_fd_next(struct cs_state *cs, int64_t tid, uint32_t *pos, struct cs_fd_out *out);
int cs_event_fd(struct cs_state *cs, struct cs_fd_out *out);
void cs_counts(struct cs_state *cs, uint64_t *out);
int cs_thread_put(struct cs_state *cs, const struct cs_thread_out *in);
int cs_share_fds(struct cs_state *cs, int64_t tid, int64_t other);
int cs_fd_put(struct cs_state *cs, int64_t tid, const struct cs_fd_out *in);
"""


CSTATE = CModule(
    prefix="cstate",
    what="the C state tracker",
    source=INSPECT / "cstate.c",
    cdef=CDEF,
    include_dirs=[INCLUDE, INSPECT],
    # cstate.c includes its parts (one translation unit): all of them name the build
    depends=[INCLUDE / "sentry_wire.h", *sorted(INSPECT.glob("cstate_*.h"))],
)


def load(*, use_installed: bool = True) -> Any | None:
    """The compiled tracker (``.ffi``, ``.lib``), or None (said once) without a compiler."""
    return CSTATE.load(use_installed=use_installed)


def installed() -> Path | None:
    """The tracker built into the package at install time for the current source, if any."""
    return CSTATE.installed()
