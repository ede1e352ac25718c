"""k8s.ns.name / k8s.pod.name / k8s.pod.id: read from the pod labels of the event's container."""

from __future__ import annotations

from pathlib import Path

from default_rules.story_runner import write_story
from sentry.capture.scapreader import ScapReader
from sentry.fields.registry import resolve
from sentry.inspect.containers import ContainerInfo
from sentry.inspect.inspector import Inspector
from sentry.rules.story import O_RDONLY, Story, container_id

POD = container_id("pod")
FIELDS = ("k8s.ns.name", "k8s.pod.name", "k8s.pod.id")


def _values_per_process(tmp_path: Path, labels: dict[str, str] | None) -> dict[str, tuple]:
    story = Story()
    for comm, container in (("in-pod", POD), ("on-host", None)):
        p = story.proc(comm, container=container)
        story.open(p, "/etc/hostname", O_RDONLY)
    reader = ScapReader(write_story(story, tmp_path / "k8s.scap"))
    inspector = Inspector.from_capture(reader)
    if labels is not None:
        inspector.containers.update(ContainerInfo(POD[:12], type="containerd", labels=labels))
    fields = [resolve(name) for name in FIELDS]
    seen = {}
    for batch in reader.batches():
        for ev in batch:
            inspector.process(ev)
            seen[ev.thread.comm] = tuple(f.extract(ev) for f in fields)
    return seen


def test_pod_labels_give_namespace_pod_name_and_uid(tmp_path: Path) -> None:
    labels = {
        "io.kubernetes.pod.namespace": "payments",
        "io.kubernetes.pod.name": "api-7d9f",
        "io.kubernetes.pod.uid": "0b5c-11ee",
    }
    seen = _values_per_process(tmp_path, labels)
    assert seen["in-pod"] == ("payments", "api-7d9f", "0b5c-11ee")
    assert seen["on-host"] == (None, None, None)


def test_not_available_until_the_runtime_reports_the_container(tmp_path: Path) -> None:
    assert _values_per_process(tmp_path, None)["in-pod"] == (None, None, None)
