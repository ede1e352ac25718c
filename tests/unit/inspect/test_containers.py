"""Container identity from cgroup paths (every runtime's layout) and the container table.

The first texts are /proc/PID/cgroup lines read from processes inside real containers on
this project's machine (Debian 12, hybrid cgroups, cgroupfs drivers); the others are the
layouts the systemd cgroup driver, cgroup v2, CRI-O and rootless podman use. Captured
fixtures under fixtures/cgroups/ (with expected.json) are checked too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentry.inspect.containers import (
    HOST_ID,
    ContainerIdentity,
    ContainerInfo,
    ContainerTable,
    LookupState,
    container_id_from_cgroups,
    container_identity,
    from_scap_json,
    to_scap_json,
)

ID = "5c3f05c32f2eb79327af720d1dbeb514ab72f7eb2a6cac24cc32d865f586cbfa"
UID = "3504bd8a-73d2-4dd5-aa67-06c8f4040176"
FIXTURES = Path(__file__).parent / "fixtures" / "cgroups"

LAYOUTS = [
    # (cgroup entries, runtime, pod uid)
    ([f"4:memory:/docker/{ID}", f"0::/docker/{ID}"], "docker", None),
    ([f"0::/system.slice/docker-{ID}.scope"], "docker", None),
    ([f"3:cpuset:/libpod_parent/libpod-{ID}", f"0::/libpod_parent/libpod-{ID}"], "podman", None),
    ([f"0::/machine.slice/libpod-{ID}.scope/container"], "podman", None),
    (
        [f"0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"],
        "podman",
        None,
    ),
    ([f"9:pids:/kubepods/besteffort/pod{UID}/{ID}"], None, UID),
    ([f"0::/kubepods/pod{UID}/{ID}"], None, UID),
    (
        [
            f"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
            f"{UID.replace('-', '_')}.slice/cri-containerd-{ID}.scope"
        ],
        "containerd",
        UID,
    ),
    (
        [
            f"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
            f"{UID.replace('-', '_')}.slice/crio-{ID}.scope"
        ],
        "cri-o",
        UID,
    ),
    ([f"0::/default/{ID}"], "containerd", None),
    ([f"cpu=/k8s.io/{ID}"], "containerd", None),  # the drivers' controllers=path form
]


@pytest.mark.parametrize(("entries", "runtime", "pod_uid"), LAYOUTS)
def test_every_layout_names_its_container(
    entries: list[str], runtime: str | None, pod_uid: str | None
) -> None:
    ident = container_identity(entries)
    assert ident == ContainerIdentity(ID, runtime, pod_uid)
    assert ident.id == ID[:12]
    assert container_id_from_cgroups(entries) == ID[:12]


@pytest.mark.parametrize(
    "entries",
    [
        ["0::/user.slice/user-1000.slice/session-3.scope"],
        ["0::/system.slice/ssh.service", "4:memory:/"],
        [f"0::/system.slice/crio-conmon-{ID}.scope"],  # CRI-O's monitor, not the container
        ["0::/init.scope"],
        [],
    ],
)
def test_host_processes_are_host(entries: list[str]) -> None:
    assert container_identity(entries) is None
    assert container_id_from_cgroups(entries) == HOST_ID


def _fixture_cases() -> list[tuple[str, dict[str, str]]]:
    expected = FIXTURES / "expected.json"
    if not expected.is_file():
        return []
    return sorted(json.loads(expected.read_text()).items())


@pytest.mark.parametrize(("name", "want"), _fixture_cases())
def test_cgroup_texts_captured_from_real_runtimes(name: str, want: dict[str, str]) -> None:
    text = (FIXTURES / f"{name}.txt").read_text()
    ident = container_identity(text.splitlines())
    if want.get("full_id") in (None, "", HOST_ID):
        assert ident is None
        return
    assert ident is not None
    assert ident.full_id == want["full_id"]
    assert ident.pod_uid == want.get("pod_uid")
    # kubepods under cgroupfs does not say which runtime made the container: None then.
    assert ident.runtime in (want.get("runtime"), None)


def test_fixtures_cover_each_runtime_here() -> None:
    names = {name for name, _ in _fixture_cases()}
    assert {
        "docker-cgroupfs",
        "podman-root-cgroupfs",
        "containerd-cri-cgroupfs",
        "containerd-ctr-default",
    } <= names


def test_table_asks_once_and_tells_listeners() -> None:
    table = ContainerTable()
    asked: list[ContainerIdentity] = []
    heard: list[ContainerInfo] = []
    table.on_new = asked.append
    table.add_listener(heard.append)
    ident = ContainerIdentity(ID, "docker", None)
    table.seen(ident)
    table.seen(ident)
    assert asked == [ident]
    assert table.get(ID[:12]).state is LookupState.PENDING  # type: ignore[union-attr]
    table.update(ContainerInfo(ID[:12], type="docker", name="web", full_id=ID))
    assert heard[-1].name == "web" and heard[-1].state is LookupState.DONE


def test_pod_uid_from_cgroups_survives_the_runtime_answer() -> None:
    table = ContainerTable()
    table.seen(ContainerIdentity(ID, None, UID))
    assert table.get(ID[:12]).state is LookupState.UNKNOWN  # type: ignore[union-attr]
    table.update(ContainerInfo(ID[:12], type="containerd", name="busybox"))
    assert table.get(ID[:12]).pod.uid == UID  # type: ignore[union-attr]


def test_failed_lookup_ends_the_wait() -> None:
    table = ContainerTable()
    table.on_new = lambda ident: None
    table.seen(ContainerIdentity(ID, "docker", None))
    table.mark_failed(ID[:12])
    assert table.get(ID[:12]).state is LookupState.FAILED  # type: ignore[union-attr]


def test_scap_json_round_trip() -> None:
    from sentry.inspect.containers import ContainerMount, PodInfo

    info = ContainerInfo(
        ID[:12],
        type="containerd",
        name="busybox",
        image="docker.io/library/busybox:latest",
        image_id="433fe40c",
        image_repository="docker.io/library/busybox",
        image_tag="latest",
        image_digest="sha256:" + "d" * 64,
        privileged=True,
        ip="10.1.2.3",
        mounts=[ContainerMount("/h", "/c", "ro", False, "rslave")],
        labels={"team": "a"},
        full_id=ID,
        start_ts=1_796_163_166_102_069_945,
        host_pid=False,
        host_network=True,
        host_ipc=False,
        pod=PodInfo("busybox-dep-x", "default", UID, "f" * 64, {"app": "b"}, "10.1.2.3"),
    )
    doc = json.loads(to_scap_json(info))["container"]
    assert doc["type"] == 7 and doc["imagerepo"] == "docker.io/library/busybox"
    assert from_scap_json(to_scap_json(info)) == info


def test_scap_json_of_sysdig_is_read() -> None:
    text = json.dumps(
        {
            "container": {
                "id": ID[:12],
                "type": 0,
                "name": "web",
                "image": "nginx",
                "imagerepo": "nginx",
                "imagetag": "1",
                "Labels": {"io.kubernetes.pod.name": "p"},
                "ip": "0.0.0.0",
                "Mounts": [],
            }
        }
    )
    info = from_scap_json(text)
    assert info is not None
    assert (info.type, info.name, info.ip, info.labels) == (
        "docker",
        "web",
        None,
        {"io.kubernetes.pod.name": "p"},
    )
    assert from_scap_json("not json") is None
    assert from_scap_json('{"container": []}') is None
