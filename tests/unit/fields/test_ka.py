"""``ka.*`` and ``jevt.*`` fields on audit events, read the way Falco 0.28.1 reads them."""

from __future__ import annotations

from typing import Any

import pytest

from sentry.capture.k8saudit import AuditEvent, parse_timestamp
from sentry.errors import FieldArgumentError
from sentry.fields.ka import image_repository
from sentry.fields.registry import FieldType, all_fields, resolve

POD = {
    "kind": "Event",
    "auditID": "id-1",
    "stage": "ResponseComplete",
    "verb": "create",
    "requestURI": "/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&tty=true",
    "user": {"username": "alice", "groups": ["dev", "system:authenticated"]},
    "impersonatedUser": {"username": "bob"},
    "userAgent": "kubectl/v1.20",
    "sourceIPs": ["10.0.0.5", "192.168.1.9"],
    "objectRef": {"resource": "pods", "namespace": "default", "name": "p", "subresource": "exec"},
    "responseStatus": {"code": 201},
    "annotations": {
        "authorization.k8s.io/decision": "allow",
        "authorization.k8s.io/reason": "RBAC",
    },
    "requestObject": {
        "spec": {
            "hostNetwork": True,
            "hostPID": False,
            "securityContext": {"runAsUser": 1000},
            "containers": [
                {
                    "name": "a",
                    "image": "docker.io/library/nginx:1.19",
                    "securityContext": {"privileged": True, "capabilities": {"add": ["NET_ADMIN"]}},
                    "ports": [{"containerPort": 80, "hostPort": 8080}],
                },
                {
                    "name": "b",
                    "image": "localhost:5000/tools@sha256:abc",
                    "securityContext": {"runAsUser": 0},
                },
            ],
            "volumes": [
                {"name": "etc", "hostPath": {"path": "/etc"}},
                {"name": "tmp", "emptyDir": {}},
            ],
        }
    },
    "responseObject": {"metadata": {"name": "p-123"}},
    "stageTimestamp": "2024-05-01T10:00:00.123456Z",
}
ROLE = {
    "kind": "Event",
    "objectRef": {"resource": "clusterroles", "name": "r"},
    "requestObject": {
        "rules": [{"apiGroups": [""], "resources": ["pods", "pods/exec"], "verbs": ["get", "*"]}],
        "roleRef": {"name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "eve"}],
        "data": {"password": "x"},
    },
    "stageTimestamp": "2024-05-01T10:00:00Z",
}


def get(name: str, obj: dict[str, Any], arg: str | None = None) -> Any:
    evt = AuditEvent(1, parse_timestamp(obj["stageTimestamp"]), obj)
    return resolve(name, arg).extract(evt)


@pytest.mark.parametrize(
    "name,arg,value",
    [
        ("ka.auditid", None, "id-1"),
        ("ka.stage", None, "ResponseComplete"),
        ("ka.verb", None, "create"),
        ("ka.user.name", None, "alice"),
        ("ka.user.groups", None, ["dev", "system:authenticated"]),
        ("ka.impuser.name", None, "bob"),
        ("ka.useragent", None, "kubectl/v1.20"),
        ("ka.sourceips", None, ["10.0.0.5", "192.168.1.9"]),  # today's plugin: a list
        ("ka.sourceips", "1", "192.168.1.9"),
        ("ka.auth.decision", None, "allow"),
        ("ka.auth.reason", None, "RBAC"),
        ("ka.target.resource", None, "pods"),
        ("ka.target.subresource", None, "exec"),
        ("ka.target.namespace", None, "default"),
        ("ka.target.name", None, "p"),
        ("ka.uri.param", "command", "sh"),
        ("ka.uri.param", "tty", "true"),
        ("ka.uri.param", "nope", None),
        ("ka.resp.name", None, "p-123"),
        ("ka.response.code", None, "201"),  # numbers read as strings, as in Falco
        ("ka.response.reason", None, None),
        ("ka.req.pod.host_network", None, "true"),
        ("ka.req.pod.host_pid", None, "false"),
        ("ka.req.pod.host_ipc", None, None),
        (
            "ka.req.pod.containers.image",
            None,
            ["docker.io/library/nginx:1.19", "localhost:5000/tools@sha256:abc"],
        ),
        ("ka.req.pod.containers.image", "1", "localhost:5000/tools@sha256:abc"),
        (
            "ka.req.pod.containers.image.repository",
            None,
            ["docker.io/library/nginx", "localhost:5000/tools"],
        ),
        ("ka.req.pod.containers.privileged", None, ["true"]),
        # The deprecated names give the first container's image only (or the indexed one's).
        ("ka.req.container.image", None, "docker.io/library/nginx:1.19"),
        ("ka.req.container.image", "1", "localhost:5000/tools@sha256:abc"),
        ("ka.req.container.image.repository", None, "docker.io/library/nginx"),
        ("ka.req.container.privileged", None, "true"),
        ("ka.req.container.privileged", "1", "false"),
        ("ka.req.pod.containers.add_capabilities", None, ["NET_ADMIN"]),
        ("ka.req.pod.containers.host_port", None, ["8080"]),
        ("ka.req.pod.containers.run_as_user", None, ["0"]),
        ("ka.req.pod.containers.eff_run_as_user", None, ["1000", "0"]),
        ("ka.req.pod.containers.eff_run_as_group", None, ["0", "0"]),
        ("ka.req.pod.run_as_user", None, "1000"),
        ("ka.req.pod.volumes.hostpath", None, ["/etc"]),
        ("ka.req.pod.volumes.volume_type", None, ["hostPath", "emptyDir"]),
        ("ka.req.volume.hostpath", "/et*", "true"),
        ("ka.req.volume.hostpath", "/proc", "false"),
        ("jevt.value", "/user/username", "alice"),
        ("jevt.value", "/annotations/authorization.k8s.io~1decision", "allow"),
        ("jevt.value", "/requestObject/spec/containers/1/name", "b"),
        ("jevt.value", "/nope", None),
        ("jevt.rawtime", None, 1714557600_123456000),
        ("jevt.time.iso8601", None, "2024-05-01T10:00:00.123456000Z"),
    ],
)
def test_pod_event_fields(name: str, arg: str | None, value: Any) -> None:
    assert get(name, POD, arg) == value


@pytest.mark.parametrize(
    "name,arg,value",
    [
        ("ka.req.role.rules.verbs", None, ["get", "*"]),
        ("ka.req.role.rules.resources", None, ["pods", "pods/exec"]),
        ("ka.req.role.rules.apiGroups", None, [""]),
        (
            "ka.req.role.rules",
            None,
            ['{"apiGroups":[""],"resources":["pods","pods/exec"],"verbs":["get","*"]}'],
        ),
        ("ka.req.binding.role", None, "cluster-admin"),
        ("ka.req.binding.subjects", None, ['{"kind":"User","name":"eve"}']),
        ("ka.req.binding.subject.has_name", "eve", "true"),
        ("ka.req.binding.subject.has_name", "mallory", "false"),
        ("ka.req.configmap.obj", None, '{"password":"x"}'),
        ("ka.req.configmap.name", None, "r"),
        ("ka.req.pod.containers.image", None, None),
    ],
)
def test_role_event_fields(name: str, arg: str | None, value: Any) -> None:
    assert get(name, ROLE, arg) == value


def test_jevt_obj_is_compact_json_with_sorted_keys() -> None:
    assert get("jevt.obj", ROLE).startswith('{"kind":"Event","objectRef":{"name":"r",')


@pytest.mark.parametrize(
    "image,repo",
    [
        ("nginx", "nginx"),
        ("nginx:1.19", "nginx"),
        ("gcr.io/a/b:v1", "gcr.io/a/b"),
        ("localhost:5000/x", "localhost:5000/x"),
        ("r.io/x@sha256:0f", "r.io/x"),
    ],
)
def test_image_repository(image: str, repo: str) -> None:
    assert image_repository(image) == repo


def test_bad_arguments_are_our_errors() -> None:
    with pytest.raises(FieldArgumentError):
        resolve("jevt.value", "no-leading-slash")
    with pytest.raises(FieldArgumentError):
        resolve("ka.req.pod.containers.image", "first")
    with pytest.raises(FieldArgumentError):
        resolve("ka.uri.param")


def test_every_field_falco_k8s_rules_use_is_registered(falco_dir: Any) -> None:
    import re

    fields = all_fields()
    used = set()
    for path in [
        falco_dir / "rules" / "k8s_audit_rules.yaml",
        *(falco_dir / "test" / "rules" / "k8s_audit").rglob("*.yaml"),
    ]:
        used |= set(re.findall(r"\b((?:ka|jevt)\.[a-zA-Z_.]*[a-zA-Z_])", path.read_text()))
    assert used
    for name in used:
        assert name in fields, name
        assert fields[name].source == "k8s_audit"
    assert fields["ka.user.groups"].type is FieldType.LIST
