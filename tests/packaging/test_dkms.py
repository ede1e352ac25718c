"""driver/dkms.conf as DKMS takes it: dkms add, build and install for each kernel of the
matrix (Debian's 5.10, 6.1 and 6.12 headers, README "Capture drivers"), natively, in private
DKMS, source and install trees (nothing on the host changes), with the version read from
driver/VERSION. The loader's own DKMS build inside the running kernel is
tests/kmod/test_loader.py, in qemu."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "driver" / "VERSION").read_text().strip()


LINES = ("5.10", "6.1", "6.12")


def _kernel(line: str) -> str:
    """The newest installed generic Debian kernel of that line with headers (as
    scripts/test.sh picks the kernels it boots), or ""."""
    found = [
        p.name.removeprefix("linux-headers-")
        for p in Path("/usr/src").glob(f"linux-headers-{line}[.-]*-amd64")
        if (p / "Makefile").is_file()
    ]
    found = [k for k in found if "cloud" not in k and "-rt-" not in k]
    return max(
        found,
        key=lambda k: [
            int(x) if x.isdigit() else 0 for x in k.replace("-", ".").replace("+", ".").split(".")
        ],
        default="",
    )


@pytest.mark.parametrize("line", LINES)
def test_dkms_add_build_install(tmp_path: Path, line: str) -> None:
    dkms = shutil.which("dkms")
    krel = _kernel(line)
    if dkms is None or not krel:
        why = f"needs dkms and Debian's {line} kernel headers (scripts/install.sh installs them)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    src, tree, inst = tmp_path / "src", tmp_path / "dkms", tmp_path / "modules"
    (inst / krel).mkdir(parents=True)
    tree.mkdir()
    copy = src / f"sentry-{VERSION}"
    shutil.copytree(
        ROOT / "driver",
        copy,
        ignore=shutil.ignore_patterns(
            "*.o",
            "*.ko",
            "*.mod",
            "*.mod.c",
            ".*.cmd",
            "Module.symvers",
            "modules.order",
            "bpf",
            "*.d",
        ),
    )
    trees = [f"--sourcetree={src}", f"--dkmstree={tree}", f"--installtree={inst}"]

    def run(*args: str) -> str:
        done = subprocess.run(
            [dkms, *args, *trees], capture_output=True, text=True, timeout=900, check=False
        )
        assert done.returncode == 0, f"dkms {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout

    run("add", "-m", "sentry", "-v", VERSION)
    run(
        "build",
        "-m",
        "sentry",
        "-v",
        VERSION,
        "-k",
        krel,
        f"--kernelsourcedir=/usr/src/linux-headers-{krel}",
    )
    built = list((tree / "sentry" / VERSION / krel).glob("*/module/sentry.ko*"))
    assert built, list(tree.rglob("*"))
    run("install", "-m", "sentry", "-v", VERSION, "-k", krel, "--no-depmod")
    installed = list((inst / krel).rglob("sentry.ko*"))
    assert installed, list(inst.rglob("*"))
    status = run("status", "-m", "sentry")
    assert f"sentry/{VERSION}, {krel}" in status and "installed" in status
    info = subprocess.run(
        ["modinfo", "-F", "version", str(built[0])], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert info == VERSION  # MODULE_VERSION from driver/VERSION too
