"""What the rules loader produces: lists, macros and rules located by file and line, and problems.

:class:`RuleDefinitions` holds everything loaded so far in definition order plus every
:class:`Problem` (error or warning, with file, line and item) found on the way; nothing here
reads YAML or compiles conditions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from sentry.errors import RuleLoadError


class Priority(enum.IntEnum):
    """Alert priorities, most severe first (syslog order), as Falco names them."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @property
    def label(self) -> str:
        """The name Falco prints in alerts: ``Warning``, ``Informational`` ..."""
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Case-insensitive name; ``info`` is accepted for ``informational``."""
        key = str(text).strip().upper()
        if key == "INFO":
            key = "INFORMATIONAL"
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(p.label for p in cls)
            raise ValueError(f"invalid priority '{text}' (one of {names}, or Info)") from None


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning, located as precisely as the input allows."""

    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    item: str | None = None  # "rule 'foo'", "macro 'bar'", "list 'baz'"

    def __str__(self) -> str:
        loc = ""
        if self.path is not None:
            loc = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        what = f"{self.item}: " if self.item else ""
        tag = "warning: " if self.severity is Severity.WARNING else ""
        return f"{loc}{tag}{what}{self.message}"


@dataclass(slots=True)
class Location:
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(slots=True)
class ListDef:
    name: str
    items: list[str]
    loc: Location


@dataclass(slots=True)
class MacroDef:
    name: str
    condition: str
    loc: Location


@dataclass(slots=True)
class ExceptionDef:
    """A rule exception: ``fields`` (one name or a list), ``comps``, and ``values`` rows."""

    name: str
    fields: str | list[str]
    comps: str | list[str] | None
    values: list[Any]
    loc: Location


@dataclass(slots=True)
class RuleDef:
    name: str
    condition: str
    output: str
    desc: str
    priority: Priority
    loc: Location
    source: str = "syscall"
    enabled: bool = True
    tags: list[str] = field(default_factory=list)
    exceptions: list[ExceptionDef] = field(default_factory=list)
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False

    @property
    def item(self) -> str:
        return f"rule '{self.name}'"


@dataclass(frozen=True, slots=True)
class PluginRequirement:
    """One ``required_plugin_versions`` entry: satisfied by any of its (name, version)."""

    alternatives: tuple[tuple[str, str], ...]
    loc: Location


@dataclass(slots=True)
class RuleDefinitions:
    """Everything loaded so far, in definition order, plus every problem found."""

    lists: dict[str, ListDef] = field(default_factory=dict)
    macros: dict[str, MacroDef] = field(default_factory=dict)
    rules: dict[str, RuleDef] = field(default_factory=dict)
    # The highest engine version a file asked for (an integer N reads as 0.N.0).
    required_engine_version: tuple[int, int, int] = (0, 0, 0)
    # required_plugin_versions, one entry per requirement: its alternatives (name, version).
    required_plugins: list[PluginRequirement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    def raise_errors(self) -> None:
        """Raise one RuleLoadError naming the first error and listing them all."""
        errors = self.errors
        if not errors:
            return
        first = errors[0]
        err = RuleLoadError(first.message, path=first.path, line=first.line, item=first.item)
        if len(errors) > 1:
            err.args = ("\n".join(str(p) for p in errors),)
        raise err
