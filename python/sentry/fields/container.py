"""``container.*`` fields: the container of the event's process (``host`` outside any).

The id comes from cgroups as soon as the process is known; the rest (name, image ...) is
whatever the container table holds when the event is read, filled in by runtime resolvers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sentry.fields.registry import FieldType, register_simple
from sentry.inspect.containers import ContainerInfo


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
