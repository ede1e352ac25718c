"""``sentry run`` as a daemon in a child process, driven from outside: real HTTP on
127.0.0.1, real signals. Its stderr is read as it comes (to learn the port and to wait for
what it says); ``stop`` sends SIGTERM and returns its exit status and stdout."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

SENTRY = [sys.executable, "-c", "from sentry.cli.main import main; main()"]
LISTENING = r"listening on http://127\.0\.0\.1:(\d+)"
EXITED = "<exited>"  # appended to ``stderr`` once the daemon's stderr closes


class SentryDaemon:
    """``sentry run ARGS`` started and waited for until its web server listens
    (``start_timeout`` seconds at most; None: until it says so or exits)."""

    def __init__(
        self, args: list[str], cwd: Path | None = None, start_timeout: float | None = None
    ):
        self.proc = subprocess.Popen(
            [*SENTRY, "run", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
        )
        self.stderr: list[str] = []
        self.port = 0
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(LISTENING, timeout=start_timeout)
        assert self.port

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            found = re.search(LISTENING, line)
            if found:
                self.port = int(found.group(1))
            with self._changed:
                self.stderr.append(line)
                self._changed.notify_all()
        with self._changed:
            self.stderr.append(EXITED)
            self._changed.notify_all()

    def wait_for(self, pattern: str, start: int = 0, timeout: float | None = None) -> str:
        """The first stderr line from index ``start`` matching ``pattern`` (waits for it,
        ``timeout`` seconds at most if given)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.stderr[start:]:
                    if re.search(pattern, line):
                        return line
                if self.stderr and self.stderr[-1] == EXITED:
                    raise AssertionError(f"{pattern!r} never said:\n{''.join(self.stderr)}")
                wait = 60.0
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        raise AssertionError(
                            f"{pattern!r} not said in {timeout} s:\n{''.join(self.stderr)}"
                        )
                self._changed.wait(wait)

    def request(
        self, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """The HTTP status and body of one request to the daemon's web server."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as err:
            return int(err.code), err.read()

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then everything it printed (outputs drain before it exits)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        assert self.proc.stdout is not None
        # A daemon that ignores SIGTERM is killed after 120 s (and fails on its exit status)
        # rather than hanging the suite on the read below.
        guard = threading.Timer(120, self.proc.kill)
        guard.start()
        try:
            out = self.proc.stdout.read()  # stderr belongs to the reader thread: no communicate()
            self.proc.wait(120)
        finally:
            guard.cancel()
        self._reader.join(10)
        return self.proc.returncode, out
