"""driver/include/sentry_events.h and sentry_abi.h, compiled by the real C compiler, agree
with the Python event table and with the ABI-mode cffi view other modules use."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import cffi
import pytest

from needs import missing
from sentry.capture._cffi import abi
from sentry.events.event import HEADER
from sentry.events.table import EVENTS, EventCategory, EventFlags, ParamType, PrintFormat

INCLUDE = abi.include_dir()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        missing("no C compiler")
    tmp = tmp_path_factory.mktemp("cffi_api")
    ffi = cffi.FFI()
    ffi.cdef(
        "typedef unsigned char __u8; typedef unsigned short __u16;"
        "typedef unsigned int __u32; typedef unsigned long long __u64;"
        "typedef long long __s64;"
    )  # as <linux/types.h> spells them
    for name in abi.HEADERS:
        plain, packed, _ = abi.cdef_source((INCLUDE / name).read_text())
        if packed:
            ffi.cdef(packed, packed=True)
        ffi.cdef(plain)
    # SENTRY_CDEF: take __u64 & co from <linux/types.h>, as Python.h already pulls it in
    prelude = (
        "#include <linux/types.h>\n#include <sys/ioctl.h>\n#define SENTRY_CDEF\n"
        '#include "sentry_abi.h"\n#include "sentry_events.h"\n'
    )
    ffi.set_source(
        "_sentry_hdr_check", prelude, include_dirs=[str(INCLUDE)], extra_compile_args=["-Werror"]
    )
    lib_path = ffi.compile(tmpdir=str(tmp))
    spec = importlib.util.spec_from_file_location("_sentry_hdr_check", lib_path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_event_numbers_match_c(compiled) -> None:  # type: ignore[no-untyped-def]
    lib = compiled.lib
    for code, info in EVENTS.items():
        assert getattr(lib, f"SE_{info.ident}") == code
    assert len(EVENTS) == lib.SE_EVENT_MAX


def test_param_types_formats_flags_match_c(compiled) -> None:  # type: ignore[no-untyped-def]
    lib = compiled.lib
    for t in ParamType:
        assert getattr(lib, f"SE_PT_{t.name}") == t.value
    for f in PrintFormat:
        assert getattr(lib, f"SE_PF_{f.name}") == f.value
    for name, flag in EventFlags.__members__.items():
        assert getattr(lib, f"SE_EF_{name}") == flag.value
    for c in EventCategory:
        assert getattr(lib, f"SE_EC_{c.name}") == c.value


def test_struct_layouts_match_c(compiled) -> None:  # type: ignore[no-untyped-def]
    api = compiled.ffi  # API mode: sizes/offsets come from the C compiler
    for struct in ("sentry_evt_hdr", "sentry_ring_ctrl", "sentry_stats", "sentry_interest"):
        ctype = f"struct {struct}"
        assert abi.ffi.sizeof(ctype) == api.sizeof(ctype)
        assert abi.ffi.alignof(ctype) == api.alignof(ctype)
        for field, _ in api.typeof(ctype).fields:
            assert abi.ffi.offsetof(ctype, field) == api.offsetof(ctype, field)
    assert api.sizeof("struct sentry_evt_hdr") == compiled.lib.SENTRY_EVT_HDR_LEN
    assert HEADER.size == compiled.lib.SENTRY_EVT_HDR_LEN
    assert [
        api.offsetof("struct sentry_evt_hdr", f) for f in ("ts", "tid", "len", "type", "nparams")
    ] == [0, 8, 16, 20, 22]


def test_abi_constants_visible_to_python() -> None:
    consts = abi.consts()
    assert consts["SE_SYSCALL_OPENAT_2_X"] == 307
    assert consts["SE_PT_FSRELPATH"] == 43
    assert abi.EVT_HDR_LEN == 26
    assert set(abi.IOCTLS) >= {"SENTRY_IOCTL_ENABLE_CAPTURE", "SENTRY_IOCTL_GET_STATS"}


def test_header_is_plain_for_cdef() -> None:
    # the events header must stay free of anything cffi's cdef cannot read
    text = (INCLUDE / "sentry_events.h").read_text()
    directives = [line for line in text.splitlines() if line.startswith("#")]
    assert all(d.split()[0] in ("#ifndef", "#define", "#endif") for d in directives)
    assert Path(INCLUDE / "sentry_abi.h").is_file()
