"""The chart's pod runs on this host: the DaemonSet's pod template from `helm template`,
as a Pod (podman 4.3's kube play takes no DaemonSet), run with `podman kube play`: the
loader init container checks the eBPF probe (this kernel cannot load modules), then the
agent captures with the probe, and a busybox container's `vi /hoge.sh` raises the seed
alert "File below / or /root opened for writing" on the agent's stdout."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_tools import helm_template

POD = "kubeplay-sentry"  # the chart's full name for release "kubeplay"
BUSYBOX = "docker.io/library/busybox:latest"  # scripts/runtimes.sh builds it (vi: a copy)
RULE = "File Written Below Root Or Root Home"


def pod_from_daemonset(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The DaemonSet's pod template as a Pod, with what podman needs to run it as a node
    would: the node name (podman's downward API has no spec.nodeName), init containers
    kept after they ran, so that their log can be read, run once, and no annotation podman
    refuses."""
    (ds,) = [d for d in docs if d["kind"] == "DaemonSet"]
    template = ds["spec"]["template"]
    meta = dict(template["metadata"])
    # podman 4.3 holds annotation values to the 63 characters of a label value: the
    # checksum/* annotations (sha256, which roll the DaemonSet on a config change) go.
    kept = {k: v for k, v in meta.get("annotations", {}).items() if not k.startswith("checksum/")}
    meta["annotations"] = {**kept, "io.podman.annotations.init.container.type": "always"}
    spec = dict(template["spec"])
    node = os.uname().nodename
    for c in spec.get("initContainers", []) + spec["containers"]:
        for e in c.get("env", []):
            if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName":
                e.pop("valueFrom")
                e["value"] = node
    spec.pop("serviceAccountName", None)
    # podman applies the pod's restart policy to init containers too: with Always, the
    # loader would be started again each time it exits 0.
    spec["restartPolicy"] = "Never"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def podman(
    env: dict[str, str], *args: str, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check:
        assert res.returncode == 0, f"podman {' '.join(args)}: {res.stderr}"
    return res


def clear_pod(env: dict[str, str], *containers: str) -> None:
    """No pod by POD's name, nor its containers, in podman's database or only in its
    storage (`rm --storage`: what `podman ps -a` does not list but still holds the name)."""
    podman(env, "pod", "rm", "-f", "--ignore", POD, check=False)
    for name in containers:
        podman(env, "rm", "-f", "--ignore", name, check=False)
        podman(env, "rm", "--storage", name, check=False)
    # the ConfigMap's volume (named after it) outlives the pod; one kept from an earlier
    # boot can hold a lock number a new container is given, and kube play then deadlocks
    podman(env, "volume", "rm", "-f", POD, check=False)


def logs(env: dict[str, str], container: str) -> str:
    res = podman(env, "logs", container, check=False)
    return res.stdout + res.stderr


def wait_for(env: dict[str, str], container: str, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = logs(env, container)
        if text in out:
            return out
        state = podman(env, "inspect", "-f", "{{.State.Status}}", container, check=False)
        if state.stdout.strip() in ("exited", "stopped"):
            break
        time.sleep(1)
    pytest.fail(f"{container}: no {text!r} in {timeout:.0f} s; log:\n{out[-4000:]}")


def alerts(out: str) -> list[dict[str, Any]]:
    found = []
    for line in out.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
    return found


def test_chart_pod_loader_then_agent_alerts_on_vi_in_a_container(
    images: dict[str, str], helm: str, tmp_path: Path
) -> None:
    env = images
    if podman(env, "image", "exists", BUSYBOX, check=False).returncode != 0:
        why = f"{BUSYBOX} missing: scripts/runtimes.sh start builds it"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    if not Path("/sys/kernel/btf/vmlinux").exists():
        pytest.fail("this host's kernel has no BTF: the eBPF probe cannot run")
    # Only the engines whose sockets exist here: a node's kubelet mounts a missing
    # hostPath socket as an empty directory, podman refuses it.
    engines = {
        "docker": ["/var/run/docker.sock"],
        "podman": ["/run/podman/podman.sock"],
        "cri": [
            "/run/containerd/containerd.sock",
            "/run/crio/crio.sock",
            "/run/k3s/containerd/containerd.sock",
        ],
    }
    sets = [
        "--set",
        "driver.kind=ebpf",
        "--set",
        "sentry.json_output=true",
        # two cores shared by many: the probe's first load is slow
        "--set",
        "resources.limits.cpu=2000m",
    ]
    for name, socks in engines.items():
        present = [s for s in socks if Path(s).exists()]
        sets += ["--set", f"collectors.containerEngine.engines.{name}.enabled={bool(present)}"]
        sets += [
            "--set-json",
            f"collectors.containerEngine.engines.{name}.sockets="
            + json.dumps(present or socks[:1]),
        ]
    docs = [d for d in yaml.safe_load_all(helm_template(helm, *sets, name="kubeplay")) if d]
    play = tmp_path / "pod.yaml"
    play.write_text(
        yaml.safe_dump_all(
            [d for d in docs if d["kind"] == "ConfigMap"] + [pod_from_daemonset(docs)]
        )
    )
    agent, loader = f"{POD}-sentry", f"{POD}-sentry-driver-loader"
    clear_pod(env, agent, loader)
    try:
        play_res = podman(env, "kube", "play", str(play), timeout=600, check=False)
        assert play_res.returncode == 0, f"{play_res.stderr}loader log:\n{logs(env, loader)}"
        # the loader runs to success before the agent starts, saying what it checked
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            state = podman(
                env, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", loader, check=False
            ).stdout.split()
            if state and state[0] in ("exited", "stopped"):
                break
            time.sleep(1)
        init = logs(env, loader)
        assert state[:2] == ["exited", "0"], f"loader {state}:\n{init}"
        assert "Checking the eBPF probe" in init and "BTF present" in init, init
        assert "Success" in init, init
        out = wait_for(env, agent, "capturing live with the eBPF probe", timeout=240)
        # what the agent said at start, as Falco does
        assert "/etc/sentry/config/sentry.yaml" in out, out[-3000:]

        name = f"sentry-kubeplay-vi-{os.getpid()}"
        run = podman(
            env,
            "run",
            "--rm",
            "--name",
            name,
            "--cidfile",
            str(tmp_path / "cid"),
            BUSYBOX,
            "vi",
            "-c",
            "wq",
            "/hoge.sh",
            check=False,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        cid = (tmp_path / "cid").read_text().strip()

        deadline = time.monotonic() + 60
        hits: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not hits:
            hits = [
                a
                for a in alerts(logs(env, agent))
                if a.get("rule") == RULE and a.get("output_fields", {}).get("fd.name") == "/hoge.sh"
            ]
            time.sleep(1)
        assert hits, f"no '{RULE}' alert for /hoge.sh; agent log:\n{logs(env, agent)[-4000:]}"
        alert = hits[0]
        assert "File below / or /root opened for writing (" in alert["output"], alert["output"]
        fields = alert["output_fields"]
        assert fields["proc.name"] == "vi" and fields["proc.cmdline"] == "vi -c wq /hoge.sh"
        assert fields["container.id"] not in ("host", "", None)
        assert cid.startswith(fields["container.id"]), (cid, fields["container.id"])
        image = fields.get("container.image.repository")
        if image not in (None, "", "<NA>"):
            assert image == BUSYBOX.rsplit(":", 1)[0], image
    finally:
        clear_pod(env, agent, loader)
