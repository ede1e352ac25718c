"""Capture the real /proc/PID/cgroup of a process in a container of each runtime started by
scripts/runtimes.sh, into tests/unit/inspect/fixtures/cgroups/ (texts and expected.json).

    python3 tests/runtimes_smoke/capture_cgroups.py   (as root, runtimes started)
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import runtimes as rt

OUT = Path(__file__).resolve().parent.parent / "unit" / "inspect" / "fixtures" / "cgroups"


def main() -> None:
    # Entries captured by hand (rootless podman, see the README) are kept.
    expected: dict[str, dict[str, str]] = json.loads((OUT / "expected.json").read_text())

    def save(name: str, pid: int, full_id: str, runtime: str, **extra: str) -> None:
        (OUT / f"{name}.txt").write_text(rt.proc_cgroup(pid))
        expected[name] = {"full_id": full_id, "id": full_id[:12], "runtime": runtime, **extra}

    tag = uuid.uuid4().hex[:6]
    with rt.docker_container(f"cap-{tag}") as c:
        save("docker-cgroupfs", c.pid(), c.id, "docker")
    with rt.podman_container(f"cap-{tag}") as c:
        save("podman-root-cgroupfs", c.pid(), c.id, "podman")
    uid = str(uuid.uuid4())
    with rt.cri_pod(rt.kube_pod_name(), "default", uid) as pod:
        save("containerd-cri-cgroupfs", pod.pid(), pod.container_id, "containerd",
             pod_uid=uid, sandbox_id=pod.sandbox_id)  # fmt: skip
    # A 64-hex id, as nerdctl gives its containers (ctr takes any name).
    c2 = rt.ctr_run(uuid.uuid4().hex + uuid.uuid4().hex)
    try:
        save("containerd-ctr-default", c2.pid(), c2.id, "containerd", namespace="default")
    finally:
        c2.remove()
    (OUT / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    print(json.dumps(expected, indent=2))


if __name__ == "__main__":
    main()
