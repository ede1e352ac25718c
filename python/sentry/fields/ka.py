"""Kubernetes audit fields: ``jevt.*`` (any JSON event) and ``ka.*`` (audit Event objects).

Extractors read ``event.obj`` (the decoded audit Event, see ``sentry.capture.k8saudit``)
and ``event.ts``. As in Falco, every value is a string: JSON strings as they are, other
JSON values in compact form with sorted keys (``true``, ``201``, ``{"a":1}``). Fields that
walk an array (containers, volumes, role rules ...) yield a ``list`` of such strings, a
missing value yields ``None``. Fields with an index (``ka.req.pod.containers.image[0]``)
keep only that item.
"""

from __future__ import annotations

import fnmatch
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from sentry.capture.k8saudit import AuditEvent
from sentry.errors import FieldArgumentError
from sentry.fields.registry import ArgKind, Extractor, FieldType, register

SOURCE = "k8s_audit"
_MISSING = object()

S = FieldType.STRING
L = FieldType.LIST


def as_string(value: Any) -> str:
    """A JSON value the way Falco prints it: strings raw, the rest compact JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """RFC 6901 JSON pointer to path tokens (``~1`` is ``/``, ``~0`` is ``~``)."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise FieldArgumentError(f"'{pointer}' is not a JSON pointer (must start with '/')")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))


