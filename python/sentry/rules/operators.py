"""Comparison operators of the condition language: which field types take which operator,
how constants are read for a field type, and the per-value tests the compiler wraps.

Semantics follow sysdig/Falco:

* ``glob``/``iglob`` are fnmatch(3) without flags: ``*`` and ``?`` also match ``/`` and a
  leading dot, ``[a-z]``/``[!a-z]`` classes, ``\\`` escapes the next character.
* ``regex`` must match the whole value (RE2 ``ANCHOR_BOTH`` in libsinsp).
* ``pmatch`` is a path-prefix match by whole components: ``/etc`` matches ``/etc`` and
  ``/etc/passwd``, not ``/etcd``.
* ``bcontains``/``bstartswith`` take hex bytes (``bcontains 6361`` looks for ``b"ca"``).
* Numbers are decimal (``0x`` hex accepted too); booleans are ``true``/``false``; ports may
  be service names (``http``); IP fields accept an address or a CIDR network.
"""

from __future__ import annotations

import base64
import ipaddress
import operator
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any

from sentry.errors import SentryError
from sentry.fields.registry import FieldType

Predicate = Callable[[Any], bool]
IpValue = (
    ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network | ipaddress.IPv6Network
)


class FilterTypeError(SentryError):
    """A comparison that parses but cannot hold: wrong operator or constant for a field type.

    ``column`` is the 1-based column of the comparison (0 when unknown); with ``text`` (the
    condition the column counts in) the message points at it as syntax errors do.
    """

    def __init__(self, message: str, *, column: int = 0, text: str | None = None):
        self.column = column
        self.reason = message
        self.text = text
        if column and text is not None and "\n" not in text:
            pointer = " " * (column - 1) + "^"
            super().__init__(f"{message} at column {column}\n  {text}\n  {pointer}")
        else:
            super().__init__(f"{message} (at column {column})" if column else message)


NUMERIC_TYPES = frozenset({FieldType.INT, FieldType.PORT, FieldType.ABSTIME, FieldType.RELTIME})
IP_TYPES = frozenset({FieldType.IPADDR, FieldType.IPNET})
TEXT_TYPES = frozenset({FieldType.STRING, FieldType.LIST, FieldType.BYTES})

_EQUALITY = frozenset({"=", "!=", "in", "intersects", "exists"})
_ORDERING = frozenset({"<", "<=", ">", ">="})
_ALLOWED: dict[FieldType, frozenset[str]] = {
    FieldType.BOOL: _EQUALITY,
    FieldType.IPADDR: _EQUALITY,
    FieldType.IPNET: _EQUALITY,
    **{t: _EQUALITY | _ORDERING for t in NUMERIC_TYPES},
}

_TYPE_WORDS = {
    FieldType.INT: "numeric",
    FieldType.PORT: "port",
    FieldType.ABSTIME: "time",
    FieldType.RELTIME: "time",
    FieldType.BOOL: "boolean",
    FieldType.IPADDR: "IP address",
    FieldType.IPNET: "IP network",
}


def check_operator(op: str, ftype: FieldType, field: str, column: int) -> None:
    """Raise FilterTypeError when ``op`` makes no sense for a field of type ``ftype``."""
    allowed = _ALLOWED.get(ftype)
    if allowed is not None and op not in allowed:
        kind = _TYPE_WORDS[ftype]
        ops = ", ".join(sorted(allowed))
        raise FilterTypeError(
            f"operator '{op}' cannot be used with {kind} field '{field}' (it takes {ops})",
            column=column,
        )
    if op == "pmatch" and ftype is FieldType.BYTES:
        raise FilterTypeError(
            f"operator 'pmatch' needs a path field, '{field}' holds bytes", column=column
        )


# Constants ------------------------------------------------------------------------------


