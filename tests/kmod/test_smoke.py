"""The module loads, its devices map, and a child's open/close reach Python decoded."""

from __future__ import annotations

import os
import subprocess

from kmod_helpers import capture


def test_child_openat_and_close_are_captured(tmp_path, python):
    target = tmp_path / "smoke.txt"
    code = (
        f"import os; fd = os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT, 0o600)\nos.close(fd)"
    )
    trace = capture([python, "-c", code])
    opens = trace.find("openat", "<", name=str(target))
    assert len(opens) == 1
    fd = opens[0].param_by_name("fd")
    assert fd >= 0
    assert opens[0].param_by_name("mode") == 0o600
    closes = [e for e in trace.find("close", ">", fd=fd) if e.tid == opens[0].tid]
    assert closes
    assert trace.stats.drops_bug == 0
    assert os.path.exists(target)


def test_driver_status_reports_the_loaded_module(python):
    out = subprocess.run(
        [python, "-c", "from sentry.cli.main import main; main()", "driver", "status"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "kernel module: loaded" in out
    assert "/dev/sentry0" in out
    assert "api version: 1" in out
