"""Moved to :mod:`sentry.log` (Sentry's own log lines, not an alert output); kept for the
two callers owned by other work in progress (service/config.py, inspect/runtimes/manager.py)
until they import :mod:`sentry.log` (REQUESTS.md)."""

from sentry.log import configure, log

__all__ = ["configure", "log"]
