"""deploy/systemd/sentry.service passes systemd-analyze verify (with the unit's
/usr/local/bin/sentry pointed at the sentry installed here) and says what it must: the
loader before the agent, SIGHUP on reload, a restart policy."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "sentry.service"


def _analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze missing (scripts/install.sh installs systemd)")
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    return tool


def _verify(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    sentry = shutil.which("sentry")
    assert sentry, "sentry is not on PATH"
    unit = tmp_path / "sentry.service"
    unit.write_text(text.replace("/usr/local/bin/sentry", sentry))
    return subprocess.run(
        [_analyze(), "verify", str(unit)], capture_output=True, text=True, timeout=120, check=False
    )


def test_unit_verifies(tmp_path: Path) -> None:
    done = _verify(UNIT.read_text(), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sentry.service" not in done.stderr, done.stderr  # no warning about our unit


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("/bin/kill", "/nonexistent/kill")
    done = _verify(broken, tmp_path)
    assert done.returncode != 0 and "/nonexistent/kill" in done.stderr


def test_unit_contents() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(UNIT.read_text())
    svc = unit["Service"]
    assert svc["ExecStartPre"] == "-/usr/local/bin/sentry driver load"
    assert svc["ExecStart"] == "/usr/local/bin/sentry run"
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert svc["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
