"""driver/include/sentry_scap_flags.h (rendered from events/native.py and flagnames.py),
compiled by the real C compiler: its converters turn each native value into the scap value
the Python side decodes, and the native numbers are the host's own."""

from __future__ import annotations

import mmap
import os
import select
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from needs import missing
from sentry.capture._cffi import abi
from sentry.events.flagnames import FLAG_TABLES
from sentry.events.native import BIT_TRANSLATIONS, FCNTL_COMMANDS, NATIVE, PTRACE_REQUESTS
from sentry.events.wire import SCAP_VALUES

DRIVER = Path(__file__).resolve().parents[3] / "driver"


def _bit_pairs() -> list[tuple[str, str, str]]:
    import sys

    sys.path.insert(0, str(DRIVER))
    from gen_scap_flags import bit_pairs

    return [(t.func, n, s) for t in BIT_TRANSLATIONS.values() for n, s in bit_pairs(t)]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """name -> the compiled converter's answer, for every probe below."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        missing("no C compiler")
    probes: dict[str, str] = {}
    for func, native, _ in _bit_pairs():
        probes[f"{func}:{native}"] = f"{func}(K_{native})"
    for name in FCNTL_COMMANDS:
        probes[f"fcntl:{name}"] = f"scap_fcntl_cmd({FCNTL_COMMANDS[name]})"
    for name in PTRACE_REQUESTS:
        probes[f"ptrace:{name}"] = f"scap_ptrace_request({PTRACE_REQUESTS[name]})"
    probes["open:rdwr"] = "scap_open_flags(K_O_RDWR)"
    probes["open:wronly"] = "scap_open_flags(K_O_WRONLY)"
    probes["open:rdonly"] = "scap_open_flags(0)"
    probes["fcntl:unknown"] = "scap_fcntl_cmd(999)"
    probes["ptrace:unknown"] = "scap_ptrace_request(0x4300)"
    body = "\n".join(
        f'\tprintf("%s %llu\\n", "{k}", (unsigned long long)({v}));' for k, v in probes.items()
    )
    src = tmp_path_factory.mktemp("scapflags") / "probe.c"
    src.write_text(
        "#include <stdio.h>\n#include <linux/types.h>\n"
        "#ifndef __always_inline\n#define __always_inline inline __attribute__((always_inline))\n"
        "#endif\n"
        '#include "sentry_scap_flags.h"\n'
        f"int main(void)\n{{\n{body}\n\treturn 0;\n}}\n"
    )
    exe = src.with_suffix("")
    subprocess.run(
        [cc, "-Wall", "-Werror", "-I", str(abi.include_dir()), str(src), "-o", str(exe)],
        check=True,
        timeout=120,
    )
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, timeout=30)
    return {k: int(v) for k, v in (line.split() for line in out.stdout.splitlines())}


def test_each_native_bit_becomes_its_scap_bit(converted: dict[str, int]) -> None:
    pairs = _bit_pairs()
    assert len(pairs) > 70
    for func, native, scap in pairs:
        # an open flag comes with the access mode: none of O_WRONLY, O_RDWR is O_RDONLY
        mode = SCAP_VALUES["SCAP_O_RDONLY"] if func == "scap_open_flags" else 0
        assert converted[f"{func}:{native}"] == SCAP_VALUES[scap] | mode, (func, native, scap)


def test_open_access_modes(converted: dict[str, int]) -> None:
    flags = dict(FLAG_TABLES["file_flags"])
    assert converted["open:rdonly"] == flags["O_RDONLY"]
    assert converted["open:wronly"] == flags["O_WRONLY"]
    assert converted["open:rdwr"] == flags["O_RDWR"]


def test_commands(converted: dict[str, int]) -> None:
    fcntl, ptrace = dict(FLAG_TABLES["fcntl_commands"]), dict(FLAG_TABLES["ptrace_requests"])
    for name in FCNTL_COMMANDS:
        assert converted[f"fcntl:{name}"] == fcntl[name], name
    for name in PTRACE_REQUESTS:
        assert converted[f"ptrace:{name}"] == ptrace[name], name
    assert converted["fcntl:unknown"] == converted["ptrace:unknown"] == 0


def test_native_values_are_the_hosts() -> None:
    # the host's own constants (x86_64 Linux), where Python exposes them
    host = {
        name: getattr(mod, name)
        for mod in (os, mmap, select, stat)
        for name in NATIVE
        if isinstance(getattr(mod, name, None), int)
    }
    host.update(S_IFMT=0o170000, O_SYNC=os.O_SYNC & ~os.O_DSYNC)
    del host["O_LARGEFILE"]  # 0 in 64-bit user space; the kernel's flag is what the call sees
    if hasattr(os, "O_TMPFILE"):
        host["O_TMPFILE"] = os.O_TMPFILE & ~os.O_DIRECTORY
    assert len(host) > 40
    assert {n: NATIVE[n].value for n in host} == host
