"""Container identity: the container id from a process's cgroups, and metadata by id.

The id is found synchronously from the cgroup paths the kernel reports, for every layout the
runtimes use (cgroup v1 and v2, cgroupfs and systemd drivers): Docker (``/docker/<id>``,
``docker-<id>.scope``), Kubernetes pods (``/kubepods/<qos>/pod<uid>/<id>``,
``kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope``, ``crio-<id>.scope``), podman
(``libpod-<id>.scope``, also rootless under ``user.slice``, ``/libpod_parent/libpod-<id>``)
and containerd's ``/<namespace>/<id>``. ``"host"`` when none matches, as in sysdig.

Metadata (name, image, pod ...) comes from the container runtimes, slowly and in the
background: the inspector tells the :class:`ContainerTable` when it first sees an id
(:meth:`ContainerTable.seen`), resolvers answer with :meth:`ContainerTable.update` from their
own threads, and fields read whatever is known when the event is read (``<NA>`` until then).
"""

from __future__ import annotations

import enum
import functools
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

HOST_ID = "host"
SHORT_ID_LEN = 12  # the id as Falco prints it

_HEX64 = re.compile(r"[0-9a-f]{64}")
# A path component naming a container: the runtime's decoration, the id, a systemd suffix.
_SCOPED = re.compile(r"(docker|cri-containerd|crio|libpod|containerd)-([0-9a-f]{64})(?:\.scope)?")
_POD_UID = re.compile(
    r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})"
)
_HINTS = {
    "docker": "docker",
    "cri-containerd": "containerd",
    "crio": "cri-o",
    "libpod": "podman",
    "containerd": "containerd",
}


@dataclass(frozen=True, slots=True)
class ContainerIdentity:
    """What the cgroup path alone says: the full id, which runtime made it (when the layout
    tells), and the Kubernetes pod uid for containers under ``kubepods``."""

    full_id: str
    runtime: str | None = None  # docker, containerd, cri-o, podman; None: not told
    pod_uid: str | None = None

    @property
    def id(self) -> str:
        return self.full_id[:SHORT_ID_LEN]


def _cgroup_path(entry: str) -> str:
    """``controllers=path`` (the drivers' form) or ``N:controllers:path`` (/proc) -> path."""
    if "=" in entry:
        return entry.partition("=")[2]
    if entry.count(":") >= 2:
        return entry.split(":", 2)[2]
    return entry


@functools.lru_cache(maxsize=4096)
def identity_from_path(path: str) -> ContainerIdentity | None:
    """The container a cgroup path belongs to, or None (host)."""
    if "/" not in path:
        return None
    parts = [p for p in path.split("/") if p]
    pod_uid = None
    in_pods = False
    for part in parts:
        if part.startswith("kubepods"):
            in_pods = True
        m = _POD_UID.search(part)
        if in_pods and m is not None:
            pod_uid = m.group(1).replace("_", "-")
    # The innermost component naming a container wins (podman's ".../libpod-<id>.scope/
    # container" keeps the id one level up).
    for i in range(len(parts) - 1, -1, -1):
        part = parts[i]
        m = _SCOPED.fullmatch(part)
        if m is not None:
            return ContainerIdentity(m.group(2), _HINTS[m.group(1)], pod_uid)
        if _HEX64.fullmatch(part):
            runtime = None  # e.g. kubepods with cgroupfs: docker, containerd or cri-o
            if in_pods:
                pass
            elif i == 1 and parts[0] == "docker":
                runtime = "docker"
            elif i == 1 and parts[0] == "libpod_parent":
                runtime = "podman"
            elif i == 1:
                runtime = "containerd"  # containerd's /<namespace>/<id>
            return ContainerIdentity(part, runtime, pod_uid)
    return None


def container_identity(cgroups: Iterable[str]) -> ContainerIdentity | None:
    """The container named by any of a process's cgroup entries, or None (host)."""
    for entry in cgroups:
        ident = identity_from_path(_cgroup_path(entry))
        if ident is not None:
            return ident
    return None


def container_id_from_cgroups(cgroups: Iterable[str]) -> str:
    """The 12-character container id found in a process's cgroups, or ``"host"``."""
    ident = container_identity(cgroups)
    return HOST_ID if ident is None else ident.id