def walk(obj: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` inside ``obj``, or ``_MISSING``."""
    for token in path:
        if isinstance(obj, dict):
            obj = obj.get(token, _MISSING)
            if obj is _MISSING:
                return _MISSING
        elif isinstance(obj, list) and token.isdigit() and int(token) < len(obj):
            obj = obj[int(token)]
        else:
            return _MISSING
    return obj


def _pick(values: list[str] | None, index: str | None) -> Any:
    """Apply an optional numeric index to a multi-valued result."""
    if values is None:
        return None
    if index is None:
        return values
    i = int(index)
    return values[i] if 0 <= i < len(values) else None


def _memo(key: str, fn: Extractor) -> Extractor:
    """Extract once per event: rules test the same few fields (stage, verb, resource) over
    and over, so the value is kept in the event's ``cache``."""

    def extract(evt: AuditEvent) -> Any:
        cache = evt.cache
        value = cache.get(key, _MISSING)
        if value is _MISSING:
            value = cache[key] = fn(evt)
        return value

    return extract


# -- field builders -------------------------------------------------------------------------


def _single(name: str, pointer: str, desc: str) -> None:
    """A field read at one JSON pointer: one string (an array there gives a list)."""
    path = parse_pointer(pointer)

    def make(_arg: str | None) -> Extractor:
        def extract(evt: AuditEvent) -> Any:
            value = walk(evt.obj, path)
            if value is _MISSING or value is None:
                return None
            if isinstance(value, list):
                return [as_string(v) for v in value]
            return as_string(value)

        return _memo(name, extract)

    register(name, S, desc, source=SOURCE)(make)


def _per_item(name: str, array: str, inner: str, desc: str) -> None:
    """A field read at ``inner`` inside each item of the array at ``array``; indexable."""
    outer_path, inner_path = parse_pointer(array), parse_pointer(inner)

    def make(arg: str | None) -> Extractor:
        def extract(evt: AuditEvent) -> Any:
            items = walk(evt.obj, outer_path)
            if not isinstance(items, list):
                return None
            out: list[str] = []
            for item in items:
                value = walk(item, inner_path)
                if value is _MISSING or value is None:
                    continue
                if isinstance(value, list):
                    out.extend(as_string(v) for v in value)
                else:
                    out.append(as_string(value))
            return _pick(out, arg)

        return _memo(f"{name}[{arg}]", extract)

    register(name, L, desc, arg=ArgKind.INDEX, source=SOURCE)(make)


def _computed(
    name: str,
    type: FieldType,
    desc: str,
    fn: Callable[[dict[str, Any], str | None], Any],
    arg: ArgKind = ArgKind.NONE,
) -> None:
    """A field computed from the whole object (and the argument, if any)."""

    def make(a: str | None) -> Extractor:
        return _memo(f"{name}[{a}]", lambda evt: fn(evt.obj, a))

    register(name, type, desc, arg=arg, source=SOURCE)(make)


# -- jevt.* ---------------------------------------------------------------------------------


@register(
    "jevt.rawtime",
    FieldType.INT,
    "absolute event timestamp, i.e. nanoseconds from epoch",
    source=SOURCE,
)
def _jevt_rawtime(_arg: str | None) -> Extractor:
    return lambda evt: evt.ts


@register(
    "jevt.time",
    S,
    "json event timestamp as a string that includes the nanosecond part",
    source=SOURCE,
)
def _jevt_time(_arg: str | None) -> Extractor:
    def extract(evt: AuditEvent) -> str:
        secs, ns = divmod(evt.ts, 1_000_000_000)
        return time.strftime("%H:%M:%S", time.localtime(secs)) + f".{ns:09d}"

    return extract


@register(
    "jevt.time.iso8601", S, "json event timestamp in ISO 8601 format (UTC), with ns", source=SOURCE
)
def _jevt_time_iso(_arg: str | None) -> Extractor:
    def extract(evt: AuditEvent) -> str:
        secs, ns = divmod(evt.ts, 1_000_000_000)
        stamp = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{stamp}.{ns:09d}Z"

    return extract


@register(
    "jevt.value",
    S,
    "one property of the json object by JSON pointer, e.g. "
    "jevt.value[/user/username], returned as a string",
    arg=ArgKind.KEY,
    source=SOURCE,
)
def _jevt_value(arg: str | None) -> Extractor:
    path = parse_pointer(arg or "")

    def extract(evt: AuditEvent) -> str | None:
        value = walk(evt.obj, path)
        return None if value is _MISSING else as_string(value)

    return _memo(f"jevt.value[{arg}]", extract)


@register("jevt.obj", S, "the entire json object, stringified", source=SOURCE)
def _jevt_obj(_arg: str | None) -> Extractor:
    def extract(evt: AuditEvent) -> str:
        dumped = evt.cache.get("obj")
        if dumped is None:
            dumped = evt.cache["obj"] = as_string(evt.obj)
        return dumped

    return extract


# -- ka.*: request metadata -----------------------------------------------------------------

_single("ka.auditid", "/auditID", "the unique id of the audit event")
_single("ka.stage", "/stage", "stage of the request (RequestReceived, ResponseComplete, ...)")
_single(
    "ka.auth.decision", "/annotations/authorization.k8s.io~1decision", "the authorization decision"
)
_single("ka.auth.reason", "/annotations/authorization.k8s.io~1reason", "the authorization reason")
_single("ka.user.name", "/user/username", "the user name performing the request")
_single("ka.impuser.name", "/impersonatedUser/username", "the impersonated user name")
_single("ka.verb", "/verb", "the action being performed")
_single("ka.uri", "/requestURI", "the request URI as sent from client to server")
_single("ka.target.name", "/objectRef/name", "the target object name")
_single("ka.target.namespace", "/objectRef/namespace", "the target object namespace")
_single("ka.target.resource", "/objectRef/resource", "the target object resource")
_single("ka.target.subresource", "/objectRef/subresource", "the target object subresource")
_single(
    "ka.req.binding.role",
    "/requestObject/roleRef/name",
    "when the request object is a (cluster) role binding, the role being linked",
)
_single("ka.req.configmap.name", "/objectRef/name", "for a configmap, its name")
_single("ka.req.configmap.obj", "/requestObject/data", "for a configmap, the whole data object")
_single("ka.req.pod.host_ipc", "/requestObject/spec/hostIPC", "for a pod, the hostIPC flag")
_single(
    "ka.req.pod.host_network", "/requestObject/spec/hostNetwork", "for a pod, the hostNetwork flag"
)
_single(
    "ka.req.container.host_network",
    "/requestObject/spec/hostNetwork",
    "deprecated alias of ka.req.pod.host_network",
)
_single("ka.req.pod.host_pid", "/requestObject/spec/hostPID", "for a pod, the hostPID flag")
_single(
    "ka.req.pod.run_as_user",
    "/requestObject/spec/securityContext/runAsUser",
    "for a pod, the runAsUser of the pod security context",
)
_single(
    "ka.req.pod.run_as_group",
    "/requestObject/spec/securityContext/runAsGroup",
    "for a pod, the runAsGroup of the pod security context",
)
_single(
    "ka.req.pod.fs_group",
    "/requestObject/spec/securityContext/fsGroup",
    "for a pod, the fsGroup of the pod security context",
)
_single("ka.req.service.type", "/requestObject/spec/type", "for a service, the service type")
_single("ka.resp.name", "/responseObject/metadata/name", "the response object name")
_single("ka.response.code", "/responseStatus/code", "the response code")
_single("ka.response.reason", "/responseStatus/reason", "the response reason (failures)")
_single("ka.useragent", "/userAgent", "the user agent of the client calling the API server")


def _whole_list(name: str, pointer: str, desc: str) -> None:
    """An array-valued property: each item as one string; indexable."""
    path = parse_pointer(pointer)

    def make(arg: str | None) -> Extractor:
        def extract(evt: AuditEvent) -> Any:
            value = walk(evt.obj, path)
            if value is _MISSING or value is None:
                return None
            values = (
                [as_string(v) for v in value] if isinstance(value, list) else [as_string(value)]
            )
            return _pick(values, arg)

        return _memo(f"{name}[{arg}]", extract)

    register(name, L, desc, arg=ArgKind.INDEX, source=SOURCE)(make)


_whole_list("ka.user.groups", "/user/groups", "the groups the user belongs to")
_whole_list(
    "ka.sourceips",
    "/sourceIPs",
    "the IP addresses of the client calling the API server (today's k8saudit plugin)",
)
_whole_list(
    "ka.req.binding.subjects",
    "/requestObject/subjects",
    "for a (cluster) role binding, the subjects (accounts, users) being linked",
)
_whole_list(
    "ka.req.role.rules", "/requestObject/rules", "for a role/cluster role, the rules of the role"
)
_whole_list("ka.req.service.ports", "/requestObject/spec/ports", "for a service, its ports")
_whole_list(
    "ka.req.pod.supplemental_groups",
    "/requestObject/spec/securityContext/supplementalGroups",
    "for a pod, the supplementalGroups gids of the security context",
)


def _uri_param(obj: dict[str, Any], key: str | None) -> str | None:
    uri = obj.get("requestURI")
    if not isinstance(uri, str) or "?" not in uri:
        return None
    for part in uri.split("?", 1)[1].split("&"):
        name, sep, value = part.partition("=")
        if sep and urllib.parse.unquote_plus(name) == key:
            return value
    return None


_computed(
    "ka.uri.param",
    S,
    "the value of a query parameter of the uri (ka.uri.param[key] is val when uri=/foo?key=val)",
    _uri_param,
    ArgKind.KEY,
)


def _has_subject(obj: dict[str, Any], name: str | None) -> str:
    subjects = walk(obj, ("requestObject", "subjects"))
    if isinstance(subjects, list):
        for subject in subjects:
            if isinstance(subject, dict) and subject.get("name") == name:
                return "true"
    return "false"


_computed(
    "ka.req.binding.subject.has_name",
    S,
    "for a (cluster) role binding, true if a subject with the given name exists",
    _has_subject,
    ArgKind.KEY,
)

# -- ka.*: pod specs -----------------------------------------------------------------------

_VOLUMES = "/requestObject/spec/volumes"


def image_repository(image: str) -> str:
    """The image without its tag and digest: ``gcr.io/a/b:v1@sha256:..`` -> ``gcr.io/a/b``."""
    image = image.split("@", 1)[0]
    colon = image.rfind(":")
    if colon > image.rfind("/"):
        image = image[:colon]
    return image


def _images(
    repository: bool,
    first_only: bool = False,
) -> Callable[[dict[str, Any], str | None], Any]:
    def extract(obj: dict[str, Any], arg: str | None) -> Any:
        if first_only and arg is None:
            arg = "0"
        containers = walk(obj, ("requestObject", "spec", "containers"))
        if not isinstance(containers, list):
            return None
        out = []
        for c in containers:
            image = c.get("image") if isinstance(c, dict) else None
            if isinstance(image, str):
                out.append(image_repository(image) if repository else image)
        return _pick(out, arg)

    return extract


# The names before ka.req.pod.*: one value, the first container's (unless indexed).
for _name, _repo in (
    ("ka.req.container.image", False),
    ("ka.req.container.image.repository", True),
):
    _computed(
        _name,
        S,
        "deprecated by ka.req.pod.containers.image"
        + (".repository" if _repo else "")
        + ": the first container's image"
        + (" (repository part only)" if _repo else ""),
        _images(_repo, first_only=True),
        ArgKind.INDEX,
    )

_per_item(
    "ka.req.pod.volumes.hostpath",
    _VOLUMES,
    "/hostPath/path",
    "for a pod, the hostPath paths of all volumes",
)
_per_item(
    "ka.req.pod.volumes.flexvolume_driver",
    _VOLUMES,
    "/flexVolume/driver",
    "for a pod, the flexVolume drivers of all volumes",
)


def _any_privileged(obj: dict[str, Any], arg: str | None) -> str | None:
    containers = walk(obj, ("requestObject", "spec", "containers"))
    if not isinstance(containers, list):
        return None
    if arg is not None:
        i = int(arg)
        containers = containers[i : i + 1]
    flags = [walk(c, ("securityContext", "privileged")) for c in containers]
    return "true" if any(f is True for f in flags) else "false"


_computed(
    "ka.req.container.privileged",
    S,
    "for a pod, true if any container (or the indexed one) runs privileged",
    _any_privileged,
    ArgKind.INDEX,
)


def _volume_types(obj: dict[str, Any], arg: str | None) -> Any:
    volumes = walk(obj, ("requestObject", "spec", "volumes"))
    if not isinstance(volumes, list):
        return None
    out = [k for v in volumes if isinstance(v, dict) for k in v if k != "name"]
    return _pick(out, arg)


_computed(
    "ka.req.pod.volumes.volume_type",
    L,
    "for a pod, the type of every volume",
    _volume_types,
    ArgKind.INDEX,
)


def _hostpath_mounted(obj: dict[str, Any], pattern: str | None) -> str | None:
    volumes = walk(obj, ("requestObject", "spec", "volumes"))
    if not isinstance(volumes, list):
        return None
    for vol in volumes:
        path = walk(vol, ("hostPath", "path"))
        if isinstance(path, str) and fnmatch.fnmatchcase(path, pattern or ""):
            return "true"
    return "false"


_computed(
    "ka.req.volume.hostpath",
    S,
    "true if a hostPath volume mounts a path matching the "
    "argument (a glob: ka.req.volume.hostpath[/proc*])",
    _hostpath_mounted,
    ArgKind.KEY,
)


def _rule_attr(prop: str) -> Callable[[dict[str, Any], str | None], Any]:
    def extract(obj: dict[str, Any], arg: str | None) -> Any:
        rules = walk(obj, ("requestObject", "rules"))
        if not isinstance(rules, list):
            return None
        out = [
            as_string(item)
            for rule in rules
            if isinstance(rule, dict)
            for item in (rule.get(prop) or [])
        ]
        return _pick(out, arg)

    return extract


for _prop in ("apiGroups", "nonResourceURLs", "verbs", "resources"):
    _computed(
        f"ka.req.role.rules.{_prop}",
        L,
        f"for a role/cluster role, the {_prop} of its rules",
        _rule_attr(_prop),
        ArgKind.INDEX,
    )
