"""Output formats: ``%field`` substitution the way Falco's rule outputs and sysdig's ``-p`` do.

A format such as ``"open by %proc.name (file=%fd.name cmd=%proc.aname[2])"`` is parsed once
into literal text and bound fields (:func:`sentry.fields.registry.resolve`); rendering an
event then costs one extractor call per field. Missing values print as ``<NA>``.

A leading ``*`` (sysdig's ``-p "*..."``) means "print even when a field is missing"; without
it :meth:`OutputFormat.render_strict` returns None for such events, as sysdig skips them.
Rule outputs always render every event (Falco prefixes them with ``*`` itself).

A rule's format (``source`` given) may only name fields of the rule's source, as Falco's
formatters refuse the others (``%evt.time`` in a k8s_audit rule is a load error).

``%container.info`` is not a field: like Falco, it stands for the text given with ``-p``
(``extra``) when there is one, else for a short container description; both only in
syscall formats.

Fields of JSON events (``k8s_audit`` source: ``ka.*``, ``jevt.*``) follow Falco 0.28's json
event formatter instead: every value is text, in the output line and in ``output_fields``
alike; a field with several values prints them as ``(a,b)``, one value as itself, none as
``<NA>``; the ``output_fields`` key is the field name without its argument
(``ka.uri.param[command]`` -> ``ka.uri.param``, ``jevt.value[/x]`` -> ``jevt.value``).
Today's Falco (the k8saudit plugin's fields go through libs' event formatter) keys every
field as written, argument included (``ka.uri.param[command]``): ``field_values(ev,
written_keys=True)``, which the engine asks for rules requiring an engine after 0.28.1's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentry.errors import FieldArgumentError, SentryError, UnknownFieldError
from sentry.fields.registry import BoundField, FieldType, resolve

NA = "<NA>"
CONTAINER_INFO = "%container.info"
DEFAULT_CONTAINER_INFO = "container_id=%container.id container_name=%container.name"

_PRINTABLE = bytes(b if 32 <= b < 127 else 46 for b in range(256))
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
JSON_EVENT_SOURCE = "k8s_audit"  # fields rendered by Falco's json event formatter rules


class OutputFormatError(SentryError):
    """A format names a field that does not exist or is malformed; says which token."""

    def __init__(self, fmt: str, token: str, reason: str):
        self.format = fmt
        self.token = token
        self.reason = reason
        super().__init__(f"invalid output format '{fmt}': %{token}: {reason}")


def render_value(value: Any) -> str:
    """One field value as text: strings raw, numbers in decimal, several values (sysdig's
    filter-only ``proc.aname``, ``fd.ip`` ...) comma-joined."""
    if value is None:
        return NA
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        # As sysdig prints buffers: printable ASCII kept, every other byte shown as '.'.
        return bytes(value).translate(_PRINTABLE).decode("ascii")
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(render_value(v) for v in value)
    return str(value)


def render_json_event_value(value: Any) -> str:
    """A json event field's value as Falco prints it: ``<NA>`` when missing or empty, the
    value itself when there is one, ``(a,b)`` when there are several."""
    if value is None:
        return NA
    if isinstance(value, list | tuple):
        if not value:
            return NA
        if len(value) == 1:
            return render_value(value[0])
        return "(" + ",".join(render_value(v) for v in value) + ")"
    return render_value(value)


def json_value(value: Any, ftype: FieldType) -> Any:
    """A field value for alert JSON ``output_fields``: numbers stay numbers, the rest text."""
    if value is None:
        return None
    if isinstance(value, bool) or (
        isinstance(value, int)
        and ftype
        in (FieldType.INT, FieldType.ABSTIME, FieldType.RELTIME, FieldType.PORT, FieldType.BOOL)
    ):
        return value
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    return render_value(value)


@dataclass(frozen=True, slots=True)
class _Token:
    text: str | None  # literal text, or None for a field
    field: BoundField | None = None
    render: Callable[[Any], str] = render_value


def _output_key(bound: BoundField) -> str:
    """The ``output_fields`` key of Falco 0.28.1: json event fields drop their argument (its
    json event formatter keyed them by field name); the others are keyed as written."""
    if bound.source == JSON_EVENT_SOURCE:
        return bound.name.split("[", 1)[0]
    return bound.name


def _json_event_field(value: Any, _ftype: FieldType) -> str:
    return render_json_event_value(value)


Resolver = Callable[[str, "str | None"], BoundField]


def _scan_field(fmt: str, start: int) -> tuple[str, str | None, int]:
    """Read ``name[arg]`` at ``start`` (just after ``%``); return name, arg, end index."""
    i = start
    while i < len(fmt) and fmt[i] in _NAME_CHARS:
        i += 1
    name = fmt[start:i]
    arg = None
    if i < len(fmt) and fmt[i] == "[":
        close = fmt.find("]", i)
        if close != -1:
            arg = fmt[i + 1 : close]
            i = close + 1
    return name, arg, i


class OutputFormat:
    """A parsed format: literal text and bound fields in order."""

    __slots__ = ("_json_fields", "_written_json_fields", "all_events", "fields", "text", "tokens")

    def __init__(
        self,
        fmt: str,
        *,
        resolver: Resolver = resolve,
        extra: str = "",
        replace_container_info: bool = False,
        source: str | None = None,
    ):
        if source in (None, "syscall"):  # as Falco: -p and %container.info are for syscalls
            fmt = expand_container_info(fmt, extra, replace_container_info)
        self.text = fmt
        self.all_events = fmt.startswith("*")
        body = fmt[1:] if self.all_events else fmt
        tokens: list[_Token] = []
        fields: dict[str, BoundField] = {}
        literal: list[str] = []
        i = 0
        while i < len(body):
            ch = body[i]
            if ch != "%":
                literal.append(ch)
                i += 1
                continue
            name, arg, end = _scan_field(body, i + 1)
            if not name:
                literal.append(ch)  # a lone % stays literal
                i += 1
                continue
            bound, end = self._bind(fmt, body, name, arg, end, resolver)
            if source is not None and bound.source != source:
                raise OutputFormatError(
                    fmt, name, f"not a field of {source} events (it reads {bound.source} events)"
                )
            if literal:
                tokens.append(_Token("".join(literal)))
                literal = []
            json_event = bound.source == JSON_EVENT_SOURCE
            tokens.append(
                _Token(None, bound, render_json_event_value if json_event else render_value)
            )
            fields.setdefault(bound.name, bound)
            i = end
        if literal:
            tokens.append(_Token("".join(literal)))
        self.tokens = tuple(tokens)
        self.fields = tuple(fields.values())
        self._json_fields = tuple(
            (_output_key(f), f, _json_event_field if f.source == JSON_EVENT_SOURCE else json_value)
            for f in self.fields
        )
        # Today's Falco: libs' formatter keys each field as written (argument included).
        self._written_json_fields = tuple(
            (f.name, f, to_json) for (_key, f, to_json) in self._json_fields
        )

    @staticmethod
    def _bind(
        fmt: str, body: str, name: str, arg: str | None, end: int, resolver: Resolver
    ) -> tuple[BoundField, int]:
        # A trailing '.' ends a sentence, not a field name ("file=%fd.name.").
        trimmed = 0
        while True:
            try:
                return resolver(name, arg), end - trimmed
            except UnknownFieldError as exc:
                if name.endswith(".") and arg is None:
                    name = name[:-1]
                    trimmed += 1
                    continue
                raise OutputFormatError(fmt, name, str(exc)) from None
            except FieldArgumentError as exc:
                raise OutputFormatError(fmt, name, str(exc)) from None

    def render(self, event: Any) -> str:
        """The text for one event; missing values print as ``<NA>``."""
        out = []
        for tok in self.tokens:
            if tok.text is not None:
                out.append(tok.text)
            else:
                out.append(tok.render(tok.field.extract(event)))  # type: ignore[union-attr]
        return "".join(out)

    def render_strict(self, event: Any) -> str | None:
        """As sysdig's ``-p``: None when a field is missing, unless the format starts with ``*``."""
        if self.all_events:
            return self.render(event)
        out = []
        for tok in self.tokens:
            if tok.text is not None:
                out.append(tok.text)
                continue
            value = tok.field.extract(event)  # type: ignore[union-attr]
            if value is None:
                return None
            out.append(tok.render(value))
        return "".join(out)

    def field_values(self, event: Any, written_keys: bool = False) -> dict[str, Any]:
        """``{field name: JSON value}`` for every field of the format (alert output_fields).

        ``written_keys``: every field keyed as written, argument included, as today's Falco
        (``ka.uri.param[command]``); else Falco 0.28.1's keys (``ka.uri.param``)."""
        fields = self._written_json_fields if written_keys else self._json_fields
        return {key: to_json(f.extract(event), f.type) for key, f, to_json in fields}

    def defer(self, event: Any) -> DeferredOutput:
        """Render now every field but the container ones, which :meth:`DeferredOutput.complete`
        reads later (an alert held until its container's metadata arrives). Those fields read
        only the event's time and thread, which the deferred output keeps."""
        parts: list[str | _Token] = []
        for tok in self.tokens:
            if tok.text is not None:
                parts.append(tok.text)
            elif _is_late(tok.field):
                parts.append(tok)
            else:
                parts.append(tok.render(tok.field.extract(event)))  # type: ignore[union-attr]
        values: dict[str, Any] = {}
        late = []
        for key, f, to_json in self._json_fields:
            if _is_late(f):
                values[key] = None  # keeps the key's place; filled in by complete()
                late.append((key, f, to_json))
            else:
                values[key] = to_json(f.extract(event), f.type)
        return DeferredOutput(parts, values, tuple(late), _LateEvent(event.ts, event.thread))


