"""containerd and CRI-O metadata through the Kubernetes CRI API (gRPC on a unix socket).

For a container: ``ContainerStatus`` (verbose, for ``privileged``), the sandbox it runs in
from ``ListContainers``, the pod from ``PodSandboxStatus`` (name, namespace, uid, labels,
IP, host namespaces) and, when the status names the image only by id, its tags from
``ImageStatus``. New containers come from ``GetContainerEvents`` where the runtime has it
(containerd 1.7+, CRI-O 1.26+), else from listing every ``poll_interval`` seconds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import grpc

from sentry.inspect.containers import SHORT_ID_LEN, ContainerInfo, ContainerMount, PodInfo
from sentry.inspect.runtimes.base import RuntimeAPIError, split_image, strip_sha
from sentry.inspect.runtimes.criapi import api_pb2, api_pb2_grpc

# Generated modules: their attributes are made at import time, which mypy cannot see.
pb: Any = api_pb2
pb_grpc: Any = api_pb2_grpc

_PROPAGATION = {
    pb.PROPAGATION_PRIVATE: "private",
    pb.PROPAGATION_HOST_TO_CONTAINER: "rslave",
    pb.PROPAGATION_BIDIRECTIONAL: "rshared",
}
_TYPES = {"containerd": "containerd", "cri-o": "cri-o"}  # runtime_name -> container.type
_WATCHED = frozenset({pb.CONTAINER_CREATED_EVENT, pb.CONTAINER_STARTED_EVENT})
KUBELET_LABEL_PREFIX = "io.kubernetes."


class CriClient:
    """One CRI socket (containerd, CRI-O, k3s ...)."""

    name = "cri"

    def __init__(
        self,
        socket_path: str,
        *,
        timeout: float = 2.0,
        poll_interval: float = 1.0,
        use_events: bool = True,
    ):
        self.socket_path = socket_path
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.use_events = use_events
        self._channel = grpc.insecure_channel(f"unix://{socket_path}")
        self.runtime = pb_grpc.RuntimeServiceStub(self._channel)
        self.images = pb_grpc.ImageServiceStub(self._channel)
        self._type: str | None = None
        self._sandboxes: dict[str, PodInfo | None] = {}
        self._host_ns: dict[str, tuple[bool, bool, bool]] = {}
        self._image_tags: dict[str, str | None] = {}

    def _call(self, what: str, method: Callable[..., Any], request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as err:
            code = err.code() if hasattr(err, "code") else None
            kind = {
                grpc.StatusCode.DEADLINE_EXCEEDED: "timeout",
                grpc.StatusCode.UNAVAILABLE: "unavailable",
            }.get(code, "protocol")
            raise RuntimeAPIError(
                self.name, kind, f"{self.socket_path}: {what}: {code.name if code else err}"
            ) from err

    def container_type(self) -> str:
        """``containerd`` or ``cri-o`` (from the runtime's Version), else ``cri``."""
        if self._type is None:
            ver = self._call("Version", self.runtime.Version, pb.VersionRequest())
            self._type = _TYPES.get(ver.runtime_name, "cri")
        return self._type

    # -- RuntimeClient

    def list_ids(self) -> list[str]:
        resp = self._call(
            "ListContainers",
            self.runtime.ListContainers,
            pb.ListContainersRequest(
                filter=pb.ContainerFilter(state=pb.ContainerStateValue(state=pb.CONTAINER_RUNNING))
            ),
        )
        return [c.id for c in resp.containers]

    def inspect(self, full_id: str) -> ContainerInfo | None:
        try:
            resp = self._call(
                "ContainerStatus",
                self.runtime.ContainerStatus,
                pb.ContainerStatusRequest(container_id=full_id, verbose=True),
            )
        except RuntimeAPIError as err:
            cause = err.__cause__
            if isinstance(cause, grpc.RpcError) and cause.code() == grpc.StatusCode.NOT_FOUND:
                return None  # not this runtime's container
            raise
        return self._info(resp)

    def watch(self, stop: threading.Event, on_id: Callable[[str], None]) -> None:
        if self.use_events and self._follow_events(stop, on_id):
            return
        known: set[str] = set(self.list_ids())
        while not stop.wait(self.poll_interval):
            now = set(self.list_ids())
            for cid in now - known:
                on_id(cid)
            known = now

    def _follow_events(self, stop: threading.Event, on_id: Callable[[str], None]) -> bool:
        """Follow GetContainerEvents until ``stop``; False when the runtime lacks it."""
        stream = self.runtime.GetContainerEvents(pb.GetEventsRequest())
        cancel = threading.Thread(
            target=lambda: (stop.wait(), stream.cancel()), daemon=True, name="cri-events-cancel"
        )
        cancel.start()
        try:
            for ev in stream:
                if ev.container_event_type in _WATCHED:
                    on_id(ev.container_id)
        except grpc.RpcError as err:
            code = err.code()
            if code == grpc.StatusCode.UNIMPLEMENTED:
                return False
            if code == grpc.StatusCode.CANCELLED and stop.is_set():
                return True
            raise RuntimeAPIError(
                self.name, "unavailable", f"{self.socket_path}: GetContainerEvents: {code.name}"
            ) from err
        if stop.is_set():
            return True
        raise RuntimeAPIError(self.name, "unavailable", "container event stream ended")

    def close(self) -> None:
        self._channel.close()

    # -- mapping

    def _sandbox_of(self, full_id: str) -> str | None:
        resp = self._call(
            "ListContainers",
            self.runtime.ListContainers,
            pb.ListContainersRequest(filter=pb.ContainerFilter(id=full_id)),
        )
        for c in resp.containers:
            if c.id == full_id:
                return c.pod_sandbox_id
        return None

    def _pod(self, sandbox_id: str) -> tuple[PodInfo | None, tuple[bool, bool, bool]]:
        if sandbox_id not in self._sandboxes:
            resp = self._call(
                "PodSandboxStatus",
                self.runtime.PodSandboxStatus,
                pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id),
            )
            st = resp.status
            labels = {k: v for k, v in st.labels.items() if not k.startswith(KUBELET_LABEL_PREFIX)}
            md = st.metadata
            self._sandboxes[sandbox_id] = PodInfo(
                name=md.name or None,
                namespace=md.namespace or None,
                uid=md.uid or None,
                sandbox_id=st.id or sandbox_id,
                labels=labels,
                ip=st.network.ip or None,
            )
            opts = st.linux.namespaces.options
            self._host_ns[sandbox_id] = (
                opts.pid == pb.NODE,
                opts.network == pb.NODE,
                opts.ipc == pb.NODE,
            )
        return self._sandboxes[sandbox_id], self._host_ns.get(sandbox_id, (False,) * 3)

    def _tag_of(self, image_id: str) -> str | None:
        if image_id not in self._image_tags:
            resp = self._call(
                "ImageStatus",
                self.images.ImageStatus,
                pb.ImageStatusRequest(image=pb.ImageSpec(image=image_id)),
            )
            tags = list(resp.image.repo_tags) if resp.HasField("image") else []
            self._image_tags[image_id] = tags[0] if tags else None
        return self._image_tags[image_id]

    def _info(self, resp: Any) -> ContainerInfo:
        st = resp.status
        image = st.image.image or None
        image_ref = st.image_ref or ""
        image_id = st.image_id or (image_ref if image_ref.startswith("sha256:") else None)
        if image is not None and image.startswith("sha256:"):
            image = self._tag_of(image) or image  # named by id: show a tag, as Falco
        repo = tag = digest = None
        if image is not None and not image.startswith("sha256:"):
            repo, tag, digest = split_image(image)
        if "@sha256:" in image_ref:
            digest = image_ref.rsplit("@", 1)[1]
        privileged = None
        verbose = _verbose_info(resp.info.get("info"))
        cfg = verbose.get("config")
        linux = cfg.get("linux") if isinstance(cfg, dict) else None
        sc = linux.get("security_context") if isinstance(linux, dict) else None
        sc = sc if isinstance(sc, dict) else {}
        if isinstance(linux, dict):  # protobuf JSON leaves out false values
            privileged = bool(sc.get("privileged", False))
        elif "privileged" in verbose:
            privileged = bool(verbose["privileged"])
        sandbox_id = (
            verbose.get("sandboxID")
            if isinstance(verbose.get("sandboxID"), str)
            else self._sandbox_of(st.id)
        )
        pod, (host_pid, host_net, host_ipc) = (
            self._pod(sandbox_id) if sandbox_id else (None, (False, False, False))
        )
        mounts = [
            ContainerMount(
                m.host_path,
                m.container_path,
                "",
                not m.readonly,
                _PROPAGATION.get(m.propagation, ""),
            )
            for m in st.mounts
        ]
        return ContainerInfo(
            st.id[:SHORT_ID_LEN],
            type=self.container_type(),
            name=st.metadata.name or None,
            image=image,
            image_id=strip_sha(image_id),
            image_repository=repo,
            image_tag=tag,
            image_digest=digest,
            privileged=privileged,
            ip=pod.ip if pod is not None else None,
            mounts=mounts,
            labels=dict(st.labels),
            full_id=st.id,
            start_ts=st.started_at or st.created_at or None,
            host_pid=host_pid,
            host_network=host_net,
            host_ipc=host_ipc,
            pod=pod,
        )


def _verbose_info(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
