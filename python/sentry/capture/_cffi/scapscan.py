"""The C event-block walker (``scapscan.c``): what Python sees of it and how it is built.

:mod:`sentry.capture.scapreader` reads capture blocks with it, and :mod:`sentry.capture.ebpf`
the probe's ring buffers (``ring_scan``); without a compiler each uses its Python walker
instead (said once). Built and loaded by :mod:`sentry.capture._cffi.build`.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from sentry.capture._cffi.build import CModule
from sentry.events.event import Event
from sentry.events.table import EVENTS
from sentry.version import driver_dir

HERE = Path(__file__).resolve().parent
INCLUDE = driver_dir() / "include"  # sentry_wire.h: the event header's and block's offsets
CDEF = """
struct scan_rec {
    uint64_t off; uint64_t num; uint64_t ts; uint64_t tid;
    uint32_t len; uint32_t nparams; uint16_t type; uint16_t cpu; uint32_t arg0_ok;
    int64_t arg0;
};
int scap_scan(const uint8_t *buf, uint64_t size, uint64_t *off, uint64_t *num,
              uint64_t *unknown, const uint8_t *want, const uint8_t *arg0_kind,
              uint32_t ntypes, struct scan_rec *out, int max, int *status);
int ring_scan(const uint8_t *data, uint64_t mask, uint64_t *pos, uint64_t prod, int budget,
              const uint8_t *want, const uint8_t *arg0_kind, uint32_t ntypes, uint16_t cpu,
              struct scan_rec *out, int max, int *taken);
"""
# struct scan_rec for Python's struct module (scapreader reads the walker's records with it);
# tests/unit/capture/test_walker_build.py checks it against the compiled struct
SCAN_REC_FIELDS = ("off", "num", "ts", "tid", "len", "nparams", "type", "cpu", "arg0_ok", "arg0")
SCAN_REC_FORMAT = "<QQQQIIHHIq"
SCAN_REC = struct.Struct(SCAN_REC_FORMAT)


def scanned_events(data: Any, recbuf: Any, count: int) -> list[Event]:
    """The Events of the walker's first ``count`` records (``recbuf``) over ``data``, their
    parameter 0 given where the walker read it (a ring's records have number 0: the
    caller numbers them once merged)."""
    events = EVENTS
    return [
        Event(
            data,
            off,
            num,
            cpu,
            ts,
            tid,
            elen,
            etype,
            nparams,
            events[etype],
            arg0 if arg0_ok else None,
        )
        for off, num, ts, tid, elen, nparams, etype, cpu, arg0_ok, arg0 in SCAN_REC.iter_unpack(
            recbuf[: count * SCAN_REC.size]
        )
    ]


SCAPSCAN = CModule(
    prefix="scapscan",
    what="the C event walker",
    source=HERE / "scapscan.c",
    cdef=CDEF,
    instead="reading captures with the slower Python walker (install gcc, or run "
    "scripts/install.sh)",
    compile_args=["-O2", "-Werror"],
    include_dirs=[INCLUDE],
    depends=[INCLUDE / "sentry_wire.h"],
)


def load(*, use_installed: bool = True) -> Any | None:
    """The compiled walker (``.ffi``, ``.lib``), or None (said once) without a compiler."""
    return SCAPSCAN.load(use_installed=use_installed)


def installed() -> Path | None:
    """The walker built into the package at install time for the current source, if any."""
    return SCAPSCAN.installed()
