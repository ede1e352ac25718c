"""``ka.req.pod.containers.*``, ``ka.req.pod.initContainers.*`` and
``ka.req.pod.ephemeralContainers.*``: one value per container of a pod's spec, as the
k8saudit plugin defines them (each field is a list of strings, indexable with ``[N]``).

The three families read the same properties of the containers in ``spec.containers``,
``spec.initContainers`` and ``spec.ephemeralContainers``; ``host_port`` has no ephemeral
flavour (ephemeral containers cannot publish ports).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sentry.fields.ka import (
    _MISSING,
    L,
    _computed,
    _per_item,
    _pick,
    as_string,
    image_repository,
    walk,
)
from sentry.fields.registry import ArgKind

# Container list key in the pod spec -> what the descriptions call its items.
_LISTS = {
    "containers": "containers",
    "initContainers": "init containers",
    "ephemeralContainers": "ephemeral containers",
}

# field suffix -> (property path inside each container, description)
_PROPERTIES = {
    "name": ("/name", "the names of the {}"),
    "command": ("/command", "the commands of the {}"),
    "args": ("/args", "the args of the {}"),
    "privileged": ("/securityContext/privileged", "the privileged flag of all {}"),
    "allow_privilege_escalation": (
        "/securityContext/allowPrivilegeEscalation",
        "the allowPrivilegeEscalation flag of all {}",
    ),
    "read_only_fs": (
        "/securityContext/readOnlyRootFilesystem",
        "the readOnlyRootFilesystem flag of all {}",
    ),
    "run_as_user": ("/securityContext/runAsUser", "the runAsUser of all {}"),
    "run_as_group": ("/securityContext/runAsGroup", "the runAsGroup of all {}"),
    "proc_mount": ("/securityContext/procMount", "the procMount type of all {}"),
    "add_capabilities": ("/securityContext/capabilities/add", "the capabilities added to the {}"),
}


def _items(obj: dict[str, Any], key: str) -> list[Any] | None:
    items = walk(obj, ("requestObject", "spec", key))
    return items if isinstance(items, list) else None


def _images(key: str, repository: bool) -> Callable[[dict[str, Any], str | None], Any]:
    def extract(obj: dict[str, Any], arg: str | None) -> Any:
        items = _items(obj, key)
        if items is None:
            return None
        out = []
        for c in items:
            image = c.get("image") if isinstance(c, dict) else None
            if isinstance(image, str):
                out.append(image_repository(image) if repository else image)
        return _pick(out, arg)

    return extract


def _effective_run_as(key: str, prop: str) -> Callable[[dict[str, Any], str | None], Any]:
    # The id each container starts with: its own security context, else the pod's, else 0.
    def extract(obj: dict[str, Any], arg: str | None) -> Any:
        items = _items(obj, key)
        if items is None:
            return None
        pod_value = walk(obj, ("requestObject", "spec", "securityContext", prop))
        default = 0 if pod_value is _MISSING or pod_value is None else pod_value
        out = []
        for c in items:
            value = walk(c, ("securityContext", prop))
            out.append(as_string(default if value is _MISSING or value is None else value))
        return _pick(out, arg)

    return extract


def _host_ports(key: str) -> Callable[[dict[str, Any], str | None], Any]:
    def extract(obj: dict[str, Any], arg: str | None) -> Any:
        items = _items(obj, key)
        if items is None:
            return None
        out = []
        for c in items:
            for port in (c.get("ports") or []) if isinstance(c, dict) else []:
                if not isinstance(port, dict):
                    continue
                # With hostNetwork the container port is the host port.
                value = port.get("hostPort", port.get("containerPort"))
                if value is not None:
                    out.append(as_string(value))
        return _pick(out, arg)

    return extract


for _key, _what in _LISTS.items():
    _base = f"ka.req.pod.{_key}"
    _computed(
        f"{_base}.image",
        L,
        f"for a pod, the images of the {_what}",
        _images(_key, False),
        ArgKind.INDEX,
    )
    _computed(
        f"{_base}.image.repository",
        L,
        f"for a pod, the images of the {_what} (repository part only)",
        _images(_key, True),
        ArgKind.INDEX,
    )
    for _suffix, (_inner, _desc) in _PROPERTIES.items():
        _per_item(
            f"{_base}.{_suffix}",
            f"/requestObject/spec/{_key}",
            _inner,
            "for a pod, " + _desc.format(_what),
        )
    _computed(
        f"{_base}.eff_run_as_user",
        L,
        f"for a pod, the uid each of the {_what} starts "
        "with (container, else pod security context, else 0)",
        _effective_run_as(_key, "runAsUser"),
        ArgKind.INDEX,
    )
    _computed(
        f"{_base}.eff_run_as_group",
        L,
        f"for a pod, the gid each of the {_what} "
        "starts with (container, else pod security context, else 0)",
        _effective_run_as(_key, "runAsGroup"),
        ArgKind.INDEX,
    )
    if _key != "ephemeralContainers":
        _computed(
            f"{_base}.host_port",
            L,
            f"for a pod, the hostPort values of the {_what}",
            _host_ports(_key),
            ArgKind.INDEX,
        )
