"""Bad input of each new kind through the real ``sentry rules validate`` and ``sentry run``:
a FILE:LINE message and exit status 1, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]

BASE = """\
- rule: r
  desc: d
  condition: evt.type=open
  output: o
  priority: info
"""


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("- required_engine_version: 0.99.0\n", 1, "require engine version 0.99.0"),
        (
            "- required_plugin_versions:\n    - name: okta\n      version: 0.1.0\n",
            2,
            "rules require plugin 'okta' 0.1.0, which Sentry does not have",
        ),
        (
            BASE + "- rule: r\n  priority: error\n  override: {priority: append}\n",
            8,
            "key 'priority' cannot be appended to",
        ),
        (
            BASE
            + "- rule: r\n  exceptions:\n    - name: new\n      values: [[x]]\n  append: true\n",
            8,
            "a new exception must have 'fields'",
        ),
        (
            "- rule: ghost\n  condition: and x\n  override: {condition: append}\n",
            1,
            "no rule by that name exists yet",
        ),
    ],
)
def test_validate_says_where(tmp_path: Path, text: str, line: int, says: str) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text(text)
    res = subprocess.run(
        [*SENTRY, "rules", "validate", str(rules)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 1, res
    assert "Traceback" not in res.stderr + res.stdout
    assert f"{rules}:{line}: " in res.stderr and says in res.stderr, res.stderr


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["-o", "rules[0].enable.rule="], "enable takes one of {rule: NAME} or {tag: TAG}"),
        (["-o", "rule_matching=most"], "must be one of first, all"),
        (["-o", "nosuch=1"], "unknown key 'nosuch'"),
    ],
)
def test_run_refuses_bad_options_clearly(tmp_path: Path, options: list[str], says: str) -> None:
    res = subprocess.run(
        [*SENTRY, "run", *options, "-e", str(tmp_path / "none.scap")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode != 0
    assert "Traceback" not in res.stderr and says in res.stderr, res.stderr