class LookupState(enum.Enum):
    """Where a container's metadata stands (Falco's lookup states)."""

    UNKNOWN = "unknown"  # seen, nobody asked (no resolver runs, e.g. a replay)
    PENDING = "pending"  # a resolver is asking
    DONE = "done"  # a runtime answered
    FAILED = "failed"  # every runtime was asked; none knew it, or none could answer


@dataclass(frozen=True, slots=True)
class ContainerMount:
    """One mount of a container, as runtimes report them."""

    source: str
    dest: str
    mode: str = ""
    rdwr: bool = True
    propagation: str = ""


@dataclass(frozen=True, slots=True)
class PodInfo:
    """The Kubernetes pod (sandbox) a container runs in."""

    name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    sandbox_id: str | None = None  # full id
    labels: dict[str, str] = field(default_factory=dict)
    ip: str | None = None


@dataclass(slots=True)
class ContainerInfo:
    """What is known about one container; fields stay None until a runtime tells.

    ``id`` is the short id (the table's key); ``full_id`` the runtime's whole id.
    """

    id: str
    type: str | None = None  # "docker", "containerd", "cri-o", "podman", "host" ...
    name: str | None = None
    image: str | None = None
    image_id: str | None = None
    image_repository: str | None = None
    image_tag: str | None = None
    privileged: bool | None = None
    ip: str | None = None
    mounts: list[ContainerMount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    full_id: str | None = None
    image_digest: str | None = None
    start_ts: int | None = None  # ns since epoch
    host_pid: bool | None = None
    host_network: bool | None = None
    host_ipc: bool | None = None
    pod: PodInfo | None = None
    state: LookupState = LookupState.DONE


HOST = ContainerInfo(HOST_ID, type="host", name="host", full_id=HOST_ID)

# sysdig's container types (sinsp_container_type) by number, as capture files carry them.
SCAP_TYPES = {
    0: "docker",
    1: "lxc",
    2: "libvirt-lxc",
    3: "mesos",
    4: "rkt",
    5: "custom",
    6: "cri",
    7: "containerd",
    8: "cri-o",
    9: "bpm",
    10: "static",
    11: "podman",
}
_SCAP_TYPE_CODES = {name: code for code, name in SCAP_TYPES.items()}


def to_scap_json(info: ContainerInfo) -> str:
    """The container as sysdig's container JSON event holds it (``{"container": {...}}``)."""
    import json

    pod = info.pod
    labels = dict(info.labels)
    doc: dict[str, object] = {
        "id": info.id,
        "full_id": info.full_id or info.id,
        "type": _SCAP_TYPE_CODES.get(info.type or "", 5),
        "name": info.name or "",
        "image": info.image or "",
        "imageid": info.image_id or "",
        "imagerepo": info.image_repository or "",
        "imagetag": info.image_tag or "",
        "imagedigest": info.image_digest or "",
        "privileged": bool(info.privileged),
        "Mounts": [
            {
                "Source": m.source,
                "Destination": m.dest,
                "Mode": m.mode,
                "RW": m.rdwr,
                "Propagation": m.propagation,
            }
            for m in info.mounts
        ],
        "ip": info.ip or "0.0.0.0",
        "Labels": labels,
        "host_pid": bool(info.host_pid),
        "host_network": bool(info.host_network),
        "host_ipc": bool(info.host_ipc),
        "created_time": (info.start_ts or 0) // 1_000_000_000,
        "start_ts": info.start_ts or 0,
        "is_pod_sandbox": False,
    }
    if pod is not None:
        doc["pod_sandbox_id"] = pod.sandbox_id or ""
        doc["pod_sandbox_labels"] = dict(pod.labels)
        doc["pod"] = {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid, "ip": pod.ip}
    return json.dumps({"container": doc}, separators=(",", ":"))


def from_scap_json(text: str) -> ContainerInfo | None:
    """A container JSON event's text (sysdig's or ours) as a table entry; None if unusable."""
    import json

    try:
        data = json.loads(text).get("container", {})
    except (ValueError, AttributeError):
        return None
    if not isinstance(data, dict) or not data.get("id"):
        return None

    def text_of(key: str) -> str | None:
        value = data.get(key)
        return str(value) if value not in (None, "") else None

    labels = data.get("Labels", data.get("labels")) or {}
    labels = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
    mounts = [
        ContainerMount(
            str(m.get("Source", "")),
            str(m.get("Destination", "")),
            str(m.get("Mode", "")),
            bool(m.get("RW", True)),
            str(m.get("Propagation", "")),
        )
        for m in data.get("Mounts") or ()
        if isinstance(m, dict)
    ]
    kind = data.get("type")
    pod = None
    p = data.get("pod")
    if isinstance(p, dict) or data.get("pod_sandbox_id"):
        p = p if isinstance(p, dict) else {}
        plabels = data.get("pod_sandbox_labels")
        pod = PodInfo(
            name=p.get("name"),
            namespace=p.get("namespace"),
            uid=p.get("uid"),
            sandbox_id=text_of("pod_sandbox_id"),
            ip=p.get("ip"),
            labels=dict(plabels) if isinstance(plabels, dict) else {},
        )
    ip = text_of("ip")
    start = data.get("start_ts") or (data.get("created_time") or 0) * 1_000_000_000
    return ContainerInfo(
        str(data["id"])[:SHORT_ID_LEN],
        type=SCAP_TYPES.get(kind, str(kind)) if isinstance(kind, int) else text_of("type"),
        name=text_of("name"),
        image=text_of("image"),
        image_id=text_of("imageid"),
        image_repository=text_of("imagerepo"),
        image_tag=text_of("imagetag"),
        image_digest=text_of("imagedigest"),
        privileged=data.get("privileged"),
        ip=None if ip == "0.0.0.0" else ip,
        mounts=mounts,
        labels=labels,
        full_id=text_of("full_id") or str(data["id"]),
        start_ts=int(start) or None,
        host_pid=data.get("host_pid"),
        host_network=data.get("host_network"),
        host_ipc=data.get("host_ipc"),
        pod=pod,
    )


Listener = Callable[[ContainerInfo], None]


class ContainerTable:
    """Container metadata by short id; written by resolver threads, read by the pipeline.

    Readers take no lock: every change replaces a whole entry (one dict store, atomic in
    CPython). ``seen`` is the inspector's call for each new id; it hands the id to the
    resolvers (``on_new``) once. Listeners hear of every update (the alert hold).
    """

    __slots__ = ("_by_id", "_listeners", "_lock", "on_new")

    def __init__(self) -> None:
        self._by_id: dict[str, ContainerInfo] = {HOST_ID: HOST}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()  # serialises writers (seen vs update)
        self.on_new: Callable[[ContainerIdentity], None] | None = None

    def get(self, container_id: str | None) -> ContainerInfo | None:
        if container_id is None:
            return None
        return self._by_id.get(container_id)

    def __contains__(self, container_id: str) -> bool:
        return container_id in self._by_id

    def seen(self, ident: ContainerIdentity) -> None:
        """An event's process runs in this container: ask the resolvers if nobody has."""
        if ident.id in self._by_id:
            return
        with self._lock:
            if ident.id in self._by_id:
                return
            ask = self.on_new
            pod = PodInfo(uid=ident.pod_uid) if ident.pod_uid else None
            self._by_id[ident.id] = ContainerInfo(
                ident.id,
                type=ident.runtime,
                full_id=ident.full_id,
                pod=pod,
                state=LookupState.PENDING if ask is not None else LookupState.UNKNOWN,
            )
        if ask is not None:
            ask(ident)

    def update(self, info: ContainerInfo) -> None:
        """Record (or replace) a container's metadata, then tell the listeners."""
        with self._lock:
            old = self._by_id.get(info.id)
            if old is not None and old.pod is not None and info.pod is None:
                info = replace(info, pod=old.pod)  # keep the pod uid the cgroups told
            self._by_id[info.id] = info
        for listener in tuple(self._listeners):
            listener(info)

    def mark_failed(self, container_id: str) -> None:
        """No runtime could say more about ``container_id``: stop waiting for it."""
        old = self._by_id.get(container_id)
        if old is not None and old.state is LookupState.PENDING:
            self.update(replace(old, state=LookupState.FAILED))

    def remove(self, container_id: str) -> None:
        """Forget a container the runtime says is gone."""
        with self._lock:
            if container_id != HOST_ID:
                self._by_id.pop(container_id, None)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def ids(self) -> list[str]:
        return list(self._by_id)

    def entries(self) -> list[ContainerInfo]:
        return list(self._by_id.values())
