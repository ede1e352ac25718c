"""The images build with buildah from a locally made Debian base and run: `sentry --version`
in each, the agent's default user is not root, labels are set, the rules load."""

from __future__ import annotations

import json
import subprocess

from deploy_tools import REPO

VERSION = (REPO / "driver" / "VERSION").read_text().strip()


def podman(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, check=False, timeout=300
    )


def test_sentry_version_in_both_images(images: dict[str, str]) -> None:
    for image in ("sentry", "sentry-driver-loader"):
        res = podman(
            images,
            "run",
            "--rm",
            "--entrypoint",
            "sentry",
            f"localhost/{image}:{VERSION}",
            "--version",
        )
        assert res.returncode == 0, f"{image}: {res.stderr}"
        assert VERSION in res.stdout, f"{image}: {res.stdout}"


def test_agent_image_runs_unprivileged_by_default(images: dict[str, str]) -> None:
    res = podman(images, "run", "--rm", "--entrypoint", "id", f"localhost/sentry:{VERSION}")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("uid=10001(sentry)")


def test_agent_image_validates_its_default_rules(images: dict[str, str]) -> None:
    res = podman(
        images,
        "run",
        "--rm",
        f"localhost/sentry:{VERSION}",
        "rules",
        "validate",
        "/etc/sentry/sentry_rules.yaml",
        "/etc/sentry/k8s_audit_rules.yaml",
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert ": Ok (" in res.stdout and "; 0 warnings)" in res.stdout, res.stdout


def test_oci_labels(images: dict[str, str]) -> None:
    for image in ("sentry", "sentry-driver-loader"):
        res = podman(images, "image", "inspect", f"localhost/{image}:{VERSION}")
        assert res.returncode == 0, res.stderr
        labels = json.loads(res.stdout)[0]["Config"]["Labels"]
        assert labels["org.opencontainers.image.title"] == image
        assert labels["org.opencontainers.image.version"] == VERSION
        assert labels["org.opencontainers.image.base.name"] == "localhost/debian:bookworm-slim"
