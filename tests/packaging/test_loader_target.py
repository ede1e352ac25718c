"""scripts/driver-loader.sh --print-target: falcoctl's target ids from a host's os-release
(HOST_ROOT), and the header advice that follows from them. Runs on the host."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

LOADER = Path(__file__).resolve().parents[2] / "scripts" / "driver-loader.sh"

CASES = [
    # (os-release, extra files, kernel release, target)
    ('ID=debian\nVERSION_ID="12"\n', {}, "6.1.0-57-amd64", "debian"),
    ('ID=ubuntu\nVERSION_ID="22.04"\n', {}, "5.15.0-1019-aws", "ubuntu-aws"),
    ('ID=ubuntu\nVERSION_ID="20.04"\n', {}, "5.4.0-72-generic", "ubuntu-generic"),
    ("ID=ubuntu\n", {}, "5.15.0-1030-gke", "ubuntu-gke"),
    ('ID="centos"\nVERSION_ID="7"\n', {}, "3.10.0-957.el7.x86_64", "centos"),
    ('ID="rhel"\nVERSION_ID="8.6"\n', {}, "4.18.0-372.el8.x86_64", "rhel"),
    ('ID="ol"\nVERSION_ID="8.7"\n', {}, "5.15.0-3.60.5.1.el8uek.x86_64", "ol"),
    ('ID="amzn"\nVERSION_ID="2"\n', {}, "4.14.171-136.231.amzn2.x86_64", "amazonlinux2"),
    ('ID="amzn"\nVERSION_ID="2022"\n', {}, "5.10.96-90.460.amzn2022.x86_64", "amazonlinux2022"),
    ('ID="amzn"\nVERSION_ID="2023"\n', {}, "6.1.15-28.43.amzn2023.x86_64", "amazonlinux2023"),
    ('ID="amzn"\nVERSION_ID="2018.03"\n', {}, "4.14.26-46.32.amzn1.x86_64", "amazonlinux"),
    ("ID=fedora\nVERSION_ID=38\n", {}, "6.2.9-300.fc38.x86_64", "fedora"),
    ("ID=flatcar\n", {}, "5.15.63-flatcar", "flatcar"),
    ("ID=cos\n", {}, "5.10.123+", "cos"),
    ("ID=talos\n", {}, "5.15.102-talos", "talos"),
    ("ID=bottlerocket\n", {}, "5.10.165", "bottlerocket"),
    ("ID=buildroot\n", {"etc/VERSION": "v1.29.0\n"}, "5.10.57", "minikube"),
]


def _loader(
    root: Path, krel: str, *args: str, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env.update(HOST_ROOT=str(root), SENTRY_KERNEL_RELEASE=krel, SENTRY_KERNEL_VERSION="1")
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run(
        ["bash", str(LOADER), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("os_release", "files", "krel", "target"), CASES, ids=[c[3] + ":" + c[2] for c in CASES]
)
def test_print_target(
    tmp_path: Path, os_release: str, files: dict[str, str], krel: str, target: str
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text(os_release)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    done = _loader(tmp_path, krel, "--print-target")
    assert done.returncode == 0, done.stderr
    assert done.stdout == target + "\n"


def test_os_release_in_usr_lib(tmp_path: Path) -> None:
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    (tmp_path / "usr" / "lib" / "os-release").write_text("ID=fedora\n")
    assert _loader(tmp_path, "6.2.9-300.fc38.x86_64", "--print-target").stdout == "fedora\n"


def test_help_and_bad_flag(tmp_path: Path) -> None:
    done = _loader(tmp_path, "6.1.0", "--help")
    assert done.returncode == 0
    for flag in (
        "--compile",
        "--no-download",
        "--clean",
        "--ebpf",
        "--print-target",
        "HOST_ROOT",
        "SENTRY_DRIVERS_REPO",
        "SENTRY_DRIVER_NAME",
    ):
        assert flag in done.stdout
    bad = _loader(tmp_path, "6.1.0", "--frobnicate")
    assert bad.returncode == 2 and "unknown option '--frobnicate'" in bad.stderr


def test_driver_version_follows_the_sources(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "driver"
    copy = tmp_path / "driver"
    copy.mkdir()
    for f in ("VERSION", "Kbuild", "main.c"):
        (copy / f).write_text((src / f).read_text())
    env = {**os.environ, "SENTRY_SRC_DIR": str(copy)}
    first = subprocess.run(
        ["bash", str(LOADER), "--print-driver-version"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    version = (src / "VERSION").read_text().strip()
    assert first.startswith(version + "+")
    (copy / "main.c").write_text((src / "main.c").read_text() + "\n/* changed */\n")
    second = subprocess.run(
        ["bash", str(LOADER), "--print-driver-version"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert second != first and second.startswith(version + "+")


ADVICE = [
    ("ID=debian\n", "6.1.0-57-amd64", "apt-get install linux-headers-6.1.0-57-amd64"),
    ("ID=ubuntu\n", "5.15.0-1019-aws", "apt-get install linux-headers-5.15.0-1019-aws"),
    ("ID=fedora\n", "6.2.9-300.fc38.x86_64", "dnf install kernel-devel-6.2.9-300.fc38.x86_64"),
    (
        'ID="amzn"\nVERSION_ID="2"\n',
        "4.14.171-136.231.amzn2.x86_64",
        "yum install kernel-devel-4.14.171-136.231.amzn2.x86_64",
    ),
    ("ID=cos\n", "5.10.123+", "cos ships no kernel headers package"),
]


@pytest.mark.parametrize(("os_release", "krel", "advice"), ADVICE, ids=[a[1] for a in ADVICE])
def test_missing_headers_advice(tmp_path: Path, os_release: str, krel: str, advice: str) -> None:
    """No headers under HOST_ROOT, no download: exit 1 and say what to install."""
    if not Path("/proc/modules").exists():
        pytest.skip(
            "this kernel cannot load modules (no /proc/modules): the loader stops "
            "before headers; tests/kmod/test_loader.py checks this in the VM"
        )
    if "sentry " in Path("/proc/modules").read_text():
        pytest.skip("the sentry module is loaded on this host: the loader would unload it")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text(os_release)
    done = _loader(root, krel, "--no-download", home=tmp_path / "home")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Kernel headers for {krel} not found" in done.stdout
    assert f"To build the module, install on the host: {advice}" in done.stdout


@pytest.mark.skipif(Path("/proc/modules").exists(), reason="this kernel can load modules")
def test_no_module_support_checks_ebpf(tmp_path: Path) -> None:
    """On a kernel without CONFIG_MODULES (this host), say so and check the eBPF probe."""
    done = _loader(Path("/"), os.uname().release, "--no-compile", home=tmp_path)
    out = done.stdout
    assert "Error: this kernel cannot load modules (CONFIG_MODULES=n: no /proc/modules)" in out
    assert "Checking the eBPF probe instead" in out
    assert "Unloading" not in out  # no module step is tried
    if Path("/sys/kernel/btf/vmlinux").exists():
        assert done.returncode == 0, out
        assert "Success: the eBPF probe can run here" in out
    else:
        assert done.returncode == 1 and "has no BTF" in out


def test_ebpf_builds_then_finds_the_probe(tmp_path: Path) -> None:
    """--ebpf: requirements checked, the probe built with clang into the cache, then found."""
    import shutil

    if not Path("/sys/kernel/btf/vmlinux").exists():
        pytest.skip("no BTF on this kernel")
    if not (shutil.which("clang") and shutil.which("bpftool")):
        if os.environ.get("CI"):
            pytest.fail("clang/bpftool missing (scripts/install.sh installs them)")
        pytest.skip("clang and bpftool needed to build the probe")
    first = _loader(Path("/"), os.uname().release, "--ebpf", home=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "* Trying to build the eBPF probe with clang" in first.stdout
    assert "  | " in first.stdout  # the build's lines, as progress
    built = list(tmp_path.glob(".sentry/*/*/sentry_*.bpf.o"))
    assert len(built) == 1 and built[0].read_bytes()[:4] == b"\x7fELF"
    assert f"* Success: eBPF probe built: {built[0]}" in first.stdout
    again = _loader(Path("/"), os.uname().release, "--ebpf", home=tmp_path)
    assert again.returncode == 0 and f"* Success: eBPF probe found at {built[0]}" in again.stdout
