"""Syslog over a unix socket: RFC 3164 lines (``<PRI>Mmm dd HH:MM:SS tag[pid]: text``).

Shared by the syslog alert channel and Sentry's own log (``log_syslog``). The socket is a
datagram socket as ``/dev/log`` is; a listener that only takes streams (some syslog-ng
setups) gets NUL-terminated lines over a stream connection instead.
"""

from __future__ import annotations

import errno
import os
import socket
import time

# Falco priorities (and log levels) to syslog severities (RFC 5424).
SYSLOG_SEVERITY = {
    "emergency": 0,
    "alert": 1,
    "critical": 2,
    "error": 3,
    "warning": 4,
    "notice": 5,
    "informational": 6,
    "info": 6,
    "debug": 7,
}
SYSLOG_FACILITY = {
    "kern": 0,
    "user": 1,
    "mail": 2,
    "daemon": 3,
    "auth": 4,
    "syslog": 5,
    "lpr": 6,
    "news": 7,
    "local0": 16,
    "local1": 17,
    "local2": 18,
    "local3": 19,
    "local4": 20,
    "local5": 21,
    "local6": 22,
    "local7": 23,
}


class SyslogSocket:
    """A connection to a syslog listener at ``address``; ``send`` raises ``OSError``."""

    def __init__(
        self,
        address: str = "/dev/log",
        facility: str = "user",
        tag: str = "sentry",
        timeout: float | None = None,
    ):
        if facility not in SYSLOG_FACILITY:
            raise ValueError(f"unknown syslog facility '{facility}'")
        self.address = address
        self.timeout = timeout  # None: wait while the listener's queue is full
        self.facility = SYSLOG_FACILITY[facility]
        self.tag = f"{tag}[{os.getpid()}]"
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.connect(self.address)
        except OSError as err:
            sock.close()
            if err.errno != errno.EPROTOTYPE:  # the listener is a stream socket
                raise
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.address)
        sock.settimeout(self.timeout)
        return sock

    def send(self, text: str, severity: str) -> None:
        """One line at ``severity`` (a key of :data:`SYSLOG_SEVERITY`; unknown: info)."""
        if self._sock is None:
            self._sock = self._connect()
        pri = self.facility * 8 + SYSLOG_SEVERITY.get(severity, 6)
        stamp = time.strftime("%b %d %H:%M:%S")
        data = f"<{pri}>{stamp} {self.tag}: {text}".encode()
        if self._sock.type == socket.SOCK_STREAM:
            data += b"\0"
        self._sock.send(data)

    def close(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()
