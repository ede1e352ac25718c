"""Helpers for the deployment tests: the chart's path, helm template, the tools each test
needs (a tool missing skips, and fails under CI, where scripts/install.sh installs it) and
build-images.sh's podman environment."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "sentry"
BUILD_IMAGES = REPO / "deploy" / "docker" / "build-images.sh"


def need(tool: str) -> str:
    """The path of ``tool``; skips (fails under CI) where it is not installed."""
    path = shutil.which(tool)
    if path is None:
        why = f"{tool} not installed (scripts/install.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return path


def need_root() -> None:
    if os.geteuid() != 0:
        why = "building and running images needs root"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="session")
def helm() -> str:
    return need("helm")


def helm_template(helm: str, *args: str, name: str = "sentry") -> str:
    """``helm template`` of the chart as release ``name``; its output (the manifests)."""
    res = subprocess.run(
        [helm, "template", name, str(CHART), "--namespace", "sentry", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.fixture(scope="session")
def podman_env() -> dict[str, str]:
    """The environment that points podman/buildah at build-images.sh's configuration."""
    need_root()
    for tool in ("podman", "buildah", "debootstrap", "runc"):
        need(tool)
    out = subprocess.run(
        [str(BUILD_IMAGES), "env"], capture_output=True, text=True, check=True
    ).stdout
    env = dict(os.environ)
    env.update(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return env


@pytest.fixture(scope="session")
def images(podman_env: dict[str, str]) -> dict[str, str]:
    """Both images, built (base, context, images) once per session."""
    res = subprocess.run(
        [str(BUILD_IMAGES), "build"],
        env=podman_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert res.returncode == 0, res.stderr[-4000:]
    return podman_env
