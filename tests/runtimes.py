"""Test helpers (not tests) for the real container runtimes that scripts/runtimes.sh starts:
containerd through CRI (gRPC on its unix socket, with the labels kubelet sets), dockerd and
podman through their CLIs. Each ``require_*`` skips (saying why) where the runtime is not up,
and fails under CI (env CI=true), where `.ci/run` installs and starts them all.

Images are built locally by scripts/runtimes.sh (no registry is reachable):
``docker.io/library/busybox:latest`` in every runtime (vi is a copy of busybox) and the CRI
sandbox image ``registry.k8s.io/pause:3.6``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CONTAINERD_SOCK = "/run/containerd/containerd.sock"
DOCKER_SOCK = "/run/docker.sock"
PODMAN_SOCK = "/run/podman/podman.sock"
BUSYBOX_IMAGE = "docker.io/library/busybox:latest"
PAUSE_IMAGE = "registry.k8s.io/pause:3.6"
# Debian's CLI (docker.io); another docker may come first on PATH.
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
PODMAN = "podman"
# Inside a busybox container: vi opens /hoge.sh for writing (Falco's "write below root" seed).
VI_WRITE_ROOT = ["sh", "-c", "vi -c wq /hoge.sh </dev/null >/dev/null"]
RUNTIMES_SH = Path(__file__).resolve().parent.parent / "scripts" / "runtimes.sh"


def unavailable(why: str) -> None:
    """Skip the test saying why, or fail it under CI, where every runtime must be up."""
    msg = f"{why} (start them with `{RUNTIMES_SH} start`)"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def _run(argv: Sequence[str], timeout: float = 60, check: bool = True) -> str:
    try:
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise RuntimeError(f"{argv[0]}: not installed") from exc
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def _cli_up(cli: str, sock: str, image: str = BUSYBOX_IMAGE) -> str | None:
    """Why ``cli`` cannot run containers here, or None when it can."""
    if os.geteuid() != 0:
        return "container runtimes need root"
    if shutil.which(cli) is None:
        return f"{cli} is not installed"
    if not Path(sock).exists():
        return f"{cli}: no daemon socket at {sock}"
    proc = subprocess.run(
        [cli, "image", "inspect", image], capture_output=True, text=True, timeout=30, check=False
    )
    if proc.returncode != 0:
        return f"{cli}: image {image} missing: {proc.stderr.strip()}"
    return None


def require_docker() -> None:
    """dockerd answers on /run/docker.sock and has the busybox image, else skip / fail."""
    why = _cli_up(DOCKER, DOCKER_SOCK)
    if why:
        unavailable(why)


def require_podman() -> None:
    """podman runs (as root) and its API service answers on /run/podman/podman.sock."""
    why = _cli_up(PODMAN, PODMAN_SOCK)
    if why:
        unavailable(why)


# --- docker and podman through their CLIs ------------------------------------------------


@dataclass(slots=True)
class CliContainer:
    """A container run with docker or podman; ``id`` is the full 64-hex id."""

    cli: str
    id: str
    name: str

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def exec(self, command: Sequence[str], timeout: float = 60) -> str:
        """Run ``command`` inside the container (as `docker exec`), return its stdout."""
        return _run([self.cli, "exec", self.id, *command], timeout=timeout)

    def pid(self) -> int:
        """The host pid of the container's first process."""
        return int(_run([self.cli, "inspect", "-f", "{{.State.Pid}}", self.id]).strip())

    def remove(self) -> None:
        # podman waits 10 s for a stop unless told not to; docker rm -f kills at once.
        quick = ["-t", "0"] if self.cli == PODMAN else []
        _run([self.cli, "rm", "-f", *quick, self.id], check=False)


def _cli_run(
    cli: str,
    name: str,
    labels: Mapping[str, str] | None,
    command: Sequence[str],
    image: str,
    extra: Sequence[str] = (),
) -> CliContainer:
    argv = [cli, "run", "-d", "--name", name, "--network", "none", *extra]
    for key, value in (labels or {}).items():
        argv += ["--label", f"{key}={value}"]
    cid = _run([*argv, image, *command]).strip().splitlines()[-1]
    if len(cid) != 64:
        raise RuntimeError(f"{cli} run gave no container id: {cid!r}")
    return CliContainer(cli=cli, id=cid, name=name)


