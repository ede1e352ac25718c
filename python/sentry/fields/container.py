"""``container.*`` fields: the container of the event's process (``host`` outside any).

The id comes from cgroups as soon as the process is known; the rest (name, image ...) is
whatever the container table holds when the event is read, filled in by the runtime
resolvers (:mod:`sentry.inspect.runtimes`). Names and meanings are Falco's.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from sentry.events.event import Event
from sentry.fields import state
from sentry.fields.registry import ArgKind, Extractor, FieldType, register, register_simple
from sentry.inspect.containers import HOST_ID, ContainerInfo, ContainerMount

# Fields whose value depends only on the container table: an alert held for a container's
# metadata renders these when it is released (sentry.outputs.format).
LATE_FAMILIES = ("container.", "k8s.")


def _id(ev: Event) -> str | None:
    th = ev.thread
    return None if th is None else th.container_id


def container_of(ev: Event) -> ContainerInfo | None:
    """The container table's entry for the event's thread (None while unknown)."""
    return state.container(ev.thread)


def container_field(get: Callable[[ContainerInfo], Any]) -> Callable[[Any], Any]:
    """An extractor of ``get(entry)`` for the container table's entry of the event's thread
    (None while the thread or its container is unknown)."""

    def extract(ev: Event) -> Any:
        info = state.container(ev.thread)
        return None if info is None else get(info)

    return extract


def _not_host(get: Callable[[ContainerInfo], Any]) -> Callable[[ContainerInfo], Any]:
    return lambda c: None if c.id == HOST_ID else get(c)


def _labels_text(labels: dict[str, str]) -> str | None:
    """Falco's ``key:value, key:value`` rendering of a label map."""
    if not labels:
        return None
    return ", ".join(f"{k}:{v}" for k, v in labels.items())


def _duration(ev: Event) -> int | None:
    info = container_of(ev)
    if info is None or info.start_ts is None:
        return None
    return max(0, ev.ts - info.start_ts)


S, B = FieldType.STRING, FieldType.BOOL
register_simple("container.id", S, "container id (12 chars) or 'host'", _id)
register_simple(
    "container.full_id",
    S,
    "the whole container id, or 'host'",
    container_field(lambda c: c.full_id or c.id),
)
register_simple(
    "container.name", S, "container name ('host' outside any)", container_field(lambda c: c.name)
)
register_simple(
    "container.type",
    S,
    "container runtime (docker, containerd, cri-o, podman ...)",
    container_field(lambda c: c.type),
)
register_simple(
    "container.image",
    S,
    "image name as the container was started from",
    container_field(lambda c: c.image),
)
register_simple("container.image.id", S, "image id", container_field(lambda c: c.image_id))
register_simple(
    "container.image.repository",
    S,
    "image repository (name without tag)",
    container_field(lambda c: c.image_repository),
)
register_simple("container.image.tag", S, "image tag", container_field(lambda c: c.image_tag))
register_simple(
    "container.image.digest",
    S,
    "image registry digest (sha256:...)",
    container_field(lambda c: c.image_digest),
)
register_simple(
    "container.privileged", B, "whether it runs privileged", container_field(lambda c: c.privileged)
)
register_simple(
    "container.ip",
    S,
    "the container's (or its pod's) IP address",
    container_field(_not_host(lambda c: c.ip or None)),
)
register_simple(
    "container.labels",
    S,
    "container labels, 'key:value, key:value'",
    container_field(_not_host(lambda c: _labels_text(c.labels))),
)
register_simple(
    "container.start_ts",
    FieldType.ABSTIME,
    "container start time (ns since epoch)",
    container_field(_not_host(lambda c: c.start_ts)),
)
register_simple(
    "container.duration", FieldType.RELTIME, "time since the container started (ns)", _duration
)
register_simple(
    "container.host_pid",
    B,
    "whether it shares the host's PID namespace",
    container_field(_not_host(lambda c: c.host_pid)),
)
register_simple(
    "container.host_network",
    B,
    "whether it shares the host's network namespace",
    container_field(_not_host(lambda c: c.host_network)),
)
register_simple(
    "container.host_ipc",
    B,
    "whether it shares the host's IPC namespace",
    container_field(_not_host(lambda c: c.host_ipc)),
)


@register(
    "container.label",
    S,
    "a container label's value, container.label[key]",
    arg=ArgKind.KEY,
    dotted_arg=True,
)
def _label(key: str | None) -> Extractor:
    assert key is not None
    return container_field(lambda c: c.labels.get(key))


def _mount_text(m: ContainerMount) -> str:
    return f"{m.source}:{m.dest}:{m.mode}:{'true' if m.rdwr else 'false'}:{m.propagation}"


def _mounts_text(info: ContainerInfo) -> str | None:
    if info.id == HOST_ID:
        return None
    return ",".join(_mount_text(m) for m in info.mounts)


def _mount_field(
    get: Callable[[ContainerMount], str], by_dest: bool = False
) -> Callable[[str | None], Extractor]:
    """``container.mount.X[KEY]``: KEY is a mount's index or a glob on its source (on its
    destination for ``container.mount.source``, as libs looks them up: the source of what is
    mounted at /x, the destination of host path /y); "N/A" when the container is known but no
    mount matches (rules test ``!= "N/A"``)."""

    def make(key: str | None) -> Extractor:
        assert key is not None

        def mount_of(info: ContainerInfo) -> str | None:
            if info.id == HOST_ID:
                return None
            if key.isdigit():
                i = int(key)
                return get(info.mounts[i]) if i < len(info.mounts) else "N/A"
            for mount in info.mounts:
                if fnmatch.fnmatchcase(mount.dest if by_dest else mount.source, key):
                    return get(mount)
            return "N/A"

        return container_field(mount_of)

    return make


register_simple(
    "container.mounts", S, "source:dest:mode:rdwr:propagation list", container_field(_mounts_text)
)
register("container.mount", S, "a mount, by index or source glob", arg=ArgKind.KEY)(
    _mount_field(_mount_text)
)
register(
    "container.mount.source", S, "a mount's source, by index or destination glob", arg=ArgKind.KEY
)(_mount_field(lambda m: m.source, by_dest=True))
register(
    "container.mount.dest", S, "a mount's destination, by index or source glob", arg=ArgKind.KEY
)(_mount_field(lambda m: m.dest))
register("container.mount.mode", S, "a mount's mode, by index or glob", arg=ArgKind.KEY)(
    _mount_field(lambda m: m.mode)
)
register(
    "container.mount.rdwr", S, "whether a mount is read-write, by index or glob", arg=ArgKind.KEY
)(_mount_field(lambda m: "true" if m.rdwr else "false"))
register(
    "container.mount.propagation", S, "a mount's propagation, by index or glob", arg=ArgKind.KEY
)(_mount_field(lambda m: m.propagation))
