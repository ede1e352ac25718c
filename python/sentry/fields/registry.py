"""The field registry: every filterable field (``proc.name``, ``fd.sip``, ``ka.verb`` ...) by name.

Each field family lives in its own module under ``sentry.fields`` and registers its fields
here with :func:`register`. The filter compiler and the output formatter only ever call
:func:`resolve`, which turns ``name`` plus an optional argument (``proc.aname[2]``,
``evt.arg.fd``, ``jevt.value[/user/name]``) into a :class:`BoundField`: a plain
``extract(event) -> value | None`` callable plus the value's :class:`FieldType`.

``None`` means "not available" (sysdig prints ``<NA>``); comparisons on it are false.
Multi-valued fields return a ``list`` or ``tuple`` of values.
"""

from __future__ import annotations

import difflib
import enum
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentry.errors import FieldArgumentError, UnknownFieldError

Extractor = Callable[[Any], Any]


class FieldType(enum.Enum):
    """What kind of value a field yields; decides how constants are parsed and compared."""

    STRING = "string"
    INT = "int"  # signed or unsigned integers, compared numerically
    BOOL = "bool"
    IPADDR = "ipaddr"  # ipaddress.IPv4Address / IPv6Address
    IPNET = "ipnet"  # ipaddress.IPv4Network / IPv6Network
    PORT = "port"
    ABSTIME = "abstime"  # ns since epoch
    RELTIME = "reltime"  # ns
    BYTES = "bytes"  # raw buffers (bcontains, bstartswith)
    LIST = "list"  # several strings (ka.user.groups ...)


class ArgKind(enum.Enum):
    """Whether and how a field takes an argument."""

    NONE = "none"
    INDEX = "index"  # optional integer in brackets: proc.aname[2]
    KEY = "key"  # required string, brackets or dotted suffix: evt.arg.fd, evt.arg[0]


@dataclass(frozen=True, slots=True)
class FieldDef:
    """A field family member as registered: ``make(arg)`` builds its extractor."""

    name: str
    type: FieldType
    desc: str
    make: Callable[[str | None], Extractor]
    arg: ArgKind = ArgKind.NONE
    source: str = "syscall"  # "syscall" or "k8s_audit"
    dotted_arg: bool = False  # accepts evt.arg.NAME as well as evt.arg[NAME]


@dataclass(frozen=True, slots=True)
class BoundField:
    """A field resolved for one use: what a compiled condition calls per event."""

    name: str  # as written, argument included: "proc.aname[2]"
    type: FieldType
    extract: Extractor
    source: str


class AnyOf(tuple):
    """Several values where one match is enough (sysdig's ``proc.aname`` without an index,
    ``fd.net``): ``proc.aname=bash`` holds when any ancestor is bash. Plain lists and tuples
    follow Falco's json multi-value rules instead."""

    __slots__ = ()


class Known:
    """A field's value on every event of one type (what a specialiser may return)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


# extractor -> specialiser(event info) -> a cheaper extractor for events of that type, or
# Known(value) when the type alone decides the value. See specialise().
_SPECIALISERS: weakref.WeakKeyDictionary[Extractor, Callable[[Any], Extractor | Known]] = (
    weakref.WeakKeyDictionary()
)


def specialised_by(
    specialiser: Callable[[Any], Extractor | Known],
) -> Callable[[Extractor], Extractor]:
    """Decorator: ``specialiser(info)`` may stand in for the extractor on events whose
    :class:`~sentry.events.table.EventInfo` is ``info`` (same values, less work)."""

    def attach(extract: Extractor) -> Extractor:
        _SPECIALISERS[extract] = specialiser
        return extract

    return attach


def specialise(extract: Extractor, info: Any) -> Extractor | Known:
    """What ``extract`` amounts to on events of type ``info`` (itself when not known)."""
    specialiser = _SPECIALISERS.get(extract)
    return extract if specialiser is None else specialiser(info)


_FIELDS: dict[str, FieldDef] = {}
_families_loaded = False


def register(
    name: str,
    type: FieldType,
    desc: str,
    *,
    arg: ArgKind = ArgKind.NONE,
    source: str = "syscall",
    dotted_arg: bool = False,
) -> Callable[[Callable[[str | None], Extractor]], Callable[[str | None], Extractor]]:
    """Decorator: register ``make(arg) -> extractor`` as field ``name``."""

    def deco(make: Callable[[str | None], Extractor]) -> Callable[[str | None], Extractor]:
        if name in _FIELDS:
            raise ValueError(f"field {name} registered twice")
        _FIELDS[name] = FieldDef(name, type, desc, make, arg, source, dotted_arg)
        return make

    return deco


def register_simple(
    name: str, type: FieldType, desc: str, extract: Extractor, *, source: str = "syscall"
) -> None:
    """Register a field with no argument whose extractor is fixed."""
    register(name, type, desc, source=source)(lambda _arg: extract)


def _load_families() -> None:
    # Importing the family modules registers their fields; done once, lazily.
    from sentry.fields import families  # noqa: F401


def all_fields() -> dict[str, FieldDef]:
    """Every registered field by name (the families are imported on first use)."""
    global _families_loaded
    if not _families_loaded:
        # Not "if empty": a family module imported on its own (ka) must not hide the rest.
        _families_loaded = True
        _load_families()
    return _FIELDS


def _lookup(name: str) -> tuple[FieldDef, str | None] | None:
    fields = all_fields()
    fdef = fields.get(name)
    if fdef is not None:
        return fdef, None
    # evt.arg.fd, jevt.value.x: longest registered prefix that takes a dotted argument.
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        fdef = fields.get(prefix)
        if fdef is not None and fdef.dotted_arg:
            return fdef, ".".join(parts[i:])
    return None


def resolve(name: str, arg: str | None = None) -> BoundField:
    """Turn a field reference into its extractor; raise our own errors for bad names/args."""
    found = _lookup(name)
    if found is None:
        close = difflib.get_close_matches(name, all_fields().keys(), n=3, cutoff=0.6)
        raise UnknownFieldError(name, close)
    fdef, dotted = found
    if dotted is not None:
        if arg is not None:
            raise FieldArgumentError(f"field '{name}' cannot also take [{arg}]")
        arg = dotted
    if arg is None and fdef.arg is ArgKind.KEY:
        raise FieldArgumentError(f"field '{fdef.name}' needs an argument, e.g. {fdef.name}[...]")
    if arg is not None and fdef.arg is ArgKind.NONE:
        raise FieldArgumentError(f"field '{fdef.name}' takes no argument, got [{arg}]")
    if arg is not None and fdef.arg is ArgKind.INDEX:
        try:
            int(arg)
        except ValueError:
            raise FieldArgumentError(
                f"field '{fdef.name}' takes a number in brackets, got [{arg}]"
            ) from None
    written = name if dotted is not None or arg is None else f"{name}[{arg}]"
    return BoundField(written, fdef.type, fdef.make(arg), fdef.source)
