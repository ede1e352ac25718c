"""The drivers' wire-format headers are rendered from the one spec (python/sentry/events) by
driver/gen_headers.py: the committed ones must be what the spec renders today."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from sentry.events import wire
from sentry.events.table import EVENTS

DRIVER = Path(__file__).resolve().parents[2] / "driver"


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_headers", DRIVER / "gen_headers.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


def test_committed_headers_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(DRIVER / "gen_headers.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_a_stale_header_is_named(tmp_path: Path) -> None:
    gen = _gen()
    for rel in gen.ARTIFACTS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DRIVER / rel, tmp_path / rel)
    assert gen.stale(tmp_path) == []
    events = tmp_path / "include" / "sentry_events.h"
    events.write_text(events.read_text().replace("SE_EVENT_MAX = ", "SE_EVENT_MAX = 1"))
    (tmp_path / "include" / "sentry_wire.h").unlink()
    assert gen.stale(tmp_path) == ["include/sentry_wire.h", "include/sentry_events.h"]


def test_rendered_from_the_spec() -> None:
    gen = _gen()
    assert f"SE_EVENT_MAX = {len(EVENTS)}," in gen.render_events()
    wire_h = gen.render_wire()
    for name, off in wire.HEADER_OFFSETS.items():
        assert f"#define SENTRY_EVT_OFF_{name.upper()} {off}\n" in wire_h
    for name, off in wire.EVENT_BLOCK_OFFSETS.items():
        assert f"#define SENTRY_EVB_OFF_{name.upper()} {off}\n" in wire_h
    assert f"#define SENTRY_SAMPLING_MAX {wire.SAMPLING_MAX}\n" in wire_h
    values = gen.render_scap_values()
    assert "#define SCAP_O_CREAT (1 << 2)\n" in values
    assert "#define SCAP_CL_CLONE_NEWPID (1 << 6)\n" in values
    assert "#define SCAP_O_RDWR 3\n" in values


def test_header_layout() -> None:
    assert wire.HEADER_LEN == 26
    assert wire.HEADER_OFFSETS == {"ts": 0, "tid": 8, "len": 16, "type": 20, "nparams": 22}
    # scap_savefile.h's event block: type, total length, cpu, then the event header
    assert wire.EVENT_BLOCK_LEN == 10
    assert wire.EVENT_BLOCK_OFFSETS == {"type": 0, "len": 4, "cpu": 8}


def test_block_types() -> None:
    # scap_savefile.h's numbers for the blocks sysdig writes today, and pcapng's section header
    facts = {
        "SHB": 0x0A0D0D0A,
        "MI": 0x201,
        "PL_V9": 0x215,
        "FDL_V2": 0x218,
        "EV_V2": 0x216,
        "EV_V2_LARGE": 0x221,
        "EVF_V2": 0x217,
        "EVF_V2_LARGE": 0x222,
        "IL_V2": 0x219,
        "UL_V2": 0x220,
    }
    assert {name: wire.BLOCK_TYPES[name] for name in facts} == facts
    assert len(set(wire.BLOCK_TYPES.values())) == len(wire.BLOCK_TYPES)
    assert wire.SECTION.size + wire.BLOCK_MIN_LEN == wire.SECTION_BLOCK_MIN_LEN == 28


def test_c_sees_the_block_types_python_reads() -> None:
    from sentry.capture import scapmeta
    from sentry.capture._cffi.abi import consts

    c = consts()
    assert {n: c[f"SENTRY_BT_{n}"] for n in wire.BLOCK_TYPES} == wire.BLOCK_TYPES
    assert (
        c["SENTRY_BT_EV_V2"],
        c["SENTRY_BT_EVF_V2_LARGE"],
        c["SENTRY_BT_SHB"],
    ) == (scapmeta.EV_V2, scapmeta.EVF_V2_LARGE, scapmeta.SHB)
    assert c["SENTRY_BLOCK_MIN_LEN"] == wire.BLOCK_MIN_LEN == 12
    assert c["SENTRY_SECTION_MAGIC"] == scapmeta.SHB_MAGIC


def test_socket_layouts() -> None:
    # scap's PT_SOCKTUPLE / PT_SOCKADDR (ppm_events_public.h): family byte, then the fields
    tup = {f: (lay.offsets, lay.size) for f, lay in wire.SOCKTUPLE.items()}
    assert tup == {
        1: ({"family": 0, "source": 1, "dest": 9, "path": 17}, 17),
        2: ({"family": 0, "sip": 1, "sport": 5, "dip": 7, "dport": 11}, 13),
        10: ({"family": 0, "sip": 1, "sport": 17, "dip": 19, "dport": 35}, 37),
    }
    addr = {f: (lay.offsets, lay.size) for f, lay in wire.SOCKADDR.items()}
    assert addr == {
        1: ({"family": 0, "path": 1}, 1),
        2: ({"family": 0, "addr": 1, "port": 5}, 7),
        10: ({"family": 0, "addr": 1, "port": 17}, 19),
    }


def test_c_sees_the_socket_layouts() -> None:
    from sentry.capture._cffi.abi import consts

    c = consts()
    for kind, layouts in (("SOCKADDR", wire.SOCKADDR), ("SOCKTUPLE", wire.SOCKTUPLE)):
        for name, family in wire.AF.items():
            assert c[f"SENTRY_AF_{name}"] == family
            lay = layouts[family]
            assert c[f"SENTRY_{kind}_{name}_LEN"] == lay.size
            for field, off in lay.offsets.items():
                if field != "family":
                    assert c[f"SENTRY_{kind}_{name}_OFF_{field.upper()}"] == off


def test_sampling_sets() -> None:
    from sentry.events.syscalls import ALWAYS_DROP_SYSCALLS, NEVER_DROP_SYSCALLS, X86_64_BY_NAME

    never, always = set(NEVER_DROP_SYSCALLS), set(ALWAYS_DROP_SYSCALLS)
    assert not never & always
    assert never | always <= set(X86_64_BY_NAME)
    # scap's UF_NEVER_DROP: state a reader rebuilds; UF_ALWAYS_DROP: frequent, stateless
    assert {"execve", "clone", "open", "close", "dup2", "chdir", "prlimit64"} <= never
    assert {"futex", "brk", "mmap", "poll", "stat", "epoll_wait"} <= always
    text = _gen().render_sampling()
    never_macro = text.split("#define SENTRY_NEVER_DROP_SYSCALLS(X)")[1].split("#define")[0]
    assert re.findall(r"X\((\w+)\)", never_macro) == list(NEVER_DROP_SYSCALLS)
    always_macro = text.split("#define SENTRY_ALWAYS_DROP_SYSCALLS(X)")[1].split("#endif")[0]
    assert re.findall(r"X\((\w+)\)", always_macro) == list(ALWAYS_DROP_SYSCALLS)
