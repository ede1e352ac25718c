"""The tunings the noise suite (tests/detection/test_noise.py) asked for, story by story:
each everyday action that used to alert stays quiet, and the same action by a program that
only borrows the name (another path, another parent) still alerts.

Each rule's own firing and near-miss stories stay in scenarios.py; these are the extra
near misses of the tunings and their evasion counterparts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from default_rules.story_runner import fired_rules
from sentry.rules.story import (
    AT_EMPTY_PATH,
    CLONE_NEWNS,
    O_CREAT,
    O_RDONLY,
    O_TRUNC,
    O_WRONLY,
    Proc,
    Story,
    container_id,
)

RULES = Path(__file__).resolve().parents[3] / "rules" / "sentry_rules.yaml"
WRITE = O_WRONLY | O_CREAT | O_TRUNC
CTR = container_id("noise")


def _chain(
    *procs: tuple[str, str],
    container: str | None = None,
    uid: int = 0,
    act: Callable[[Story, Proc], None],
) -> Story:
    """Processes (comm, exe path), each the child of the one before; the last one acts."""
    s = Story()
    p: Proc | None = None
    for comm, exe in procs:
        p = s.proc(comm, parent=p, exe=exe, uid=uid, container=container if p is None else None)
    assert p is not None
    act(s, p)
    return s


RUNC = ("runc", "/usr/sbin/runc")
MOUNT = lambda s, p: s.mount(p, "proc", "/proc/self/fd/6", "proc")  # noqa: E731
UNSHARE = lambda s, p: s.unshare(p, CLONE_NEWNS)  # noqa: E731
SETNS = lambda s, p: s.setns(p)  # noqa: E731
REEXEC = lambda s, p: s.execveat(p, "", AT_EMPTY_PATH)  # noqa: E731


def _sock_to_stdin(s: Story, p: Proc) -> None:
    s.connect(p, "127.0.0.1", 22, fd=5)
    s.dup(p, 5, 0)


# (rule, quiet story, firing story)
CASES: list[tuple[str, Callable[[], Story], Callable[[], Story]]] = [
    (
        "File System Mounted In Container",
        lambda: _chain(RUNC, ("runc:[1:CHILD]", "/usr/sbin/runc"), container=CTR, act=MOUNT),
        lambda: _chain(
            ("sh", "/bin/sh"), ("runc:[1:CHILD]", "/usr/sbin/runc"), container=CTR, act=MOUNT
        ),
    ),
    (
        "File System Mounted In Container",
        lambda: _chain(RUNC, ("runc:[1:CHILD]", "/run/runc/abc/runc.x1"), container=CTR, act=MOUNT),
        lambda: _chain(RUNC, ("runc:[1:CHILD]", "/tmp/runc"), container=CTR, act=MOUNT),
    ),
    (
        "Namespace Unshared In Container",
        lambda: _chain(RUNC, ("runc:[0:PARENT]", "/usr/bin/runc"), container=CTR, act=UNSHARE),
        lambda: _chain(
            ("sh", "/bin/sh"), ("runc:[0:PARENT]", "/tmp/r"), container=CTR, act=UNSHARE
        ),
    ),
    (
        "Namespace Changed By Unexpected Program",
        lambda: _chain(
            ("bridge", "/usr/lib/cni/bridge"), ("bridge", "/usr/lib/cni/bridge"), act=SETNS
        ),
        lambda: _chain(("bash", "/bin/bash"), ("bridge", "/tmp/bridge"), act=SETNS),
    ),
    (
        "Namespace Changed By Unexpected Program",
        lambda: _chain(
            ("containerd", "/usr/bin/containerd"), ("runc", "/usr/sbin/runc"), act=SETNS
        ),
        lambda: _chain(("bash", "/bin/bash"), ("runc", "/tmp/runc"), act=SETNS),
    ),
    (
        "Program Run From File Descriptor",
        lambda: _chain(RUNC, ("exe", "/proc/self/exe"), act=REEXEC),
        lambda: _chain(("python3", "/usr/bin/python3"), ("exe", "/proc/self/exe"), act=REEXEC),
    ),
    (
        "File Written Below Etc",
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("podman", "/usr/bin/podman"),
            act=lambda s, p: s.open(p, "/etc/cni/net.d/87-podman.conflist", WRITE),
        ),
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("podman", "/tmp/podman"),
            act=lambda s, p: s.open(p, "/etc/cni/net.d/87-podman.conflist", WRITE),
        ),
    ),
    (
        "File Written Below Etc",
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("podman", "/usr/local/lib/podman"),
            act=lambda s, p: s.open(p, "/etc/cni/net.d/cni.lock", WRITE),
        ),
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("python3", "/usr/bin/python3"),
            act=lambda s, p: s.open(p, "/etc/cni/net.d/cni.lock", WRITE),
        ),
    ),
    (
        "Non-Root Process Set User To Root",
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("apt-get", "/usr/bin/apt-get"),
            uid=42,
            act=lambda s, p: s.setresuid(p, -1, 0, -1),
        ),
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("apt-get", "/tmp/apt-get"),
            uid=42,
            act=lambda s, p: s.setresuid(p, -1, 0, -1),
        ),
    ),
    (
        "Log File Deleted",
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("apt-get", "/usr/bin/apt-get"),
            act=lambda s, p: s.unlink(p, "/var/log/apt/eipp.log.xz"),
        ),
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("apt-get", "/usr/bin/apt-get"),
            act=lambda s, p: s.unlink(p, "/var/log/auth.log"),
        ),
    ),
    (
        "Password File Read By Unexpected Program",
        lambda: _chain(
            ("sh", "/bin/sh"),
            ("dpkg-preconfigu", "/usr/sbin/dpkg-preconfigure"),
            act=lambda s, p: s.open(p, "/etc/shadow", O_RDONLY),
        ),
        lambda: _chain(
            ("sh", "/bin/sh"),
            ("preconfigure", "/usr/sbin/dpkg-preconfigure"),
            act=lambda s, p: s.open(p, "/etc/shadow", O_RDONLY),
        ),
    ),
    (
        "Standard Stream Redirected To Socket",
        lambda: _chain(("sshd", "/usr/sbin/sshd"), ("sshd", "/usr/sbin/sshd"), act=_sock_to_stdin),
        lambda: _chain(("bash", "/bin/bash"), ("sshd", "/tmp/sshd"), act=_sock_to_stdin),
    ),
    (
        "File Written Below Root Or Root Home",
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("bash", "/bin/bash"),
            act=lambda s, p: s.open(p, "/root/.pyenv/shims/.pyenv-shim", WRITE),
        ),
        lambda: _chain(
            ("bash", "/bin/bash"),
            ("bash", "/bin/bash"),
            act=lambda s, p: s.open(p, "/root/.pyenv/shims/python3", WRITE),
        ),
    ),
]


@pytest.mark.parametrize(
    ("rule", "quiet", "fire"),
    CASES,
    ids=[f"{r.replace(' ', '_')}-{i}" for i, (r, _, _) in enumerate(CASES)],
)
def test_tuning_quiet_on_everyday_work_and_not_on_a_lookalike(
    rule: str, quiet: Callable[[], Story], fire: Callable[[], Story], tmp_path: Path
) -> None:
    assert rule not in fired_rules(quiet(), tmp_path, [RULES])
    assert rule in fired_rules(fire(), tmp_path, [RULES])


def test_program_run_from_temp_dir_by_relative_path_fires(tmp_path: Path) -> None:
    """./payload run from the cwd /tmp: argv[0] says "./payload", the path says /tmp."""
    s = Story()
    top = s.proc("bash", cwd="/tmp/")
    s.execve(top, "payload", exe="./payload", filename="/tmp/payload")
    assert "Program Run From Temporary Directory" in fired_rules(s, tmp_path, [RULES])
