"""Run rules on a :class:`~sentry.rules.story.Story`, written as a scap capture by the
product's :mod:`sentry.rules.storywriter` (the code ``sentry rules test`` uses)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentry.capture.scapreader import ScapReader
from sentry.rules.story import Story
from sentry.rules.storywriter import write_story

__all__ = ["fired_rules", "run_cli_json", "write_story"]


@functools.cache
def _engine_rules(rules: tuple[Path, ...]) -> Any:
    from sentry.cli.run import output_compiler
    from sentry.pipeline import load_ruleset

    ruleset, defs = load_ruleset(list(rules), output_compiler=output_compiler())
    defs.raise_errors()
    return ruleset


def fired_rules(story: Story, tmp_path: Path, rules: Sequence[Path]) -> list[str]:
    """Names of the rules that alert on ``story`` (one entry per alert, in order).

    The library path of ``sentry run -r RULES -e CAPTURE``: reader, inspector, engine.
    """
    from sentry.inspect.inspector import Inspector
    from sentry.pipeline import Pipeline

    capture = write_story(story, tmp_path / "story.scap")
    fired: list[str] = []
    pipeline = Pipeline(_engine_rules(tuple(rules)), lambda alert: fired.append(alert.rule))
    reader = ScapReader(capture)
    try:
        pipeline.run(reader, Inspector.from_capture(reader))
    finally:
        reader.close()
    return fired


def run_cli_json(story: Story, tmp_path: Path, rules: Sequence[Path]) -> list[dict[str, Any]]:
    """Run ``sentry run -r RULES... -e CAPTURE --json`` and parse its alerts."""
    capture = write_story(story, tmp_path / "story.scap")
    cmd = [
        sys.executable,
        "-c",
        "from sentry.cli.main import main; main()",
        "run",
        "--json",
        "-e",
        str(capture),
    ]
    for r in rules:
        cmd += ["-r", str(r)]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"TZ": "UTC"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
