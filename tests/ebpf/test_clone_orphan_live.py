"""A child whose parent exits right after fork takes its parent's state, not pid 1's.

Through the probe: a program forks children that fork a grandchild and exit at once. The
grandchild's own clone exit often comes after its parent's procexit, with the kernel's
ptid already 1 (reparented); the inspector used to copy pid 1's state (env, exe path,
login uid ...) into it then. The caller's half of the clone names the creator.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from tests.live_capture import live_capture

from sentry.capture.scapreader import ScapReader
from sentry.inspect.inspector import Inspector

# Sentry's userspace over the live probe: the kernel matrix in qemu does not repeat it.
pytestmark = [pytest.mark.root, pytest.mark.userspace]

PROGRAM = r"""
#include <unistd.h>
int main(void) {
    for (int i = 0; i < 40; i++) {
        if (fork() == 0) {
            if (fork() != 0) _exit(0);  /* the grandchild's parent exits at once */
            usleep(20000);
            _exit(0);
        }
        usleep(30000);
    }
    usleep(100000);
    return 0;
}
"""


def test_orphaned_child_copies_its_parent_state(ebpf_source: object, tmp_path: Path) -> None:
    (tmp_path / "forkrace.c").write_text(PROGRAM)
    prog = tmp_path / "forkrace"
    subprocess.run(["gcc", "-O1", "-o", str(prog), str(tmp_path / "forkrace.c")], check=True)
    out = tmp_path / "fr.scap"
    with live_capture(out, "proc.name=forkrace"):
        time.sleep(1)
        subprocess.run([str(prog)], env=dict(os.environ, SENTRY_FORKRACE="1"), check=True)
        time.sleep(2)
    reader = ScapReader(out)
    inspector = Inspector.from_capture(reader)
    children = orphans = wrong = 0
    announced: set[int] = set()  # children whose caller's half came first
    for ev in reader:
        inspector.process(ev)
        if ev.info.name != "clone" or ev.info.direction != "<":
            continue
        th = ev.thread
        if th is None or th.comm != "forkrace":
            continue
        if ev.param_by_name("res") != 0:
            announced.add(ev.param_by_name("res"))
            continue
        children += 1
        if ev.tid not in announced:
            # the child's half came first in the merged stream; when its parent is already
            # gone by then (ptid 1), nothing names the creator yet (open: issue 15 report)
            continue
        orphans += ev.param_by_name("ptid") == 1
        if not any("SENTRY_FORKRACE=1" in str(e) for e in th.env or ()) or th.exepath != str(prog):
            wrong += 1
    assert children == 80, f"{children} child clone exits of 80"
    if not orphans:
        pytest.skip("no child's clone exit came after its parent's exit this run (a race)")
    assert wrong == 0, f"{wrong} of {children} children ({orphans} reparented) lack their state"
