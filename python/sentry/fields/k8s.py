"""``k8s.*`` fields of syscall events: the Kubernetes pod and namespace of the event's container.

Container runtimes label a pod's containers with the pod's name, namespace and uid (the
``io.kubernetes.pod.*`` labels the kubelet sets through CRI); the container table holds those
labels once a runtime resolver has filled them in. Until then, and outside pods, the fields
are not available (``<NA>``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sentry.fields.container import container_field
from sentry.fields.registry import FieldType, register_simple

POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
POD_UID_LABEL = "io.kubernetes.pod.uid"


def _label(key: str) -> Callable[[Any], str | None]:
    return container_field(lambda info: info.labels.get(key))


register_simple("k8s.ns.name", FieldType.STRING, "Kubernetes namespace of the event's pod",
                _label(POD_NAMESPACE_LABEL))
register_simple("k8s.pod.name", FieldType.STRING, "name of the Kubernetes pod",
                _label(POD_NAME_LABEL))
register_simple("k8s.pod.id", FieldType.STRING, "uid of the Kubernetes pod",
                _label(POD_UID_LABEL))