def docker_run(
    name: str,
    labels: Mapping[str, str] | None = None,
    command: Sequence[str] = ("sleep", "3600"),
    image: str = BUSYBOX_IMAGE,
    extra: Sequence[str] = (),
) -> CliContainer:
    """`docker run -d --name NAME --label K=V ... IMAGE COMMAND`; remove it with .remove()."""
    _run([DOCKER, "rm", "-f", name], check=False)
    return _cli_run(DOCKER, name, labels, command, image, extra)


def podman_run(
    name: str,
    labels: Mapping[str, str] | None = None,
    command: Sequence[str] = ("sleep", "3600"),
    image: str = BUSYBOX_IMAGE,
    extra: Sequence[str] = (),
) -> CliContainer:
    """`podman run -d --name NAME --label K=V ... IMAGE COMMAND` (root, cgroupfs, runc)."""
    _run([PODMAN, "rm", "-f", name], check=False)
    return _cli_run(PODMAN, name, labels, command, image, extra)


@contextmanager
def docker_container(name: str, **kwargs: Any) -> Iterator[CliContainer]:
    """docker_run(...) for the ``with`` block, removed after it."""
    ctr = docker_run(name, **kwargs)
    try:
        yield ctr
    finally:
        ctr.remove()


@contextmanager
def podman_container(name: str, **kwargs: Any) -> Iterator[CliContainer]:
    """podman_run(...) for the ``with`` block, removed after it."""
    ctr = podman_run(name, **kwargs)
    try:
        yield ctr
    finally:
        ctr.remove()


# --- containerd through CRI --------------------------------------------------------------


def _cri() -> tuple[Any, Any]:
    from sentry.inspect.runtimes.criapi import api_pb2, api_pb2_grpc

    return api_pb2, api_pb2_grpc


class CriClient:
    """A CRI client on containerd's socket: RuntimeService and ImageService stubs."""

    def __init__(self, sock: str = CONTAINERD_SOCK, timeout: float = 30) -> None:
        import grpc

        pb, pb_grpc = _cri()
        self.pb = pb
        self.timeout = timeout
        self.channel = grpc.insecure_channel(f"unix://{sock}")
        self.runtime = pb_grpc.RuntimeServiceStub(self.channel)
        self.images = pb_grpc.ImageServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def version(self) -> Any:
        return self.runtime.Version(self.pb.VersionRequest(), timeout=self.timeout)

    def has_image(self, image: str) -> bool:
        req = self.pb.ImageStatusRequest(image=self.pb.ImageSpec(image=image))
        return bool(self.images.ImageStatus(req, timeout=self.timeout).image.id)


def require_containerd() -> None:
    """containerd's CRI answers on its socket and has the busybox and pause images."""
    if os.geteuid() != 0:
        unavailable("container runtimes need root")
    if not Path(CONTAINERD_SOCK).exists():
        unavailable(f"containerd: no socket at {CONTAINERD_SOCK}")
    try:
        client = CriClient(timeout=10)
    except ImportError as exc:
        unavailable(f"CRI client unavailable: {exc}")
        return
    try:
        client.version()
        for image in (BUSYBOX_IMAGE, PAUSE_IMAGE):
            if not client.has_image(image):
                unavailable(f"containerd (CRI): image {image} missing")
    except Exception as exc:  # grpc.RpcError and its kin: the runtime does not answer
        if isinstance(exc, (pytest.skip.Exception, pytest.fail.Exception)):
            raise
        unavailable(f"containerd CRI on {CONTAINERD_SOCK} does not answer: {exc}")
    finally:
        client.close()


