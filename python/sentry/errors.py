"""Sentry's own exception types: every error a user can cause is one of these.

Each carries the context a person needs to fix the input (file and line for rules,
column for filters, block offset for captures). The CLI prints ``str(err)`` and exits
non-zero; a traceback reaching a user is a bug.
"""

from __future__ import annotations


class SentryError(Exception):
    """Base of every error Sentry reports to a user."""


class CaptureError(SentryError):
    """A capture (file, ring buffer, device) could not be read or written.

    ``offset`` is the byte offset of the block (or record) at fault, when known.
    """

    def __init__(self, message: str, *, path: str | None = None, offset: int | None = None):
        self.path = path
        self.offset = offset
        where = []
        if path is not None:
            where.append(path)
        if offset is not None:
            where.append(f"offset {offset}")
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


class DriverError(SentryError):
    """A live capture driver (kernel module or eBPF probe) is unavailable or failed."""


class FilterSyntaxError(SentryError):
    """A filter or condition does not parse. ``column`` is 1-based."""

    def __init__(self, message: str, *, text: str, column: int):
        self.text = text
        self.column = column
        self.reason = message
        pointer = " " * (column - 1) + "^"
        super().__init__(f"{message} at column {column}\n  {text}\n  {pointer}")


class UnknownFieldError(SentryError):
    """A filter names a field no family knows; carries the nearest known names."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        super().__init__(f"unknown field '{name}'{hint}")


class FieldArgumentError(SentryError):
    """A field was given a missing, extra or malformed argument (``proc.aname[x]``)."""


class RuleLoadError(SentryError):
    """One problem in a rules file, located by file and line."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        item: str | None = None,
    ):
        self.path = path
        self.line = line
        self.item = item
        self.reason = message
        loc = ""
        if path is not None:
            loc = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{loc}{item + ': ' if item else ''}{message}")


class ConfigError(SentryError):
    """A configuration file or ``-o key=value`` override is invalid; names the key path."""
