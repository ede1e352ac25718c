"""``sentry run --explain`` and ``sentry tail --explain RULE``: the clause, macro, list or
exception that decided, with the fields' values, through the real CLI on real captures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sentry.rules.story import O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, Story
from sentry.rules.storywriter import write_story

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
W = O_WRONLY | O_CREAT | O_TRUNC
RULES = """\
- list: editors
  items: [vi, nano]
- macro: writing
  condition: evt.type in (open, openat) and evt.dir=< and evt.is_open_write=true
- rule: Editor Writes Etc
  desc: an editor writes below /etc
  condition: writing and proc.name in (editors) and fd.name startswith /etc/
  output: "%proc.name wrote %fd.name"
  priority: warning
  exceptions:
    - name: motd_by_root
      fields: [fd.name, user.name]
      values: [[/etc/motd, root]]
"""


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    s = Story()
    vi = s.lineage("bash", "vi")
    cat = s.proc("cat", parent=vi)
    s.open(vi, "/etc/hosts", W)  # evt.num 2: alert
    s.open(vi, "/etc/motd", W)  # 4: the exception
    s.open(cat, "/etc/hosts", W)  # 6: not an editor
    s.open(vi, "/etc/hosts", O_RDONLY)  # 8: not writing
    s.connect(vi, "203.0.113.9", 443)  # not of the rule's types: not shown
    return rules, write_story(s, tmp_path / "editors.scap")


def sentry(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SENTRY, *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


def nodes(tree: dict[str, Any]) -> list[dict[str, Any]]:
    out = [tree]
    for child in tree.get("children", []):
        out += nodes(child)
    return out


def test_run_explain_prints_each_clause_with_its_value(files) -> None:
    rules, capture = files
    done = sentry("run", "--explain", "-r", rules, "-e", capture)
    assert done.returncode == 0, done.stderr
    alert, *tree = done.stdout.splitlines()
    assert alert.endswith("Warning vi wrote /etc/hosts")
    assert tree[0] == "    ✓ macro writing"
    assert "      ✓ evt.is_open_write = true  (evt.is_open_write=True)" in tree
    assert "    ✓ proc.name in (editors)  (proc.name=vi, vi in list editors)" in tree
    assert "    ✓ fd.name startswith /etc/  (fd.name=/etc/hosts)" in tree
    assert any(line.startswith("    ✓ not exception motd_by_root") for line in tree)
    assert len(tree) <= 12  # short enough for a terminal


def test_run_explain_json_carries_the_tree(files) -> None:
    rules, capture = files
    done = sentry("run", "--explain", "--json", "-r", rules, "-e", capture)
    alert = json.loads(done.stdout.splitlines()[0])
    assert list(alert) == sorted(alert)  # "explain" in name order with Falco's keys
    tree = alert["explain"]
    assert tree["value"] is True and tree["kind"] == "and"
    every = nodes(tree)
    editors = next(n for n in every if n["clause"] == "proc.name in (editors)")
    assert editors["fields"] == {"proc.name": "vi"} and editors["via"] == "vi in list editors"
    exception = next(n for n in every if n["kind"] == "exception")
    assert exception["clause"] == "motd_by_root" and exception["value"] is False
    plain = json.loads(sentry("run", "--json", "-r", rules, "-e", capture).stdout)
    assert "explain" not in plain


def test_tail_explain_names_the_one_clause_each_near_miss_failed(files) -> None:
    rules, capture = files
    done = sentry("tail", "--explain", "Editor Writes Etc", "-r", rules, "-e", capture)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    rule = "'Editor Writes Etc'"
    assert lines[0] == f"2 vi ({4210}) openat: matches {rule}"
    assert lines[1] == (
        f"4 vi (4210) openat: near miss of {rule}: failed not exception motd_by_root"
    )
    exception = lines[2:4]
    assert "✓ fd.name = /etc/motd  (fd.name=/etc/motd)" in exception[0] + exception[1]
    assert "✓ user.name = root  (user.name=root)" in exception[0] + exception[1]
    assert (
        f"6 cat (4220) openat: near miss of {rule}: failed proc.name in (editors)  (proc.name=cat)"
    ) in lines
    i = lines.index(f"8 vi (4210) openat: near miss of {rule}: failed macro writing")
    assert "✗ evt.is_open_write = true  (evt.is_open_write=False) <- decided" in lines[i + 3]
    assert not any("connect" in line for line in lines)
    assert "3 near misses, 1 match" in done.stderr

    as_json = [
        json.loads(x)
        for x in sentry(
            "tail", "--explain", "Editor Writes Etc", "-r", rules, "-e", capture, "--json"
        ).stdout.split("\n")
        if x
    ]
    assert [d["result"] for d in as_json] == ["match"] + ["near miss"] * 3
    assert as_json[2]["failed"]["fields"] == {"proc.name": "cat"}


def test_tail_explain_unknown_rule_is_a_clear_error(files) -> None:
    rules, capture = files
    done = sentry("tail", "--explain", "Editor Writes", "-r", rules, "-e", capture)
    assert done.returncode == 1
    assert "no syscall rule named 'Editor Writes'" in done.stderr
    assert "did you mean: 'Editor Writes Etc'" in done.stderr
    assert "Traceback" not in done.stderr
