"""Read and write scap capture files (.scap), the format sysdig and Falco use.

The code lives in three modules: :mod:`sentry.capture.scapmeta` (block types, metadata
records and their parsing), :mod:`sentry.capture.scapreader` (:class:`ScapReader`: the
event walk) and :mod:`sentry.capture.scapwriter` (:class:`ScapWriter`, :func:`encode_event`).
This module re-exports their public names for the many callers (tests, bench, the
inspector) that import them from here.
"""

from __future__ import annotations

from sentry.capture.scapmeta import (
    FD_DIRECTORY,
    FD_FILE_V2,
    FdEntry,
    GroupEntry,
    Interface,
    MachineInfo,
    ThreadEntry,
    UserEntry,
)
from sentry.capture.scapreader import _SCANNER, BATCH_SIZE, ScapReader, _load, _scanner
from sentry.capture.scapwriter import ScapWriter, encode_event, encode_value

__all__ = [
    "BATCH_SIZE",
    "FD_DIRECTORY",
    "FD_FILE_V2",
    "_SCANNER",
    "FdEntry",
    "GroupEntry",
    "Interface",
    "MachineInfo",
    "ScapReader",
    "ScapWriter",
    "ThreadEntry",
    "UserEntry",
    "_load",
    "_scanner",
    "encode_event",
    "encode_value",
]
