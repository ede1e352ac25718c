"""``ka.req.pod.{containers,initContainers,ephemeralContainers}.*``: each list read on its own,
as today's k8saudit plugin does (today's k8s_audit_rules.yaml asks for the init and
ephemeral flavours of ``privileged`` and ``image``)."""

from __future__ import annotations

from typing import Any

from sentry.capture.k8saudit import AuditEvent
from sentry.fields.registry import FieldType, resolve

POD = {
    "kind": "Event",
    "verb": "create",
    "objectRef": {"resource": "pods"},
    "requestObject": {
        "spec": {
            "securityContext": {"runAsUser": 1000},
            "containers": [
                {
                    "name": "app",
                    "image": "nginx:1.25",
                    "command": ["nginx"],
                    "args": ["-g", "daemon off;"],
                }
            ],
            "initContainers": [
                {
                    "name": "setup",
                    "image": "reg.example.com/i:1",
                    "securityContext": {
                        "privileged": True,
                        "runAsUser": 0,
                        "capabilities": {"add": ["SYS_ADMIN"]},
                    },
                    "ports": [{"containerPort": 9000, "hostPort": 9001}],
                },
            ],
            "ephemeralContainers": [
                {
                    "name": "debugger",
                    "image": "busybox@sha256:abc",
                    "securityContext": {"privileged": False},
                },
            ],
        }
    },
}


def get(name: str, arg: str | None = None, obj: dict[str, Any] = POD) -> Any:
    return resolve(name, arg).extract(AuditEvent(1, 0, obj))


def test_init_and_ephemeral_lists_are_read_apart_from_containers() -> None:
    assert get("ka.req.pod.initContainers.privileged") == ["true"]
    assert get("ka.req.pod.ephemeralContainers.privileged") == ["false"]
    assert get("ka.req.pod.containers.privileged") == []
    assert get("ka.req.pod.initContainers.image") == ["reg.example.com/i:1"]
    assert get("ka.req.pod.ephemeralContainers.image.repository") == ["busybox"]
    assert get("ka.req.pod.containers.image") == ["nginx:1.25"]


def test_per_container_properties_and_indexes() -> None:
    assert get("ka.req.pod.containers.name") == ["app"]
    assert get("ka.req.pod.containers.args") == ["-g", "daemon off;"]
    assert get("ka.req.pod.initContainers.name", "0") == "setup"
    assert get("ka.req.pod.initContainers.add_capabilities") == ["SYS_ADMIN"]
    assert get("ka.req.pod.initContainers.host_port") == ["9001"]
    # effective ids: the container's own, else the pod's, else 0
    assert get("ka.req.pod.initContainers.eff_run_as_user") == ["0"]
    assert get("ka.req.pod.ephemeralContainers.eff_run_as_user") == ["1000"]
    assert resolve("ka.req.pod.initContainers.privileged").type is FieldType.LIST


def test_a_pod_without_the_list_has_no_value() -> None:
    plain = {"kind": "Event", "requestObject": {"spec": {"containers": []}}}
    assert get("ka.req.pod.initContainers.privileged", obj=plain) is None
    assert get("ka.req.pod.ephemeralContainers.image", obj=plain) is None
