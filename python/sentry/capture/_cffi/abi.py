"""The wire ABI as cffi sees it: ``driver/include/sentry_abi.h`` and ``sentry_events.h``.

Both headers are the one definition shared by the kernel module, the eBPF probe and Python.
This module feeds their structs, enums and numeric ``#define``s to cffi's ``cdef`` (ABI mode,
no compiler needed; include guards, includes and conditional blocks are dropped) and
computes the ``_IO``/``_IOR``/``_IOW`` request numbers, which cffi cannot evaluate. Other
modules use :data:`ffi`, :data:`IOCTLS`, :func:`consts` and the names below and never spell
C types themselves.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cffi import FFI

from sentry.errors import DriverError

HEADERS = ("sentry_abi.h", "sentry_events.h")

_TYPEDEFS = """
typedef uint8_t __u8; typedef uint16_t __u16; typedef uint32_t __u32;
typedef uint64_t __u64; typedef int64_t __s64;
"""
_NUMERIC_DEFINE = re.compile(r"#define\s+(\w+)\s+(-?(?:0x[0-9a-fA-F]+|\d+))\s*(?:/\*.*)?$")
_IOCTL_DEFINE = re.compile(
    r"#define\s+(\w+)\s+_IO(R|W|WR)?\(\s*\w+\s*,\s*(\d+)\s*(?:,\s*([^)]+))?\)"
)
_IOC_DIR = {None: 0, "W": 1, "R": 2, "WR": 3}
_PACKED_STRUCT = re.compile(r"(struct\s+\w+\s*\{[^}]*\})\s*__attribute__\(\(packed\)\)\s*;")


def include_dir() -> Path:
    """Where the shared headers live: $SENTRY_INCLUDE_DIR, else the source tree's driver/."""
    env = os.environ.get("SENTRY_INCLUDE_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [
        here.parents[4] / "driver" / "include",
        here.parents[2] / "data" / "driver" / "include",
    ]
    for cand in candidates:
        if (cand / HEADERS[0]).is_file():
            return cand
    raise DriverError("driver headers (sentry_abi.h) not found; set SENTRY_INCLUDE_DIR")


HEADER_PATH = include_dir() / HEADERS[0]


IoctlDef = tuple[str, str | None, int, str | None]


def cdef_source(text: str) -> tuple[str, str, list[IoctlDef]]:
    """Split a header into cffi-parsable declarations: (plain, packed structs, ioctls).

    Structs marked ``__attribute__((packed))`` must go to ``cdef(..., packed=True)``; the
    others keep their natural alignment, as in C.
    """
    out: list[str] = []
    ioctl_defs: list[IoctlDef] = []
    depth = 0  # nesting of conditional blocks; the include guard is depth 1
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    packed = "\n".join(m.group(1) + ";" for m in _PACKED_STRUCT.finditer(text))
    text = _PACKED_STRUCT.sub("", text)
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("#if", "#ifdef", "#ifndef")):
            depth += 1
            continue
        if stripped.startswith("#endif"):
            depth -= 1
            continue
        if stripped.startswith(("#elif", "#else")):
            continue
        if depth > 1:  # kernel / user-space / eBPF include blocks
            continue
        m = _IOCTL_DEFINE.match(stripped)
        if m:
            ioctl_defs.append((m.group(1), m.group(2), int(m.group(3)), m.group(4)))
            continue
        if stripped.startswith("#"):
            if _NUMERIC_DEFINE.match(stripped):
                out.append(stripped)
            continue
        out.append(line)
    return "\n".join(out), packed, ioctl_defs


def _load() -> tuple[FFI, dict[str, int], dict[str, int]]:
    base = include_dir()
    try:
        texts = [(base / name).read_text() for name in HEADERS]
    except OSError as err:
        raise DriverError(f"cannot read the driver headers in {base}: {err}") from err
    ffi = FFI()
    ffi.cdef(_TYPEDEFS)
    ioctl_defs: list[IoctlDef] = []
    for text in texts:
        plain, packed, defs = cdef_source(text)
        if packed:
            ffi.cdef(packed, packed=True)
        ffi.cdef(plain)
        ioctl_defs += defs
    lib = ffi.dlopen(None)
    constants = {name: getattr(lib, name) for name in dir(lib)}
    found = re.search(r"#define\s+SENTRY_IOCTL_MAGIC\s+'(.)'", texts[0])
    if found is None:
        raise DriverError("SENTRY_IOCTL_MAGIC missing from sentry_abi.h")
    magic = ord(found.group(1))
    ioctls = {}
    for name, direction, nr, ctype in ioctl_defs:
        size = ffi.sizeof(ctype.strip()) if ctype else 0
        ioctls[name] = (_IOC_DIR[direction] << 30) | (size << 16) | (magic << 8) | nr
    return ffi, ioctls, constants


ffi, IOCTLS, _CONSTS = _load()


def consts() -> dict[str, int]:
    """Every enum member and integer ``#define`` of the shared headers, by name."""
    return dict(_CONSTS)


API_VERSION: int = _CONSTS["SENTRY_API_VERSION"]
EVT_HDR_LEN: int = _CONSTS["SENTRY_EVT_HDR_LEN"]
SYSCALL_NR_MAX: int = _CONSTS["SENTRY_SYSCALL_NR_MAX"]
INTEREST_PROCEXIT: int = _CONSTS["SENTRY_INTEREST_PROCEXIT"]
MAX_SNAPLEN: int = _CONSTS["SENTRY_MAX_SNAPLEN"]
RING_F_CAPTURING: int = _CONSTS["SENTRY_RING_F_CAPTURING"]
CTRL_SIZE: int = ffi.sizeof("struct sentry_ring_ctrl")
