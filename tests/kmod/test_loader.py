"""scripts/driver-loader.sh in the qemu guest (Debian's kernel): each way it gets the module
(local cache, a download checked against .sha256 and a signature, a build with the headers)
and the refusals and advice, with every step's output asserted. Each test leaves the module
loaded from $SENTRY_KO as run_in_vm.sh did, for the tests after it."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOADER = ROOT / "scripts" / "driver-loader.sh"
VERSION = (ROOT / "driver" / "VERSION").read_text().strip()
KREL = os.uname().release
ARCH = os.uname().machine


def _loaded() -> bool:
    return any(
        line.startswith("sentry ") for line in Path("/proc/modules").read_text().splitlines()
    )


@pytest.fixture(autouse=True)
def restore_module() -> Iterator[None]:
    yield
    if _loaded():
        subprocess.run(["rmmod", "sentry"], check=False)
    subprocess.run(
        ["insmod", os.environ.get("SENTRY_KO", str(ROOT / "driver" / "sentry.ko"))], check=True
    )


def loader(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    full.update(HOME=str(home), **env)
    return subprocess.run(
        ["bash", str(LOADER), *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=1500,
        check=False,
    )


def in_order(out: str, *steps: str) -> None:
    """Each step appears in the output, after the one before it."""
    at = 0
    for step in steps:
        found = out.find(step, at)
        assert found >= 0, f"missing (in order) {step!r} in:\n{out}"
        at = found + len(step)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_repo(directory: Path) -> Iterator[str]:
    """Serve directory over HTTP on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@functools.cache