@dataclass(slots=True)
class CriPod:
    """A pod sandbox and its one container, run through CRI as kubelet runs them."""

    sandbox_id: str
    container_id: str
    name: str
    namespace: str
    uid: str
    container_name: str
    cgroup_parent: str
    client: CriClient = field(repr=False)

    def exec(self, command: Sequence[str], timeout: int = 60) -> str:
        """Run ``command`` in the container (CRI ExecSync); its stdout, or RuntimeError."""
        pb = self.client.pb
        req = pb.ExecSyncRequest(container_id=self.container_id, cmd=list(command), timeout=timeout)
        resp = self.client.runtime.ExecSync(req, timeout=timeout + 10)
        if resp.exit_code != 0:
            raise RuntimeError(f"exec {list(command)}: exit {resp.exit_code}: {resp.stderr!r}")
        return bytes(resp.stdout).decode(errors="replace")

    def pid(self) -> int:
        """The host pid of the container's first process (from containerd's task)."""
        out = _run(["ctr", "-n", "k8s.io", "task", "ls"])
        for line in out.splitlines():
            parts = line.split()
            if parts and parts[0] == self.container_id:
                return int(parts[1])
        raise RuntimeError(f"no containerd task for {self.container_id}")

    def remove(self) -> None:
        cri_remove_pod(self.sandbox_id, self.client)


def kubelet_cgroup_parent(uid: str, qos: str = "besteffort", systemd: bool = False) -> str:
    """Where kubelet puts a pod: /kubepods/<qos>/pod<uid> (cgroupfs driver) or
    kubepods-<qos>-pod<uid_with_underscores>.slice (systemd driver)."""
    if systemd:
        return f"kubepods-{qos}-pod{uid.replace('-', '_')}.slice"
    return f"/kubepods/{qos}/pod{uid}"


def cri_run_pod(
    name: str,
    namespace: str,
    uid: str,
    command: Sequence[str],
    labels: Mapping[str, str] | None = None,
    *,
    container_name: str = "busybox",
    image: str = BUSYBOX_IMAGE,
    cgroup_parent: str | None = None,
    client: CriClient | None = None,
) -> tuple[str, str]:
    """RunPodSandbox + CreateContainer + StartContainer with the metadata and labels kubelet
    sets; returns (pod_sandbox_id, container_id). The pod uses the host's network namespace
    (no CNI here). ``labels`` are the pod's own (app=...), set on the sandbox as kubelet does.
    Clean up with cri_remove_pod(pod_sandbox_id)."""
    pod = cri_pod_start(
        name, namespace, uid, command, labels,
        container_name=container_name, image=image, cgroup_parent=cgroup_parent, client=client,
    )  # fmt: skip
    return pod.sandbox_id, pod.container_id


def cri_pod_start(
    name: str,
    namespace: str,
    uid: str,
    command: Sequence[str],
    labels: Mapping[str, str] | None = None,
    *,
    container_name: str = "busybox",
    image: str = BUSYBOX_IMAGE,
    cgroup_parent: str | None = None,
    client: CriClient | None = None,
) -> CriPod:
    """cri_run_pod(...) returning a CriPod (ids, exec, pid, remove)."""
    client = client or CriClient()
    pb = client.pb
    parent = cgroup_parent if cgroup_parent is not None else kubelet_cgroup_parent(uid)
    pod_labels = {
        **(labels or {}),
        "io.kubernetes.pod.name": name,
        "io.kubernetes.pod.namespace": namespace,
        "io.kubernetes.pod.uid": uid,
    }
    host_ns = pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD)
    sandbox_config = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace=namespace, attempt=0),
        # No hostname: a host-network pod shares the host's UTS namespace (runc refuses one).
        labels=pod_labels,
        annotations={"kubernetes.io/config.source": "api"},
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=parent,
            security_context=pb.LinuxSandboxSecurityContext(namespace_options=host_ns),
        ),
    )
    sandbox_id = client.runtime.RunPodSandbox(
        pb.RunPodSandboxRequest(config=sandbox_config), timeout=client.timeout
    ).pod_sandbox_id
    try:
        container_labels = {
            "io.kubernetes.pod.name": name,
            "io.kubernetes.pod.namespace": namespace,
            "io.kubernetes.pod.uid": uid,
            "io.kubernetes.container.name": container_name,
        }
        config = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=container_name, attempt=0),
            image=pb.ImageSpec(image=image),
            command=list(command),
            labels=container_labels,
            annotations={"io.kubernetes.container.restartCount": "0"},
            linux=pb.LinuxContainerConfig(
                security_context=pb.LinuxContainerSecurityContext(namespace_options=host_ns)
            ),
        )
        container_id = client.runtime.CreateContainer(
            pb.CreateContainerRequest(
                pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox_config
            ),
            timeout=client.timeout,
        ).container_id
        client.runtime.StartContainer(
            pb.StartContainerRequest(container_id=container_id), timeout=client.timeout
        )
    except BaseException:
        cri_remove_pod(sandbox_id, client)
        raise
    return CriPod(
        sandbox_id=sandbox_id,
        container_id=container_id,
        name=name,
        namespace=namespace,
        uid=uid,
        container_name=container_name,
        cgroup_parent=parent,
        client=client,
    )


