"""Container identity: the container id from a process's cgroups, and metadata by id.

The id is found synchronously from the cgroup paths the kernel reports (docker, containerd,
cri-o, podman, kubepods layouts); ``"host"`` when none matches, as in sysdig. Metadata (name,
image, k8s labels) comes from container runtimes, slowly and asynchronously: a resolver calls
:meth:`ContainerTable.update` whenever it learns something, from any thread, and fields read
whatever is known at the time of the event (``<NA>`` until then).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

HOST_ID = "host"

# A 64-hex container id inside a cgroup path segment, with the runtimes' decorations.
_CGROUP_ID = re.compile(
    r"(?:^|/)(?:docker-|crio-|cri-containerd-|libpod-|containerd-)?([0-9a-f]{64})(?:\.scope)?(?:/|$)"
)


def container_id_from_cgroups(cgroups: Iterable[str]) -> str:
    """The 12-character container id found in ``subsys=/path`` entries, or ``"host"``."""
    for entry in cgroups:
        path = entry.partition("=")[2] if "=" in entry else entry
        if "/" not in path:
            continue
        m = _CGROUP_ID.search(path)
        if m is not None:
            return m.group(1)[:12]
    return HOST_ID


@dataclass(frozen=True, slots=True)
class ContainerMount:
    """One mount of a container, as runtimes report them."""

    source: str
    dest: str
    mode: str = ""
    rdwr: bool = True
    propagation: str = ""


@dataclass(slots=True)
class ContainerInfo:
    """What is known about one container; fields stay None until a runtime tells."""

    id: str
    type: str | None = None  # "docker", "containerd", "cri-o", "podman", "host"
    name: str | None = None
    image: str | None = None
    image_id: str | None = None
    image_repository: str | None = None
    image_tag: str | None = None
    privileged: bool | None = None
    ip: str | None = None
    mounts: list[ContainerMount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


HOST = ContainerInfo(HOST_ID, type="host", name="host")


class ContainerTable:
    """Container metadata by id; ``update`` may be called from resolver threads."""

    __slots__ = ("_by_id",)

    def __init__(self) -> None:
        self._by_id: dict[str, ContainerInfo] = {HOST_ID: HOST}

    def get(self, container_id: str | None) -> ContainerInfo | None:
        if container_id is None:
            return None
        return self._by_id.get(container_id)

    def update(self, info: ContainerInfo) -> None:
        """Record (or replace) a container's metadata; a single dict store, atomic in CPython."""
        self._by_id[info.id] = info

    def ids(self) -> list[str]:
        return list(self._by_id)