LATE_FIELD_PREFIXES = ("container.", "k8s.")


def _is_late(bound: BoundField | None) -> bool:
    return (
        bound is not None
        and bound.source == "syscall"
        and bound.name.startswith(LATE_FIELD_PREFIXES)
    )


class _LateEvent:
    """What container fields read of an event: its time and its thread."""

    __slots__ = ("thread", "ts")

    def __init__(self, ts: int, thread: Any):
        self.ts = ts
        self.thread = thread


class DeferredOutput:
    """A rule output rendered but for its container fields (see :meth:`OutputFormat.defer`)."""

    __slots__ = ("_event", "_late", "_parts", "_values")

    def __init__(
        self,
        parts: list[str | _Token],
        values: dict[str, Any],
        late: tuple[tuple[str, BoundField, Callable[[Any, FieldType], Any]], ...],
        event: _LateEvent,
    ):
        self._parts = parts
        self._values = values
        self._late = late
        self._event = event

    def complete(self) -> tuple[str, dict[str, Any]]:
        """(text, output_fields) with the container fields as the table holds them now."""
        ev = self._event
        text = "".join(
            p if isinstance(p, str) else p.render(p.field.extract(ev))  # type: ignore[union-attr]
            for p in self._parts
        )
        values = dict(self._values)
        for key, f, to_json in self._late:
            values[key] = to_json(f.extract(ev), f.type)
        return text, values


def expand_container_info(fmt: str, extra: str = "", replace: bool = False) -> str:
    """Falco's ``%container.info`` and ``-p`` handling on a rule output.

    With ``replace`` (sysdig's ``-pc``/``-pk`` style), ``%container.info`` becomes ``extra``
    (appended when absent); otherwise ``extra`` is appended and ``%container.info`` becomes a
    short container description.
    """
    if extra:
        if replace:
            if CONTAINER_INFO in fmt:
                return fmt.replace(CONTAINER_INFO, extra)
            return f"{fmt} {extra}"
        fmt = f"{fmt} {extra}"
    return fmt.replace(CONTAINER_INFO, DEFAULT_CONTAINER_INFO)
