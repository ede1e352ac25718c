"""``output_fields`` keys as today's Falco writes them (issue 15): each field as written in
the format, argument included, as libs' event formatter keys its tokens; Falco 0.28.1's
json event formatter (the default, ``written_keys=False``) dropped a json field's argument."""

from __future__ import annotations

from sentry.capture.k8saudit import AuditEvent, parse_timestamp
from sentry.fields.registry import BoundField, FieldType
from sentry.outputs.format import OutputFormat

EXEC = {
    "kind": "Event",
    "verb": "create",
    "stageTimestamp": "2018-10-25T17:53:07.006845Z",
    "requestURI": "/api/v1/namespaces/default/pods/p/exec?command=bash&container=app",
    "user": {"username": "alice", "groups": ["system:masters", "system:authenticated"]},
    "requestObject": {"spec": {"containers": [{"image": "nginx"}, {"image": "mysql"}]}},
}
FORMAT = (
    "cmd=%ka.uri.param[command] in=%ka.uri.param[container] first=%ka.req.pod.containers.image[0] "
    "groups=%jevt.value[/user/groups] by %ka.user.name"
)


def event() -> AuditEvent:
    return AuditEvent(1, parse_timestamp(str(EXEC["stageTimestamp"])), EXEC)


def test_todays_keys_are_the_fields_as_written() -> None:
    f = OutputFormat(FORMAT, source="k8s_audit")
    assert f.field_values(event(), written_keys=True) == {
        "ka.uri.param[command]": "bash",
        "ka.uri.param[container]": "app",  # two arguments of one field: two keys
        "ka.req.pod.containers.image[0]": "nginx",
        "jevt.value[/user/groups]": '["system:masters","system:authenticated"]',
        "ka.user.name": "alice",
    }


def test_0_28_1_keys_drop_the_argument() -> None:
    f = OutputFormat(FORMAT, source="k8s_audit")
    assert f.field_values(event()) == {
        "ka.uri.param": "app",  # of two uses of a name, the later one's value stays
        "ka.req.pod.containers.image": "nginx",
        "jevt.value": '["system:masters","system:authenticated"]',
        "ka.user.name": "alice",
    }


def by_name(name: str, arg: str | None) -> BoundField:
    """Fields that read a dict event by the name as written."""
    key = f"{name}[{arg}]" if arg is not None else name
    return BoundField(key, FieldType.STRING, lambda ev: ev.get(key), "syscall")


def test_syscall_fields_are_keyed_as_written_either_way() -> None:
    f = OutputFormat("%proc.aname[2] %fd.name", resolver=by_name, source="syscall")
    ev = {"proc.aname[2]": "bash", "fd.name": "/etc/passwd"}
    assert f.field_values(ev) == f.field_values(ev, written_keys=True) == ev
