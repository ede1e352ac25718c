"""The wheel works outside the checkout: built from a copy of the tree, installed into a fresh
venv in a temporary directory, its ``sentry`` prints its versions and raises alerts on Falco
0.28.1's traces with the rules packaged in the wheel (no checkout, no /etc/sentry)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    # Build from a copy: an in-tree build would write build/ and *.egg-info into the
    # shared working tree.
    files = _run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT).stdout.split()
    src = base / "src"
    for name in files:
        f = ROOT / name
        if f.is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, src / name)
    wheels = base / "dist"
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(src),
        ]
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("sentry_runtime-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in (
        "sentry/data/rules/sentry_rules.yaml",
        "sentry/data/rules/k8s_audit_rules.yaml",
        "sentry/data/sentry.yaml",
        "sentry/data/driver-loader.sh",
        "sentry/data/driver/VERSION",
        "sentry/data/driver/Kbuild",
        "sentry/data/driver/dkms.conf",
        "sentry/data/driver/main.c",
        "sentry/data/driver/include/sentry_abi.h",
        "sentry/data/driver/bpf/sentry.bpf.c",
        "sentry/data/driver/bpf/Makefile",
    ):
        assert data in names, f"{data} missing from {wheel.name}"
    assert not any(n.endswith((".o", ".ko", "vmlinux.h")) for n in names), names
    walker = r"sentry/capture/_cffi/_scapscan_[0-9a-f]+(\.[\w-]+)?\.so"
    assert any(re.fullmatch(walker, n) for n in names), "the C walker is not in the wheel"
    tracker = r"sentry/capture/_cffi/_cstate_[0-9a-f]+(\.[\w-]+)?\.so"
    assert any(re.fullmatch(tracker, n) for n in names), "the C state tracker is not in the wheel"
    assert "sentry/inspect/cstate.c" in names  # its build is named by the source's hash
    assert "sentry/inspect/cstate_threads.h" in names  # ... and its parts
    assert "-py3-none-any" not in wheel.name  # it carries a compiled module
    env_dir = base / "venv"
    made = _run([sys.executable, "-m", "venv", str(env_dir)])
    assert made.returncode == 0, made.stderr
    inst = _run(
        [str(env_dir / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)]
    )
    assert inst.returncode == 0, inst.stdout + inst.stderr
    return env_dir


def _env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SENTRY_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"))
    return env


def test_version(venv: Path, tmp_path: Path) -> None:
    out = _run([str(venv / "bin" / "sentry"), "--version"], cwd=tmp_path, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    version = (ROOT / "driver" / "VERSION").read_text().strip()
    abi = (ROOT / "driver" / "include" / "sentry_abi.h").read_text()
    api = re.search(r"#define SENTRY_API_VERSION (\d+)", abi)
    schema = re.search(r"#define SENTRY_SCHEMA_VERSION (\d+)", abi)
    assert api and schema
    assert f"Sentry version: {version}" in out.stdout
    assert re.search(rf"API version: +{api.group(1)}\n", out.stdout), out.stdout
    assert re.search(rf"Schema version: +{schema.group(1)}\n", out.stdout), out.stdout


@pytest.mark.conformance
def test_packaged_rules_raise_alerts(venv: Path, tmp_path: Path, trace_dir: Path) -> None:
    if Path("/etc/sentry/sentry_rules.yaml").exists():
        pytest.fail(
            "/etc/sentry/sentry_rules.yaml exists: it would be loaded before the "
            "packaged rules this test checks"
        )
    site = next((venv / "lib").glob("python3*/site-packages"))
    sentry = str(venv / "bin" / "sentry")
    env = _env(tmp_path)
    audit = _run(
        [sentry, "run", "-e", str(trace_dir / "k8s_audit" / "attach_pod.json")],
        cwd=tmp_path,
        env=env,
    )
    assert audit.returncode == 0, audit.stderr
    assert "Notice Exec/attach into pod" in audit.stdout, audit.stdout + audit.stderr
    loaded = re.findall(r"Loading rules from file (\S+)", audit.stderr)
    assert loaded, audit.stderr
    assert all(Path(p).is_relative_to(site / "sentry" / "data" / "rules") for p in loaded), loaded
    assert any(p.endswith("/k8s_audit_rules.yaml") for p in loaded)
    assert "Sentry version" in audit.stderr and "Sentry initialized with" in audit.stderr
    # a syscall trace through the compiled walker (no "slower Python walker" warning)
    scap = _run(
        [sentry, "run", "--stats", "-e", str(trace_dir / "cat_write.scap")], cwd=tmp_path, env=env
    )
    assert scap.returncode == 0, scap.stderr
    assert "slower Python walker" not in scap.stderr
    assert not (tmp_path / "cache" / "sentry").exists(), "the walker was compiled at run time"


def test_c_state_tracker_is_installed_built(venv: Path, tmp_path: Path) -> None:
    """The installed package loads its install-time build of inspect/cstate.c: nothing is
    compiled at run time."""
    code = (
        "from sentry.capture._cffi.cstate import installed; "
        "from sentry.inspect.cstate import CState; "
        "assert installed() is not None; print(CState().counts()['events'])"
    )
    run = _run([str(venv / "bin" / "python"), "-c", code], env=_env(tmp_path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0"
    assert not (tmp_path / "cache" / "sentry").exists(), "the tracker was compiled at run time"