def cri_remove_pod(sandbox_id: str, client: CriClient | None = None) -> None:
    """StopPodSandbox (stops its containers) then RemovePodSandbox (removes them)."""
    client = client or CriClient()
    pb = client.pb
    client.runtime.StopPodSandbox(
        pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=client.timeout
    )
    client.runtime.RemovePodSandbox(
        pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=client.timeout
    )


@contextmanager
def cri_pod(
    name: str,
    namespace: str = "default",
    uid: str | None = None,
    command: Sequence[str] = ("sleep", "3600"),
    labels: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Iterator[CriPod]:
    """A CRI pod for the ``with`` block (a fresh uid unless given), removed after it."""
    pod = cri_pod_start(name, namespace, uid or str(uuid.uuid4()), command, labels, **kwargs)
    try:
        yield pod
    finally:
        pod.remove()


def kube_pod_name(deployment: str = "busybox-dep") -> str:
    """A pod name as a Deployment's ReplicaSet makes them: busybox-dep-7bd789f5c-hz4jz."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    tail = uuid.uuid4().int
    rs = "".join(alphabet[(tail >> (5 * i)) % len(alphabet)] for i in range(9))
    pod = "".join(alphabet[(tail >> (5 * i + 60)) % len(alphabet)] for i in range(5))
    return f"{deployment}-{rs}-{pod}"


# --- ctr run (plain containerd, no CRI) --------------------------------------------------


@dataclass(slots=True)
class CtrContainer:
    """A container run with `ctr run` in a containerd namespace (cgroup /<ns>/<id>)."""

    namespace: str
    id: str

    def exec(self, command: Sequence[str], timeout: float = 60) -> str:
        exec_id = f"exec-{uuid.uuid4().hex[:8]}"
        return _run(
            ["ctr", "-n", self.namespace, "task", "exec", "--exec-id", exec_id, self.id,
             *command],
            timeout=timeout,
        )  # fmt: skip

    def pid(self) -> int:
        for line in _run(["ctr", "-n", self.namespace, "task", "ls"]).splitlines():
            parts = line.split()
            if parts and parts[0] == self.id:
                return int(parts[1])
        raise RuntimeError(f"no containerd task {self.namespace}/{self.id}")

    def remove(self) -> None:
        _run(["ctr", "-n", self.namespace, "task", "kill", "-s", "SIGKILL", self.id], check=False)
        for _ in range(50):
            out = _run(["ctr", "-n", self.namespace, "task", "ls"], check=False)
            if not any(line.split()[:1] == [self.id] for line in out.splitlines()):
                break
            subprocess.run(["sleep", "0.1"], check=False)
        _run(["ctr", "-n", self.namespace, "task", "rm", "-f", self.id], check=False)
        _run(["ctr", "-n", self.namespace, "container", "rm", self.id], check=False)


def ctr_run(
    cid: str, command: Sequence[str] = ("sleep", "3600"), namespace: str = "default"
) -> CtrContainer:
    """`ctr -n NAMESPACE run -d busybox CID COMMAND` (scripts/runtimes.sh imported busybox
    into namespace default; another namespace needs its own import)."""
    _run(["ctr", "-n", namespace, "run", "-d", BUSYBOX_IMAGE, cid, *command])
    return CtrContainer(namespace=namespace, id=cid)


# --- what the kernel says ----------------------------------------------------------------


def proc_cgroup(pid: int) -> str:
    """The text of /proc/PID/cgroup."""
    return Path(f"/proc/{pid}/cgroup").read_text()


def pids_in(cgroup_procs: Path) -> list[int]:
    return [int(p) for p in cgroup_procs.read_text().split()]
