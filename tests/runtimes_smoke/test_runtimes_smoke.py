"""Smoke test of the runtimes scripts/runtimes.sh starts: each runs busybox, and the
container's process sits in a cgroup of its own, named by its id, not the host's."""

from __future__ import annotations

import uuid

import runtimes as rt


def host_cgroups() -> set[str]:
    return {line.split(":", 2)[2] for line in rt.proc_cgroup(1).splitlines()}


def assert_in_container_cgroup(pid: int, full_id: str) -> None:
    text = rt.proc_cgroup(pid)
    paths = [line.split(":", 2)[2] for line in text.splitlines()]
    assert paths, text
    for path in paths:
        assert full_id in path, text
        assert path not in host_cgroups(), text


def test_docker_runs_busybox() -> None:
    rt.require_docker()
    with rt.docker_container(f"smoke-{uuid.uuid4().hex[:6]}", labels={"team": "a"}) as c:
        assert len(c.id) == 64
        assert_in_container_cgroup(c.pid(), c.id)
        assert "/docker/" in rt.proc_cgroup(c.pid())
        assert c.exec(["cat", "/etc/hostname"]).strip() == c.short_id


def test_podman_runs_busybox() -> None:
    rt.require_podman()
    with rt.podman_container(f"smoke-{uuid.uuid4().hex[:6]}", labels={"team": "a"}) as c:
        assert len(c.id) == 64
        assert_in_container_cgroup(c.pid(), c.id)
        assert f"libpod-{c.id}" in rt.proc_cgroup(c.pid())


def test_containerd_cri_runs_a_pod() -> None:
    rt.require_containerd()
    uid = str(uuid.uuid4())
    with rt.cri_pod(rt.kube_pod_name(), "default", uid, labels={"app": "busybox"}) as pod:
        assert_in_container_cgroup(pod.pid(), pod.container_id)
        assert f"/kubepods/besteffort/pod{uid}/{pod.container_id}" in rt.proc_cgroup(pod.pid())
        pod.exec(rt.VI_WRITE_ROOT)
        assert pod.exec(["ls", "/hoge.sh"]).strip() == "/hoge.sh"


def test_ctr_run_in_a_namespace() -> None:
    rt.require_containerd()
    c = rt.ctr_run(uuid.uuid4().hex + uuid.uuid4().hex)
    try:
        assert_in_container_cgroup(c.pid(), c.id)
        assert f"/default/{c.id}" in rt.proc_cgroup(c.pid())
    finally:
        c.remove()
