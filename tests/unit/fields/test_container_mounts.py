"""container.mount.* lookups by key, as libs does them: ``container.mount.source[KEY]`` finds
the mount whose destination matches KEY, every other ``container.mount.X[KEY]`` the mount
whose source does. Falco's sandbox rule "Launch Sensitive Mount Container" relies on it:
``container.mount.dest[/etc]`` is set when the host's /etc is mounted, wherever it goes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from sentry.fields.registry import resolve
from sentry.inspect.containers import ContainerInfo, ContainerMount

MOUNTS = [
    ContainerMount("/etc", "/hostetc", "ro", False, "rprivate"),
    ContainerMount("/var/run/docker.sock", "/run/docker.sock", "", True, "rprivate"),
]


def _event(info: ContainerInfo) -> Any:
    containers = {info.id: info}
    table = SimpleNamespace(inspector=SimpleNamespace(containers=containers))
    return SimpleNamespace(thread=SimpleNamespace(container_id=info.id, table=table))


def _value(field: str, arg: str) -> Any:
    ev = _event(ContainerInfo("0123456789ab", name="c", mounts=list(MOUNTS)))
    return resolve(field, arg).extract(ev)


@pytest.mark.parametrize(
    ("field", "arg", "want"),
    [
        ("container.mount.dest", "/etc", "/hostetc"),  # keyed by source
        ("container.mount.dest", "/var/run/docker.sock", "/run/docker.sock"),
        ("container.mount.dest", "/hostetc", "N/A"),  # a destination is no source
        ("container.mount.dest", "/e*", "/hostetc"),
        ("container.mount.source", "/hostetc", "/etc"),  # keyed by destination
        ("container.mount.source", "/run/docker*", "/var/run/docker.sock"),
        ("container.mount.source", "/etc", "N/A"),  # a source is no destination
        ("container.mount.mode", "/etc", "ro"),
        ("container.mount.rdwr", "/var/run/docker.sock", "true"),
        ("container.mount", "/etc", "/etc:/hostetc:ro:false:rprivate"),
        ("container.mount.source", "1", "/var/run/docker.sock"),  # by index
        ("container.mount.dest", "0", "/hostetc"),
    ],
)
def test_mount_lookup_key(field: str, arg: str, want: str) -> None:
    assert _value(field, arg) == want
