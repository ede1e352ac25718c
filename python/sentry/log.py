"""Sentry's own log lines (not alerts): stderr and/or syslog, filtered by level, any thread.

Levels are Falco's ``log_level`` names, most severe first: emergency, alert, critical, error,
warning, notice, info, debug. :func:`configure` (from ``log_level``, ``log_stderr`` and
``log_syslog``) sets the least severe level written (default info) and where lines go;
a line without a level is an error.

Output workers, the web server and the daemon all report from their own threads; a text
stream is not thread-safe (concurrent ``print`` calls can lose lines), so every line goes
through one lock. A syslog listener that cannot be reached is said once on stderr, with
the count of lines it missed once it is back.
"""

from __future__ import annotations

import sys
import threading

from sentry.outputs.syslog import SYSLOG_SEVERITY, SyslogSocket

LEVELS = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")

SYSLOG_TIMEOUT_S = 0.5

_LOCK = threading.Lock()


class _Settings:
    level = SYSLOG_SEVERITY["info"]
    stderr = True
    syslog: SyslogSocket | None = None
    syslog_failing = False
    syslog_missed = 0


def configure(level: str = "info", stderr: bool = True, syslog: str | None = None) -> None:
    """Write lines of ``level`` or more severe, on stderr if ``stderr``, and to the syslog
    listener at ``syslog`` (a unix socket path such as ``/dev/log``) if given."""
    if level not in SYSLOG_SEVERITY:
        raise ValueError(f"unknown log level '{level}' (one of {', '.join(LEVELS)})")
    with _LOCK:
        if _Settings.syslog is not None:
            _Settings.syslog.close()
        _Settings.level = SYSLOG_SEVERITY[level]
        _Settings.stderr = stderr
        # A stuck syslog daemon must not stall the threads that log: give up on a line
        # after SYSLOG_TIMEOUT_S (counted as missed) rather than wait for it.
        _Settings.syslog = (
            SyslogSocket(syslog, "user", timeout=SYSLOG_TIMEOUT_S) if syslog else None
        )
        _Settings.syslog_failing = False
        _Settings.syslog_missed = 0


def _stderr(line: str) -> None:
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed: nowhere left to say it


def _to_syslog(sock: SyslogSocket, text: str, level: str) -> None:
    try:
        sock.send(text, level)
    except OSError as err:
        sock.close()  # connect afresh next time (the listener may be restarted)
        _Settings.syslog_missed += 1
        if not _Settings.syslog_failing:
            _Settings.syslog_failing = True
            _stderr(f"sentry: cannot log to syslog at {sock.address}: {err}\n")
        return
    if _Settings.syslog_failing:
        _Settings.syslog_failing = False
        _stderr(
            f"sentry: syslog at {sock.address} reachable again; "
            f"{_Settings.syslog_missed} log lines were not sent to it\n"
        )
        _Settings.syslog_missed = 0


def log(text: str, level: str = "error") -> None:
    """``sentry: text`` as one line on stderr and/or syslog, unless below the log level."""
    if SYSLOG_SEVERITY.get(level, 3) > _Settings.level:
        return
    with _LOCK:
        if _Settings.stderr:
            _stderr(f"sentry: {text}\n")
        if _Settings.syslog is not None:
            _to_syslog(_Settings.syslog, text, level)
