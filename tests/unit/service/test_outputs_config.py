"""Outputs as configured, end to end: ``sentry run -e`` with every channel enabled by ``-o``
sends each alert to stdout, a file, a program's stdin and a syslog socket the test binds."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sentry.errors import ConfigError
from sentry.service.config import load_config
from sentry.service.outputsetup import build_channels

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
RULES = Path(__file__).resolve().parents[3] / "rules" / "k8s_audit_rules.yaml"


def test_every_channel_gets_every_alert(trace_dir: Path, tmp_path: Path) -> None:
    log_path = str(tmp_path / "log.sock")
    syslog = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    syslog.bind(log_path)
    syslog.settimeout(30)
    file_out, program_out = tmp_path / "file.txt", tmp_path / "program.txt"
    try:
        proc = subprocess.run(
            [
                *SENTRY,
                "run",
                "-r",
                str(RULES),
                "-e",
                str(trace_dir / "k8s_audit" / "create_configmap_sensitive_values.json"),
                "-o",
                "json_output=true",
                "-o",
                "file_output.enabled=true",
                "-o",
                f"file_output.filename={file_out}",
                "-o",
                "program_output.enabled=true",
                "-o",
                "program_output.keep_alive=true",
                "-o",
                f"program_output.program=cat > {program_out}",
                "-o",
                "syslog_output.enabled=true",
                "-o",
                f"syslog_output.socket={log_path}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        stdout = [json.loads(line) for line in proc.stdout.splitlines()]
        datagrams = [syslog.recv(65536).decode() for _ in stdout]
    finally:
        syslog.close()
    assert len(stdout) == 6
    assert {a["rule"] for a in stdout} == {"K8s ConfigMap Holds Credentials"}
    assert [json.loads(line) for line in file_out.read_text().splitlines()] == stdout
    assert [json.loads(line) for line in program_out.read_text().splitlines()] == stdout
    # <12> = facility user (1) * 8 + severity warning (4); the message is the JSON alert.
    assert all(d.startswith("<12>") for d in datagrams)
    assert [json.loads(d.split("]: ", 1)[1]) for d in datagrams] == stdout


def test_bad_channel_settings_are_config_errors() -> None:
    cfg = load_config(None, ["http_output.enabled=true", "http_output.url=ftp://x"])
    with pytest.raises(ConfigError, match="http"):
        build_channels(cfg)
    cfg = load_config(None, ["program_output.enabled=true", "program_output.program="])
    with pytest.raises(ConfigError, match="program"):
        build_channels(cfg)
    cfg = load_config(None, ["syslog_output.enabled=true", "syslog_output.facility=nope"])
    with pytest.raises(ConfigError, match="facility"):
        build_channels(cfg)
