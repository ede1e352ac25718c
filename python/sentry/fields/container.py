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


def _info(get: Callable[[ContainerInfo], Any]) -> Callable[[Any], Any]:
    def extract(ev: Any) -> Any:
        th = ev.thread
        if th is None:
            return None
        info = th.table.inspector.containers.get(th.container_id)
        return None if info is None else get(info)

    return extract


register_simple("container.id", FieldType.STRING, "container id (12 chars) or 'host'", _id)
register_simple("container.name", FieldType.STRING, "container name ('host' outside any)",
                _info(lambda c: c.name))
register_simple("container.type", FieldType.STRING, "container runtime",
                _info(lambda c: c.type))
register_simple("container.image", FieldType.STRING, "image name",
                _info(lambda c: c.image))
register_simple("container.image.id", FieldType.STRING, "image id",
                _info(lambda c: c.image_id))
register_simple("container.image.repository", FieldType.STRING, "image repository",
                _info(lambda c: c.image_repository))
register_simple("container.image.tag", FieldType.STRING, "image tag",
                _info(lambda c: c.image_tag))
register_simple("container.privileged", FieldType.BOOL, "whether it runs privileged",
                _info(lambda c: c.privileged))


def _mounts_text(info: ContainerInfo) -> str | None:
    if info.id == HOST_ID:
        return None
    return ",".join(
        f"{m.source}:{m.dest}:{m.mode}:{'true' if m.rdwr else 'false'}:{m.propagation}"
        for m in info.mounts
    )


def _mount_field(get: Callable[[ContainerMount], str]) -> Callable[[str | None], Extractor]:
    """``container.mount.X[KEY]``: KEY is a mount's index or a glob on its source; "N/A" when
    the container is known but no mount matches (rules test ``!= "N/A"``)."""

    def make(key: str | None) -> Extractor:
        assert key is not None

        def extract(ev: Any) -> str | None:
            th = ev.thread
            if th is None:
                return None
            info = th.table.inspector.containers.get(th.container_id)
            if info is None or info.id == HOST_ID:
                return None
            if key.isdigit():
                i = int(key)
                return get(info.mounts[i]) if i < len(info.mounts) else "N/A"
            for mount in info.mounts:
                if fnmatch.fnmatchcase(mount.source, key):
                    return get(mount)
            return "N/A"

        return extract

    return make


register_simple("container.mounts", FieldType.STRING, "source:dest:mode:rdwr:propagation list",
                _info(_mounts_text))
register("container.mount", FieldType.STRING, "a mount, by index or source glob",
         arg=ArgKind.KEY)(_mount_field(
             lambda m: f"{m.source}:{m.dest}:{m.mode}:{'true' if m.rdwr else 'false'}:"
                       f"{m.propagation}"))
register("container.mount.source", FieldType.STRING, "a mount's source, by index or glob",
         arg=ArgKind.KEY)(_mount_field(lambda m: m.source))
register("container.mount.dest", FieldType.STRING, "a mount's destination, by index or glob",
         arg=ArgKind.KEY)(_mount_field(lambda m: m.dest))
register("container.mount.mode", FieldType.STRING, "a mount's mode, by index or glob",
         arg=ArgKind.KEY)(_mount_field(lambda m: m.mode))
