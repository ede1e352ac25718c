"""``container.*`` fields: the container of the event's process (``host`` outside any).

The id comes from cgroups as soon as the process is known; the rest (name, image ...) is
whatever the container table holds when the event is read, filled in by runtime resolvers.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from sentry.fields.registry import ArgKind, Extractor, FieldType, register, register_simple
from sentry.inspect.containers import HOST_ID, ContainerInfo, ContainerMount


def _id(ev: Any) -> str | None:
    th = ev.thread
    return None if th is None else th.container_id


def container_field(get: Callable[[ContainerInfo], Any]) -> Callable[[Any], Any]:
    """An extractor of ``get(entry)`` for the container table's entry of the event's thread
    (None while the thread or its container is unknown)."""

    def extract(ev: Any) -> Any:
        th = ev.thread
        if th is None:
            return None
        info = th.table.inspector.containers.get(th.container_id)
        return None if info is None else get(info)

    return extract


register_simple("container.id", FieldType.STRING, "container id (12 chars) or 'host'", _id)
register_simple("container.name", FieldType.STRING, "container name ('host' outside any)",
                container_field(lambda c: c.name))
register_simple("container.type", FieldType.STRING, "container runtime",
                container_field(lambda c: c.type))
register_simple("container.image", FieldType.STRING, "image name",
                container_field(lambda c: c.image))
register_simple("container.image.id", FieldType.STRING, "image id",
                container_field(lambda c: c.image_id))
register_simple("container.image.repository", FieldType.STRING, "image repository",
                container_field(lambda c: c.image_repository))
register_simple("container.image.tag", FieldType.STRING, "image tag",
                container_field(lambda c: c.image_tag))
register_simple("container.privileged", FieldType.BOOL, "whether it runs privileged",
                container_field(lambda c: c.privileged))


def _mount_text(m: ContainerMount) -> str:
    return f"{m.source}:{m.dest}:{m.mode}:{'true' if m.rdwr else 'false'}:{m.propagation}"


def _mounts_text(info: ContainerInfo) -> str | None:
    if info.id == HOST_ID:
        return None
    return ",".join(_mount_text(m) for m in info.mounts)


def _mount_field(get: Callable[[ContainerMount], str]) -> Callable[[str | None], Extractor]:
    """``container.mount.X[KEY]``: KEY is a mount's index or a glob on its source; "N/A" when
    the container is known but no mount matches (rules test ``!= "N/A"``)."""

    def make(key: str | None) -> Extractor:
        assert key is not None

        def mount_of(info: ContainerInfo) -> str | None:
            if info.id == HOST_ID:
                return None
            if key.isdigit():
                i = int(key)
                return get(info.mounts[i]) if i < len(info.mounts) else "N/A"
            for mount in info.mounts:
                if fnmatch.fnmatchcase(mount.source, key):
                    return get(mount)
            return "N/A"

        return container_field(mount_of)

    return make


register_simple("container.mounts", FieldType.STRING, "source:dest:mode:rdwr:propagation list",
                container_field(_mounts_text))
register("container.mount", FieldType.STRING, "a mount, by index or source glob",
         arg=ArgKind.KEY)(_mount_field(_mount_text))
register("container.mount.source", FieldType.STRING, "a mount's source, by index or glob",
         arg=ArgKind.KEY)(_mount_field(lambda m: m.source))
register("container.mount.dest", FieldType.STRING, "a mount's destination, by index or glob",
         arg=ArgKind.KEY)(_mount_field(lambda m: m.dest))
register("container.mount.mode", FieldType.STRING, "a mount's mode, by index or glob",
         arg=ArgKind.KEY)(_mount_field(lambda m: m.mode))
