"""Scap blocks framed by hand, independently of ``ScapWriter``, for the reader tests."""

from __future__ import annotations

import struct


def block(btype: int, payload: bytes) -> bytes:
    """One block: type, total length, payload padded to 4 bytes, total length again."""
    total = 8 + ((len(payload) + 3) & ~3) + 4
    pad = b"\0" * (total - 12 - len(payload))
    return struct.pack("<II", btype, total) + payload + pad + struct.pack("<I", total)
