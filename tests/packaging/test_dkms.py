"""driver/dkms.conf as DKMS takes it: dkms add, build and install for the installed Debian
6.1 headers, in private DKMS, source and install trees (nothing on the host changes), with
the version read from driver/VERSION."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "driver" / "VERSION").read_text().strip()


def _kernel() -> str:
    """The kernel whose headers linux-headers-amd64 installs (Debian's 6.1)."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", "linux-headers-amd64"],
                         capture_output=True, text=True, check=False).stdout
    return out.split(",")[0].split()[0].removeprefix("linux-headers-") if out else ""


def test_dkms_add_build_install(tmp_path: Path) -> None:
    dkms = shutil.which("dkms")
    krel = _kernel()
    if dkms is None or not krel or not Path(f"/usr/src/linux-headers-{krel}").is_dir():
        if os.environ.get("CI"):
            pytest.fail("dkms or linux-headers-amd64 missing (scripts/install.sh installs them)")
        pytest.skip("needs dkms and linux-headers-amd64 (apt-get install dkms linux-headers-amd64)")
    src, tree, inst = tmp_path / "src", tmp_path / "dkms", tmp_path / "modules"
    (inst / krel).mkdir(parents=True)
    tree.mkdir()
    copy = src / f"sentry-{VERSION}"
    shutil.copytree(ROOT / "driver", copy, ignore=shutil.ignore_patterns(
        "*.o", "*.ko", "*.mod", "*.mod.c", ".*.cmd", "Module.symvers", "modules.order", "bpf",
        "*.d"))
    trees = [f"--sourcetree={src}", f"--dkmstree={tree}", f"--installtree={inst}"]

    def run(*args: str) -> str:
        done = subprocess.run([dkms, *args, *trees], capture_output=True, text=True,
                              timeout=900, check=False)
        assert done.returncode == 0, f"dkms {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout

    run("add", "-m", "sentry", "-v", VERSION)
    run("build", "-m", "sentry", "-v", VERSION, "-k", krel,
        f"--kernelsourcedir=/usr/src/linux-headers-{krel}")
    built = list((tree / "sentry" / VERSION / krel).glob("*/module/sentry.ko*"))
    assert built, list(tree.rglob("*"))
    run("install", "-m", "sentry", "-v", VERSION, "-k", krel, "--no-depmod")
    installed = list((inst / krel).rglob("sentry.ko*"))
    assert installed, list(inst.rglob("*"))
    status = run("status", "-m", "sentry")
    assert f"sentry/{VERSION}, {krel}" in status and "installed" in status
    info = subprocess.run(["modinfo", "-F", "version", str(built[0])], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert info == VERSION  # MODULE_VERSION from driver/VERSION too
