"""``sentry rules list --syscalls``: which syscalls each rule and the state tracking need,
and the interest set a live driver gets (their union)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
RULES = """\
- rule: shadow read
  desc: d
  condition: evt.type in (open, openat) and fd.name=/etc/shadow
  output: "%fd.name"
  priority: warning
- rule: namespace change
  desc: d
  condition: evt.type=setns and proc.name=nsenter
  output: "%proc.name"
  priority: notice
- rule: ptrace watch
  desc: d
  condition: evt.type=ptrace
  output: x
  priority: notice
  enabled: false
"""


def listing(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "r.yaml"
    path.write_text(RULES)
    out = subprocess.run(
        [*SENTRY, "rules", "list", "--syscalls", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("\t", 1) for line in out.splitlines())


def test_each_rule_its_syscalls_and_the_interest_set_their_union(tmp_path: Path) -> None:
    lines = listing(tmp_path)
    assert lines["shadow read"] == "syscalls=open,openat"
    assert lines["namespace change"] == "syscalls=setns"  # a generic event, by syscall name
    assert "ptrace watch" not in lines  # disabled rules add nothing to the interest set
    state = set(lines["(state)"].removeprefix("syscalls=").split(","))
    assert {"clone", "execve", "close", "connect", "dup2", "chdir"} <= state
    count, names = lines["(interest set)"].split(" syscalls: ")
    interest = set(names.split(","))
    assert interest == state | {"open", "openat", "setns"}
    assert int(count) == len(interest)
    assert "ptrace" not in interest and "read" not in interest
