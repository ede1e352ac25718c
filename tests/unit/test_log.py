"""Sentry's own log lines: log_level filtering, stderr, and syslog through a real unix
datagram socket standing in for /dev/log."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentry.log import configure, log
from sentry.service.config import apply_log_settings, load_config


@pytest.fixture(autouse=True)
def default_log_settings() -> Iterator[None]:
    yield
    configure()  # the process-wide defaults again: info, stderr only


def listener(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10)  # a guard against hanging, not a measurement
    return sock


def test_log_level_filters_stderr_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure("warning")
    log("an info line", "info")
    log("a debug line", "debug")
    log("a warning line", "warning")
    log("an error line")  # no level: an error
    log("a critical line", "critical")
    assert capsys.readouterr().err.splitlines() == [
        "sentry: a warning line",
        "sentry: an error line",
        "sentry: a critical line",
    ]
    configure("debug")
    log("a debug line", "debug")
    assert capsys.readouterr().err == "sentry: a debug line\n"


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'verbose'"):
        configure("verbose")


def test_syslog_gets_lines_at_or_above_the_level(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "log.sock"
    sock = listener(path)
    try:
        configure("notice", stderr=False, syslog=str(path))
        log("too chatty", "info")  # below notice: neither here nor there
        log("rules reloaded", "notice")
        log("output failed")
        first, second = sock.recv(4096).decode(), sock.recv(4096).decode()
    finally:
        sock.close()
    # <PRI> = facility user (1) * 8 + severity (notice 5, error 3); tag sentry[pid]
    assert first.startswith("<13>") and first.endswith(f" sentry[{os.getpid()}]: rules reloaded")
    assert second.startswith("<11>") and second.endswith(": output failed")
    assert capsys.readouterr().err == ""  # log_stderr off


def test_unreachable_syslog_is_said_once_then_recovery_counts_missed_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "log.sock"
    configure("info", stderr=False, syslog=str(path))
    log("first")
    log("second")
    err = capsys.readouterr().err
    assert err.count("cannot log to syslog at") == 1 and str(path) in err
    sock = listener(path)  # the syslog daemon comes (back)
    try:
        log("third")
        assert sock.recv(4096).decode().endswith(": third")
    finally:
        sock.close()
    assert "2 log lines were not sent" in capsys.readouterr().err


def test_config_keys_drive_the_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "log.sock"
    conf = tmp_path / "sentry.yaml"
    conf.write_text(
        f"log_stderr: true\nlog_syslog: true\nlog_level: warning\n"
        f"syslog_output:\n  socket: {path}\n"
    )
    cfg = load_config(conf)
    assert cfg.warnings == []
    sock = listener(path)
    try:
        apply_log_settings(cfg)
        log("listening", "info")
        log("deliveries failed", "warning")
        line = sock.recv(4096).decode()
    finally:
        sock.close()
    assert line.startswith("<12>") and line.endswith(": deliveries failed")
    assert capsys.readouterr().err == "sentry: deliveries failed\n"


def test_a_syslog_listener_that_stops_reading_does_not_stall_logging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "log.sock"
    sock = listener(path)  # bound, never read: its queue fills up
    qlen = int(Path("/proc/sys/net/unix/max_dgram_qlen").read_text())
    try:
        configure("info", stderr=False, syslog=str(path))
        for i in range(qlen + 3):
            log(f"line {i}")  # returns even once the queue is full
        err = capsys.readouterr().err
        assert err.count("cannot log to syslog at") == 1
        assert sock.recv(4096).decode().endswith(": line 0")
    finally:
        sock.close()
