"""``k8s.*`` fields of syscall events: the Kubernetes pod and namespace of the event's container.

The CRI resolver fills a container's pod from its sandbox (metadata, labels, IP); for
Docker and podman containers the pod comes from the ``io.kubernetes.pod.*`` labels the
kubelet sets on a pod's containers, as Falco reads them. The pod uid is also known from the
cgroup path alone (``kubepods...pod<uid>``) before any runtime answers. Outside pods, and
until then, the fields are not available (``<NA>``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sentry.fields.container import _labels_text, container_field
from sentry.fields.registry import ArgKind, Extractor, FieldType, register, register_simple
from sentry.inspect.containers import SHORT_ID_LEN, ContainerInfo

POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
POD_UID_LABEL = "io.kubernetes.pod.uid"
SANDBOX_ID_LABEL = "io.kubernetes.sandbox.id"


def _pod_value(attr: str, label: str | None) -> Callable[[ContainerInfo], Any]:
    def get(info: ContainerInfo) -> Any:
        pod = info.pod
        value = getattr(pod, attr) if pod is not None else None
        if value is None and label is not None:
            value = info.labels.get(label)
        return value

    return get


def _pod_labels(info: ContainerInfo) -> dict[str, str]:
    return info.pod.labels if info.pod is not None else {}


def _short(value: str | None) -> str | None:
    return None if value is None else value[:SHORT_ID_LEN]


S = FieldType.STRING
_sandbox = _pod_value("sandbox_id", SANDBOX_ID_LABEL)
register_simple(
    "k8s.ns.name",
    S,
    "Kubernetes namespace of the event's pod",
    container_field(_pod_value("namespace", POD_NAMESPACE_LABEL)),
)
register_simple(
    "k8s.pod.name",
    S,
    "name of the Kubernetes pod",
    container_field(_pod_value("name", POD_NAME_LABEL)),
)
register_simple(
    "k8s.pod.uid", S, "uid of the Kubernetes pod", container_field(_pod_value("uid", POD_UID_LABEL))
)
register_simple(
    "k8s.pod.id",
    S,
    "uid of the Kubernetes pod (legacy name of k8s.pod.uid)",
    container_field(_pod_value("uid", POD_UID_LABEL)),
)
register_simple(
    "k8s.pod.sandbox_id",
    S,
    "the pod sandbox's id (12 chars)",
    container_field(lambda c: _short(_sandbox(c))),
)
register_simple(
    "k8s.pod.full_sandbox_id", S, "the pod sandbox's whole id", container_field(_sandbox)
)
register_simple(
    "k8s.pod.labels",
    S,
    "the pod's labels, 'key:value, key:value'",
    container_field(lambda c: _labels_text(_pod_labels(c))),
)
register_simple("k8s.pod.ip", S, "the pod's IP address", container_field(_pod_value("ip", None)))


@register(
    "k8s.pod.label", S, "a pod label's value, k8s.pod.label[key]", arg=ArgKind.KEY, dotted_arg=True
)
def _pod_label(key: str | None) -> Extractor:
    assert key is not None
    return container_field(lambda c: _pod_labels(c).get(key))
