"""``sentry capture``'s state-only records feed state but no rule (issue 12: they were matched).

``sentry capture -w OUT -e TRACE 'evt.type=fstat'`` keeps the fstat events and flags the
opens and closes "state only" (sysdig's fatfile mode). Read back by ``sentry run``, a rule
on the open exits must stay silent, while the fstat rule still names each file: the
inspector learnt the fds from the flagged opens.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conformance_data import FALCO_DIR
from sentry.capture.scapreader import ScapReader

TRACE = FALCO_DIR / "test" / "trace_files" / "open-multiple-files.scap"

RULES = """\
- rule: opened
  desc: d
  condition: evt.type=open and evt.dir=<
  output: 'opened %fd.name'
  priority: WARNING
- rule: fstat
  desc: d
  condition: evt.type=fstat and evt.dir=<
  output: 'fstat %fd.name'
  priority: WARNING
"""

# Under CI (which installs the conformance data) a missing trace fails the tests instead.
pytestmark = pytest.mark.skipif(
    not TRACE.exists() and not os.environ.get("CI"), reason=f"no Falco trace at {TRACE}"
)


def alerts(rules: Path, capture: Path) -> list[str]:
    """The alert texts (after the priority) of ``sentry run -A`` on ``capture``."""
    done = subprocess.run(
        ["sentry", "run", "-r", str(rules), "-e", str(capture), "-A"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split(": Warning ", 1)[1] for line in done.stdout.splitlines()]


def test_state_only_records_of_sentry_capture_match_no_rule(tmp_path: Path) -> None:
    fat = tmp_path / "fat.scap"
    subprocess.run(
        ["sentry", "capture", "-w", str(fat), "-e", str(TRACE), "evt.type=fstat"],
        capture_output=True,
        check=True,
    )
    flagged = [ev.info.name for ev in ScapReader(fat) if ev.state_only]
    assert "open" in flagged and "close" in flagged  # the opens are in the file, flagged
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES)

    original = alerts(rules, TRACE)
    opened = [a for a in original if a.startswith("opened ")]
    assert len(opened) > 5  # the rule does fire on the trace itself

    assert alerts(rules, fat) == [a for a in original if a.startswith("fstat ")]
    assert all(a != "fstat <NA>" for a in alerts(rules, fat))  # fds known from the opens
