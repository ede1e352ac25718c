"""Container state: a thread's cgroups name its container (new ids go to the container
table and its runtime resolvers), and the container events a capture records."""

from __future__ import annotations

from typing import Any

from sentry.inspect.containers import (
    HOST_ID,
    SCAP_TYPES,
    ContainerInfo,
    container_identity,
    from_scap_json,
)
from sentry.inspect.handler_base import HandlerBase
from sentry.inspect.threads import ThreadInfo


class ContainerEvents(HandlerBase):
    """Cgroups to containers, and the handler of scap's container events."""

    def set_cgroups(self, th: ThreadInfo, cgroups: list[str]) -> None:
        """A thread's cgroups, hence its container; a new container id goes to the table
        (which hands it to the runtime resolvers, if any run)."""
        th.cgroups = cgroups
        ident = container_identity(cgroups)
        if ident is None:
            th.container_id = HOST_ID
            return
        th.container_id = ident.id
        if ident.id not in self.containers:
            self.containers.seen(ident)

    def announce_containers(self) -> None:
        """Tell the container table about the containers of the threads known now (the
        starting state read from /proc or a capture)."""
        for th in list(self.threads):
            ident = container_identity(th.cgroups)
            if ident is not None and ident.id not in self.containers:
                self.containers.seen(ident)

    def _on_container(self, ev: Any, th: ThreadInfo | None) -> None:
        """Container metadata recorded in the capture (sysdig's container events)."""
        text = ev.param_by_name("json")
        if isinstance(text, str):
            info = from_scap_json(text)
            if info is not None:
                self.containers.update(info)
            return
        cid = ev.param_by_name("id")
        if isinstance(cid, str) and cid:
            self.containers.update(
                ContainerInfo(
                    cid,
                    type=_container_type(ev.param_by_name("type")),
                    name=ev.param_by_name("name"),
                    image=ev.param_by_name("image"),
                )
            )


def _container_type(value: Any) -> str | None:
    if isinstance(value, int):
        return SCAP_TYPES.get(value, str(value))
    return None if value is None else str(value)