def convert_constant(text: str, ftype: FieldType, op: str, field: str, column: int) -> Any:
    """The constant ``text`` as a value comparable with what field ``field`` extracts."""
    try:
        if op in ("bcontains", "bstartswith"):
            return _hex_bytes(text)
        if ftype in TEXT_TYPES:
            return _as_bytes(text) if ftype is FieldType.BYTES else text
        if ftype is FieldType.PORT:
            return _port(text)
        if ftype in NUMERIC_TYPES:
            return _number(text)
        if ftype is FieldType.BOOL:
            return _boolean(text)
        if ftype is FieldType.IPADDR:
            return (
                ipaddress.ip_network(text, strict=False)
                if "/" in text
                else ipaddress.ip_address(text)
            )
        if ftype is FieldType.IPNET:
            return ipaddress.ip_network(text, strict=False)
    except ValueError as err:
        raise FilterTypeError(f"bad value for field '{field}': {err}", column=column) from None
    raise FilterTypeError(f"field '{field}' has unsupported type {ftype.value}", column=column)


def _hex_bytes(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a hex byte string (like 0a1b2c)") from None


def _number(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        pass
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None


def _port(text: str) -> int:
    try:
        return _number(text)
    except ValueError:
        pass
    for proto in ("tcp", "udp"):
        try:
            return socket.getservbyname(text, proto)
        except OSError:
            continue
    raise ValueError(f"'{text}' is neither a port number nor a known service name")


def _boolean(text: str) -> bool:
    low = text.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise ValueError(f"'{text}' is not a boolean (true or false)")


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return bytes(value)


def as_bytes_or_none(value: Any) -> Any:
    """A BYTES field's value as ``bytes`` (memoryviews copied, strings encoded)."""
    if value is None or isinstance(value, bytes | list | tuple):
        return value
    return _as_bytes(value)


# Pattern helpers --------------------------------------------------------------------------


def glob_to_regex(pattern: str) -> str:
    """fnmatch(3) pattern (no flags) as a Python regex matching the whole string."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if not out or out[-1] != ".*":
                out.append(".*")
            i += 1
        elif char == "?":
            out.append(".")
            i += 1
        elif char == "\\":
            # A trailing lone backslash makes the pattern invalid: fnmatch matches nothing.
            out.append(re.escape(pattern[i + 1]) if i + 1 < n else "(?!)")
            i += 2
        elif char == "[":
            bracket = _bracket(pattern, i)
            if bracket is None:
                out.append(re.escape(char))  # no closing bracket: a literal '['
                i += 1
            else:
                out.append(bracket[0])
                i = bracket[1]
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _bracket(pattern: str, start: int) -> tuple[str, int] | None:
    """The regex for the bracket expression at ``start`` and the index after it, or None."""
    n = len(pattern)
    j = start + 1
    negate = j < n and pattern[j] in "!^"
    if negate:
        j += 1
    body_start = j
    if j < n and pattern[j] == "]":
        j += 1  # a leading ']' is a member
    while j < n and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" and j + 1 < n else 1
    if j >= n:
        # Unclosed: '[' is literal, except that glibc fails a range cut off by the end.
        cut_range = len(pattern) - body_start >= 2 and pattern.endswith("-")
        return ("(?!)", n) if cut_range else None
    members: list[str] = []
    k = body_start
    while k < j:
        low, k = _bracket_char(pattern, k, j)
        if k + 1 < j and pattern[k] == "-":
            high, k = _bracket_char(pattern, k + 1, j)
            if low <= high:  # a reversed range matches nothing
                members.append(f"{re.escape(low)}-{re.escape(high)}")
        else:
            members.append(re.escape(low))
    if not members:
        return ("." if negate else "(?!)"), j + 1
    return f"[{'^' if negate else ''}{''.join(members)}]", j + 1


def _bracket_char(pattern: str, k: int, end: int) -> tuple[str, int]:
    if pattern[k] == "\\" and k + 1 < end:
        return pattern[k + 1], k + 2
    return pattern[k], k + 1


class PathPrefixSet:
    """Paths and the directories under them, matched component by component (``pmatch``)."""

    def __init__(self, prefixes: Iterable[str]):
        # A trie of path components; the key None marks the end of a prefix.
        self.root: dict[str | None, Any] = {}
        for prefix in prefixes:
            node = self.root
            for comp in _components(prefix):
                node = node.setdefault(comp, {})
            node[None] = True

    def match(self, path: str) -> bool:
        node = self.root
        if None in node:
            return True
        for comp in path.split("/"):
            child = node.get(comp)
            if child is None:
                return False
            if None in child:
                return True
            node = child
        return False


def _components(path: str) -> list[str]:
    stripped = path.rstrip("/")
    return stripped.split("/") if stripped else [""]


# Scalar tests: one extracted value (never None, never a list) against the constant(s) ----


def scalar_test(op: str, ftype: FieldType, consts: list[Any]) -> Predicate:
    """``value -> bool`` for one non-missing, single value of a field of type ``ftype``."""
    if ftype in IP_TYPES:
        return _ip_test(op, consts)
    if ftype is FieldType.BOOL:
        return _bool_test(op, consts)
    const: Any = consts[0] if consts else None
    if op == "=":
        return lambda v: v == const
    if op == "!=":
        return lambda v: v != const
    if op in ("in", "intersects"):
        members = frozenset(consts)
        return lambda v: v in members
    if op in _ORDERING:
        return _ordering_test(op, const)
    if op == "contains":
        return lambda v: const in v
    if op == "icontains":
        low = const.lower()
        return lambda v: low in v.lower()
    if op == "startswith":
        return lambda v: v.startswith(const)
    if op == "endswith":
        return lambda v: v.endswith(const)
    if op == "bcontains":
        return lambda v: const in _as_bytes(v)
    if op == "bstartswith":
        return lambda v: _as_bytes(v).startswith(const)
    if op in ("glob", "iglob", "regex"):
        return _pattern_test(op, ftype, const)
    if op == "pmatch":
        prefixes = PathPrefixSet(consts)
        return lambda v: prefixes.match(v if isinstance(v, str) else _as_text(v))
    raise AssertionError(f"no test for operator {op}")


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)


_ORDER_FUNCS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _ordering_test(op: str, const: Any) -> Predicate:
    compare = _ORDER_FUNCS[op]

    def test(v: Any) -> bool:
        try:
            return bool(compare(v, const))
        except TypeError:  # a value of another kind than the field declares
            return False

    return test


def loose_number_test(op: str, const: str) -> Predicate:
    """``<``/``>`` as Falco's json fields compare text: as numbers when the constant is one
    (a value that is not a number then fails), else as strings."""
    compare = _ORDER_FUNCS[op]
    try:
        number = int(const)
    except ValueError:
        return _ordering_test(op, const)

    def test(v: Any) -> bool:
        try:
            return bool(compare(int(v), number))
        except (TypeError, ValueError):
            return False

    return test


def _pattern_test(op: str, ftype: FieldType, const: Any) -> Predicate:
    text = const.decode("utf-8", "surrogateescape") if isinstance(const, bytes) else const
    source = text if op == "regex" else glob_to_regex(text)
    flags = re.DOTALL | (re.IGNORECASE if op == "iglob" else 0)
    try:
        if ftype is FieldType.BYTES:
            rx_bytes = re.compile(source.encode("utf-8", "surrogateescape"), flags)
            return lambda v: rx_bytes.fullmatch(v) is not None
        rx = re.compile(source, flags)
    except re.error as err:
        raise FilterTypeError(f"bad {op} pattern '{text}': {err}") from None
    return lambda v: rx.fullmatch(v) is not None


def _bool_test(op: str, consts: list[bool]) -> Predicate:
    wanted = frozenset(consts)
    words = frozenset("true" if c else "false" for c in consts)

    def member(v: Any) -> bool:
        if isinstance(v, str):
            return v.lower() in words
        return bool(v) in wanted

    if op == "!=":
        return lambda v: not member(v)
    return member


def _as_ip(value: Any) -> IpValue | None:
    if isinstance(
        value,
        ipaddress.IPv4Address
        | ipaddress.IPv6Address
        | ipaddress.IPv4Network
        | ipaddress.IPv6Network,
    ):
        return value
    try:
        if isinstance(value, str) and "/" in value:
            return ipaddress.ip_network(value, strict=False)
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _ip_matches(value: IpValue, const: IpValue) -> bool:
    if value.version != const.version:
        return False
    if isinstance(const, ipaddress.IPv4Network | ipaddress.IPv6Network):
        if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return value.subnet_of(const)  # type: ignore[arg-type]
        return value in const
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return const in value
    return value == const


_NETWORKS = (ipaddress.IPv4Network, ipaddress.IPv6Network)


def _ip_test(op: str, consts: list[IpValue]) -> Predicate:
    addresses = frozenset(c for c in consts if not isinstance(c, _NETWORKS))
    networks = tuple(c for c in consts if isinstance(c, _NETWORKS))
    # An address is in a network of its version when its bits under the mask are the
    # network's: (version -> ((network bits, mask bits), ...)), tested on ints.
    masks: dict[int, tuple[tuple[int, int], ...]] = {
        version: tuple(
            (int(n.network_address), int(n.netmask)) for n in networks if n.version == version
        )
        for version in (4, 6)
    }

    def member(v: Any) -> bool:
        ip = _as_ip(v)
        if ip is None:
            return False
        if ip in addresses:
            return True
        if isinstance(ip, _NETWORKS):  # a network value: in or around the constants
            return any(_ip_matches(ip, net) for net in networks) or any(
                _ip_matches(ip, a) for a in addresses
            )
        bits = int(ip)
        for net, mask in masks[ip.version]:  # noqa: SIM110 (no generator per test)
            if bits & mask == net:
                return True
        return False

    if op == "!=":
        return lambda v: _as_ip(v) is not None and not member(v)
    return member


# Several values: Falco's rules for multi-valued fields (k8s audit lists) -----------------


def multi_test(op: str, single: Predicate) -> Callable[[list[Any] | tuple[Any, ...]], bool]:
    """``values -> bool`` for a list-valued extraction, as Falco's json filterchecks do.

    ``=`` holds when the set of values is exactly the one constant, ``!=`` when it is not;
    ``in`` and ``pmatch`` need every value to match (an empty list matches), ``intersects``
    one of them; ``exists`` needs a value; any other operator needs exactly one value.
    """
    if op == "=":
        return lambda vs: len(vs) > 0 and all(single(v) for v in vs)
    if op == "!=":
        eq = single  # for '!=' the caller passes the '=' test

        return lambda vs: not (len(vs) > 0 and all(eq(v) for v in vs))
    if op in ("in", "pmatch"):
        return lambda vs: all(v is not None and single(v) for v in vs)
    if op == "intersects":
        return lambda vs: any(v is not None and single(v) for v in vs)
    if op == "exists":
        return lambda vs: len(vs) > 0
    return lambda vs: len(vs) == 1 and vs[0] is not None and single(vs[0])


# Transformers ---------------------------------------------------------------------------


def _b64(value: str | bytes) -> str | None:
    try:
        return base64.b64decode(value, validate=False).decode("utf-8", "surrogateescape")
    except ValueError:
        return None


def _basename(value: str) -> str:
    return value.rpartition("/")[2]


_TEXT_FUNCS: dict[str, Callable[[Any], Any]] = {
    "tolower": lambda v: v.lower(),
    "toupper": lambda v: v.upper(),
    "b64": _b64,
    "basename": lambda v: _basename(_as_text(v) if not isinstance(v, str) else v),
    "len": len,
}


def transformer(
    func: str, ftype: FieldType, field: str, column: int
) -> tuple[Callable[[Any], Any], FieldType]:
    """The per-value function of transformer ``func`` and the field type it yields."""
    if ftype not in TEXT_TYPES:
        raise FilterTypeError(
            f"transformer '{func}' needs a string field, '{field}' is {ftype.value}",
            column=column,
        )
    if func == "len":
        return len, FieldType.INT
    return _TEXT_FUNCS[func], (FieldType.LIST if ftype is FieldType.LIST else FieldType.STRING)


# val(): both sides extracted per event ---------------------------------------------------

_DYNAMIC: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "contains": lambda a, b: b in a,
    "icontains": lambda a, b: b.lower() in a.lower(),
    "startswith": lambda a, b: a.startswith(b),
    "endswith": lambda a, b: a.endswith(b),
}


def dynamic_test(op: str, column: int) -> Callable[[Any, Any], bool]:
    """``(lhs, rhs) -> bool`` for ``field op val(other)``; raises for operators val() lacks."""
    test = _DYNAMIC.get(op)
    if test is None:
        raise FilterTypeError(f"operator '{op}' cannot compare against val()", column=column)

    def guarded(a: Any, b: Any) -> bool:
        try:
            return bool(test(a, b))
        except TypeError:
            return False

    return guarded
