"""Output formats (%field substitution) and the alert's text and JSON forms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sentry.capture.k8saudit import AuditEvent, parse_timestamp
from sentry.fields.registry import BoundField, FieldType
from sentry.outputs.format import (
    DEFAULT_CONTAINER_INFO,
    OutputFormat,
    OutputFormatError,
    expand_container_info,
    render_json_event_value,
    render_value,
)
from sentry.rules.alert import Alert, iso_utc
from sentry.rules.definitions import Priority

TS = 1470327477881781397  # 2016-08-04T16:17:57.881781397Z


class Ev:
    """A stand-in event for a fake resolver: fields read attributes by name."""

    def __init__(self, **values: Any):
        self.values = values


def fake_resolve(name: str, arg: str | None = None) -> BoundField:
    known = {
        "proc.name": FieldType.STRING,
        "proc.pid": FieldType.INT,
        "fd.name": FieldType.STRING,
        "proc.aname": FieldType.STRING,
        "evt.rawtime": FieldType.ABSTIME,
    }
    if name not in known:
        from sentry.errors import UnknownFieldError

        raise UnknownFieldError(name, [])
    key = name if arg is None else f"{name}[{arg}]"
    return BoundField(key, known[name], lambda ev: ev.values.get(key), "syscall")


def fmt(text: str, **kw: Any) -> OutputFormat:
    return OutputFormat(text, resolver=fake_resolve, **kw)


def test_fields_are_substituted_and_missing_ones_print_na() -> None:
    f = fmt("open by %proc.name (pid=%proc.pid file=%fd.name)")
    ev = Ev(**{"proc.name": "cat", "proc.pid": 42})
    assert f.render(ev) == "open by cat (pid=42 file=<NA>)"
    assert [b.name for b in f.fields] == ["proc.name", "proc.pid", "fd.name"]


def test_arguments_trailing_dots_and_lone_percent() -> None:
    f = fmt("%proc.aname[2] wrote %fd.name. 100% sure")
    ev = Ev(**{"proc.aname[2]": "bash", "fd.name": "/etc/x"})
    assert f.render(ev) == "bash wrote /etc/x. 100% sure"


def test_strict_rendering_skips_events_with_missing_fields_unless_star() -> None:
    ev = Ev(**{"proc.name": "cat"})
    assert fmt("%proc.name %fd.name").render_strict(ev) is None
    assert fmt("*%proc.name %fd.name").render_strict(ev) == "cat <NA>"
    assert fmt("%proc.name").render_strict(ev) == "cat"


def test_unknown_field_names_the_token() -> None:
    with pytest.raises(OutputFormatError) as info:
        fmt("An open was seen %not_a_real_field")
    assert info.value.token == "not_a_real_field"
    assert "invalid output format" in str(info.value)


def test_field_values_keep_numbers_as_numbers() -> None:
    f = fmt("%proc.name %proc.pid %evt.rawtime %fd.name")
    ev = Ev(**{"proc.name": "cat", "proc.pid": 7, "evt.rawtime": TS})
    assert f.field_values(ev) == {
        "proc.name": "cat",
        "proc.pid": 7,
        "evt.rawtime": TS,
        "fd.name": None,
    }


def test_render_value_kinds() -> None:
    assert render_value(None) == "<NA>"
    assert render_value(True) == "true"
    assert render_value(12) == "12"
    assert render_value(["a", "b"]) == "a,b"
    assert render_value(b"ab") == "ab"


def test_container_info_and_appended_format() -> None:
    assert expand_container_info("x %container.info y") == f"x {DEFAULT_CONTAINER_INFO} y"
    assert expand_container_info("x", "k=%proc.name") == "x k=%proc.name"
    assert (
        expand_container_info("x %container.info", "c=%proc.name", replace=True) == "x c=%proc.name"
    )
    assert fmt("open", extra="by %proc.name").render(Ev(**{"proc.name": "cat"})) == "open by cat"


def test_real_registry_resolves_rule_output_fields() -> None:
    f = OutputFormat("%evt.time %proc.cmdline %fd.name %proc.aname[2] %evt.arg.fd")
    assert [b.name for b in f.fields] == [
        "evt.time",
        "proc.cmdline",
        "fd.name",
        "proc.aname[2]",
        "evt.arg.fd",
    ]


def alert(**kw: Any) -> Alert:
    base: dict[str, Any] = dict(
        time_ns=TS,
        rule="open_from_cat",
        priority=Priority.WARNING,
        message="An open was seen (command=cat /dev/null)",
        output_fields={"evt.time": TS, "proc.cmdline": "cat /dev/null"},
        hostname="host1",
        tags=["filesystem"],
    )
    base.update(kw)
    return Alert(**base)


def test_alert_text_is_falcos_line(utc: None) -> None:
    assert alert().output == "16:17:57.881781397: Warning An open was seen (command=cat /dev/null)"
    assert alert(time_iso8601=True).output.startswith("2016-08-04T16:17:57.881781397+0000: ")
    assert alert(priority=Priority.INFORMATIONAL).output.split()[1] == "Informational"


def test_alert_json_has_falcos_fields(utc: None) -> None:
    doc = json.loads(alert().to_json())
    assert doc == {
        "output": "16:17:57.881781397: Warning An open was seen (command=cat /dev/null)",
        "priority": "Warning",
        "rule": "open_from_cat",
        "time": "2016-08-04T16:17:57.881781397Z",
        "output_fields": {"evt.time": TS, "proc.cmdline": "cat /dev/null"},
        "source": "syscall",
        "hostname": "host1",
        "tags": ["filesystem"],
    }
    assert "output" not in json.loads(alert().to_json(include_output=False))
    assert iso_utc(0) == "1970-01-01T00:00:00.000000000Z"


# -- json (k8s audit) events: Falco 0.28.1's json event formatter ---------------------------

POD = {
    "kind": "Event",
    "verb": "create",
    "stageTimestamp": "2018-10-25T17:53:07.006845Z",
    "requestURI": "/api/v1/namespaces/default/pods/p/exec?command=bash&tty=true",
    "user": {"username": "alice", "groups": ["system:masters", "system:authenticated"]},
    "responseStatus": {"code": 201},
    "requestObject": {
        "spec": {
            "containers": [
                {"name": "a", "image": "nginx", "securityContext": {"privileged": True}},
                {"name": "b", "image": "mysql:latest"},
                {"name": "c", "image": "busybox", "securityContext": {"privileged": False}},
            ],
            "volumes": [
                {"name": "etc", "hostPath": {"path": "/etc"}},
                {"name": "tmp", "emptyDir": {}},
            ],
        }
    },
}


def audit_event(obj: dict[str, Any]) -> AuditEvent:
    return AuditEvent(1, parse_timestamp(obj["stageTimestamp"]), obj)


def test_json_event_values_several_one_none() -> None:
    assert render_json_event_value(["a", "b"]) == "(a,b)"
    assert render_json_event_value(("a", "b", "c")) == "(a,b,c)"
    assert render_json_event_value(["a"]) == "a"
    assert render_json_event_value([]) == "<NA>"
    assert render_json_event_value(None) == "<NA>"
    assert render_json_event_value("true") == "true"
    assert render_json_event_value(5) == "5"


@pytest.mark.parametrize(
    "field,text",
    [
        # several values: in parentheses, comma-separated
        ("ka.req.pod.containers.image", "(nginx,mysql:latest,busybox)"),
        ("ka.req.pod.containers.image.repository", "(nginx,mysql,busybox)"),
        ("ka.user.groups", "(system:masters,system:authenticated)"),
        ("ka.req.pod.containers.privileged", "(true,false)"),  # b has no flag: skipped
        ("ka.req.pod.volumes.volume_type", "(hostPath,emptyDir)"),
        # one value: itself, also for a multi-valued field
        ("ka.req.pod.volumes.hostpath", "/etc"),
        ("ka.req.pod.containers.image[1]", "mysql:latest"),
        ("ka.req.container.image", "nginx"),  # the deprecated name: first container only
        ("ka.uri.param[command]", "bash"),
        ("ka.response.code", "201"),
        # none: <NA>
        ("ka.req.pod.containers.host_port", "<NA>"),  # no container has ports
        ("ka.req.pod.containers.image[7]", "<NA>"),
        ("ka.target.name", "<NA>"),
    ],
)
def test_json_event_fields_render_as_falco(field: str, text: str) -> None:
    f = OutputFormat(f"x=%{field}")
    assert f.render(audit_event(POD)) == f"x={text}"
    key = field.split("[")[0]
    assert f.field_values(audit_event(POD)) == {key: text}


def test_json_event_output_fields_are_text_keyed_without_argument() -> None:
    f = OutputFormat(
        "images=%ka.req.pod.containers.image first=%ka.req.pod.containers.image[0] "
        "cmd=%ka.uri.param[command] raw=%jevt.rawtime vols=%jevt.value[/user/groups]"
    )
    ev = audit_event(POD)
    assert f.render(ev) == (
        "images=(nginx,mysql:latest,busybox) first=nginx cmd=bash "
        f'raw={ev.ts} vols=["system:masters","system:authenticated"]'
    )
    # One key per field name; of two uses of a name, the later one's value stays.
    assert f.field_values(ev) == {
        "ka.req.pod.containers.image": "nginx",
        "ka.uri.param": "bash",
        "jevt.rawtime": str(ev.ts),
        "jevt.value": '["system:masters","system:authenticated"]',
    }


def test_syscall_fields_keep_their_argument_and_types() -> None:
    f = fmt("%proc.aname[2] %proc.pid")
    assert f.field_values(Ev(**{"proc.aname[2]": "bash", "proc.pid": 3})) == {
        "proc.aname[2]": "bash",
        "proc.pid": 3,
    }


def test_a_rule_format_names_only_fields_of_its_source() -> None:
    with pytest.raises(OutputFormatError) as info:
        OutputFormat("at %evt.time by %ka.user.name", source="k8s_audit")
    assert info.value.token == "evt.time" and "not a field of k8s_audit" in str(info.value)
    with pytest.raises(OutputFormatError, match="not a field of syscall"):
        OutputFormat("%proc.name %ka.verb", source="syscall")
    assert [f.name for f in OutputFormat("%jevt.time %ka.verb", source="k8s_audit").fields] == [
        "jevt.time",
        "ka.verb",
    ]


def test_extra_and_container_info_apply_to_syscall_formats_only() -> None:
    syscall = OutputFormat("%proc.name", extra="c=%container.id", source="syscall")
    assert [f.name for f in syscall.fields] == ["proc.name", "container.id"]
    audit = OutputFormat("%ka.verb", extra="c=%container.id", source="k8s_audit")
    assert [f.name for f in audit.fields] == ["ka.verb"]
