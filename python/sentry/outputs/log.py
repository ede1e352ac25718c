"""Sentry's own log lines on stderr, safe to write from any thread.

Output workers, the web server and the daemon all report from their own threads; a text
stream is not thread-safe (concurrent ``print`` calls can lose lines), so every line goes
through one lock and one ``write``.
"""

from __future__ import annotations

import sys
import threading

_LOCK = threading.Lock()


def log(text: str) -> None:
    """Write ``sentry: text`` as one line on stderr."""
    line = f"sentry: {text}\n"
    with _LOCK:
        try:
            sys.stderr.write(line)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # stderr closed: nowhere left to say it
