"""The eBPF probe's shared structures as cffi sees them (ABI mode): ``struct
sentry_bpf_settings`` (its live .bss, mapped) and ``struct sentry_bpf_config`` (its
.rodata.sc section, written before load), both from ``driver/bpf/sentry_bpf.h``.
"""

from __future__ import annotations

import mmap
from typing import Any

from cffi import FFI

from sentry.capture._cffi.abi import cdef_source
from sentry.capture._cffi.libbpf import ffi as bpf_ffi
from sentry.capture._cffi.libbpf import find_map
from sentry.capture.bpfobject import source_dir
from sentry.errors import DriverError

ffi = FFI()
ffi.cdef("typedef uint16_t __u16; typedef uint32_t __u32; typedef uint64_t __u64;")
ffi.cdef(cdef_source((source_dir() / "sentry_bpf.h").read_text())[0])


def settings_view(mapping: mmap.mmap) -> Any:
    """The probe's ``struct sentry_bpf_settings`` over its mmap'ed .bss."""
    return ffi.cast("struct sentry_bpf_settings *", ffi.from_buffer(mapping))


def config_view(lib: Any, obj: Any) -> Any:
    """The probe's ``struct sentry_bpf_config``: its .rodata.sc section, writable before
    load; DriverError for an object built from other sources (a section of another size)."""
    size = bpf_ffi.new("size_t *")
    ptr = lib.bpf_map__initial_value(find_map(lib, obj, ".rodata.sc"), size)
    want = ffi.sizeof("struct sentry_bpf_config")
    if ptr == bpf_ffi.NULL or size[0] != want:
        raise DriverError(
            f"eBPF object: .rodata.sc holds {size[0]} bytes, not the {want} of "
            "struct sentry_bpf_config (an object built from other sources?)"
        )
    return ffi.cast("struct sentry_bpf_config *", ptr)
