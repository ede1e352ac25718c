"""Inside a container without the host's PID namespace, the starting state is read from the
host's /proc mounted under $HOST_ROOT (as the Helm chart mounts it), not the container's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
from sentry.inspect.inspector import Inspector
insp = Inspector.from_host()
print(len(list(insp.threads)), insp.proc_root)
"""


def test_starting_state_comes_from_the_hosts_proc(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        reason = "needs root and unshare (util-linux) for a private PID namespace"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    host = tmp_path / "host"
    (host / "proc").mkdir(parents=True)
    # A new mount and PID namespace whose own /proc shows only itself; the host's /proc is
    # bind-mounted under $HOST_ROOT before the private /proc is mounted over /proc.
    cmd = (
        f"mount --bind /proc {host}/proc && mount -t proc proc /proc && "
        f"HOST_ROOT={host} {sys.executable} -c '{SCRIPT}'; "
        f"{sys.executable} -c '{SCRIPT}'"
    )
    out = subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "sh", "-c", cmd],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    with_root, without = (line.split() for line in out.strip().splitlines())
    host_threads = sum(1 for _ in Path("/proc").glob("[0-9]*/task/[0-9]*"))
    assert with_root[1] == f"{host}/proc"
    assert int(with_root[0]) >= host_threads // 2  # the host's threads (some come and go)
    assert int(without[0]) < 10 and without[1] == "/proc"  # the namespace's own few