def facts() -> tuple[str, str]:
    """(driver version, module file name) as the loader computes them."""
    dv = subprocess.run(
        ["bash", str(LOADER), "--print-driver-version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    target = subprocess.run(
        ["bash", str(LOADER), "--print-target"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return dv, f"sentry_{target}_{KREL}_1.ko"


def module_ok() -> None:
    assert _loaded()
    assert Path("/sys/module/sentry/version").read_text().strip() == VERSION
    assert Path("/dev/sentry0").exists()


COMMON = (
    "* Unloading sentry module, if present",
    "* Trying to load a system sentry module, if present",
    "* Looking for a sentry module locally",
)


def test_a_loads_from_local_cache(tmp_path: Path) -> None:
    dv, name = facts()
    cache = tmp_path / ".sentry" / dv / ARCH
    cache.mkdir(parents=True)
    shutil.copy(os.environ["SENTRY_KO"], cache / name)
    done = loader("--no-download", "--no-compile", home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    in_order(
        done.stdout,
        f"sentry version={VERSION}, driver version={dv}",
        *COMMON,
        f"Filename '{name}' is composed of:",
        "- target identifier: debian",
        f"- kernel release: {KREL}",
        f"* Found a sentry module at {cache / name}",
        "* Success: sentry module found and inserted",
    )
    assert "Trying to download" not in done.stdout and "build" not in done.stdout
    module_ok()


@pytest.fixture(scope="module")
def drivers_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A drivers repository made by scripts/build-drivers.sh for this kernel, signed: by
    run_in_vm.sh on the host ($SENTRY_TEST_DRIVERS: repo/, key.pub), else here."""
    prebuilt = os.environ.get("SENTRY_TEST_DRIVERS")
    if prebuilt and (Path(prebuilt) / "repo").is_dir():
        return Path(prebuilt)
    base = tmp_path_factory.mktemp("drivers")
    key = base / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    done = subprocess.run(
        [
            str(ROOT / "scripts" / "build-drivers.sh"),
            "-o",
            str(base / "repo"),
            f"linux-headers-{KREL}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SENTRY_DRIVERS_SIGNKEY": str(key)},
        check=False,
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return base


@pytest.fixture
def serve(drivers_repo: Path) -> Iterator[str]:
    with http_repo(drivers_repo / "repo") as url:
        yield url


def test_b_downloads_verifies_and_loads(tmp_path: Path, drivers_repo: Path, serve: str) -> None:
    dv, name = facts()
    ko = drivers_repo / "repo" / dv / ARCH / name
    assert (ko.parent / (name + ".sha256")).is_file()
    done = loader(
        "--no-compile",
        home=tmp_path,
        SENTRY_DRIVERS_REPO=serve,
        SENTRY_DRIVERS_PUBKEY=str(drivers_repo / "key.pub"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    digest = hashlib.sha256(ko.read_bytes()).hexdigest()
    in_order(
        done.stdout,
        *COMMON,
        "not found",
        f"* Trying to download a prebuilt sentry module from {serve}/{dv}/{ARCH}/{name}",
        f"sha256 checksum ok ({digest})",
        "signature ok",
        "* Download succeeded",
        "* Success: sentry module found and inserted",
    )
    assert (tmp_path / ".sentry" / dv / ARCH / name).read_bytes() == ko.read_bytes()
    module_ok()


@pytest.fixture
def tampered(drivers_repo: Path, tmp_path: Path) -> Path:
    """A copy of the repository whose module has one byte changed (checksum kept)."""
    dv, name = facts()
    repo = tmp_path / "tampered"
    shutil.copytree(drivers_repo / "repo", repo)
    ko = repo / dv / ARCH / name
    data = bytearray(ko.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ko.write_bytes(bytes(data))
    return repo


def test_c_refuses_tampered_and_unsigned(
    tmp_path: Path, drivers_repo: Path, tampered: Path
) -> None:
    dv, name = facts()
    with http_repo(tampered) as url:
        done = loader("--no-compile", home=tmp_path / "h1", SENTRY_DRIVERS_REPO=url)
        assert done.returncode == 1, done.stdout + done.stderr
        in_order(
            done.stdout,
            *COMMON,
            "* Trying to download",
            "* Refusing the download: checksum mismatch",
            f"* Error: no sentry module for kernel {KREL} could be found",
        )
        assert "Success" not in done.stdout
        assert not (tmp_path / "h1" / ".sentry" / dv / ARCH / name).exists()
        # an intact module without its signature, while a key is required
        ko = tampered / dv / ARCH / name
        shutil.copy(drivers_repo / "repo" / dv / ARCH / name, ko)
        (ko.parent / (name + ".sig")).unlink()
        done = loader(
            "--no-compile",
            home=tmp_path / "h2",
            SENTRY_DRIVERS_REPO=url,
            SENTRY_DRIVERS_PUBKEY=str(drivers_repo / "key.pub"),
        )
        assert done.returncode == 1, done.stdout + done.stderr
        in_order(
            done.stdout,
            "sha256 checksum ok",
            "* Refusing the download: SENTRY_DRIVERS_PUBKEY is set and",
            "(unsigned module)",
        )
        # signed with another key
        other = tmp_path / "other"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True
        )
        subprocess.run(
            ["ssh-keygen", "-q", "-Y", "sign", "-f", str(other), "-n", "sentry-driver", str(ko)],
            check=True,
        )
        done = loader(
            "--no-compile",
            home=tmp_path / "h3",
            SENTRY_DRIVERS_REPO=url,
            SENTRY_DRIVERS_PUBKEY=str(drivers_repo / "key.pub"),
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert "* Refusing the download: bad signature" in done.stdout
    assert _loaded() is False  # each run unloaded the module and loaded none


def test_d_refuses_tampered_then_builds_and_loads(tmp_path: Path, tampered: Path) -> None:
    """Tampered download refused, then the module is built (DKMS when installed, else make)
    against the headers and loaded."""
    dv, name = facts()
    with http_repo(tampered) as url:
        done = loader(home=tmp_path, SENTRY_DRIVERS_REPO=url)
    assert done.returncode == 0, done.stdout + done.stderr
    how = "DKMS" if shutil.which("dkms") else "make"
    in_order(
        done.stdout,
        *COMMON,
        "* Refusing the download: checksum mismatch",
        "kernel headers: ",
        f"* Trying to build the sentry module with {how}",
        "| ",  # the build's own lines, as progress
        f"* sentry module built with {how}: {tmp_path / '.sentry' / dv / ARCH / name}",
        "* Success: sentry module found and inserted",
    )
    module_ok()


def test_e_no_headers_no_download_advice(tmp_path: Path) -> None:
    root = tmp_path / "host"
    (root / "etc").mkdir(parents=True)
    shutil.copy("/etc/os-release", root / "etc" / "os-release")
    done = loader("--no-download", home=tmp_path / "home", HOST_ROOT=str(root))
    assert done.returncode == 1, done.stdout + done.stderr
    in_order(
        done.stdout,
        *COMMON,
        f"* Kernel headers for {KREL} not found in {root}/lib/modules",
        f"* To build the module, install on the host: apt-get install linux-headers-{KREL}",
        f"* Error: no sentry module for kernel {KREL} could be found, downloaded or built",
    )
    assert not _loaded()


def test_clean_unloads_and_empties_cache(tmp_path: Path) -> None:
    dv, name = facts()
    cache = tmp_path / ".sentry" / dv / ARCH
    cache.mkdir(parents=True)
    (cache / name).write_bytes(b"x")
    done = loader("--clean", home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    in_order(done.stdout, "* Unloading sentry module, if present", "* Removing cached modules")
    assert not (tmp_path / ".sentry").exists() and not _loaded()
