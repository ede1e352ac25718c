"""What every runtime client offers the resolvers, and the errors they raise.

A client talks to one runtime socket. Each call is bounded by a timeout; a socket that
hangs, answers garbage or disappears raises :class:`RuntimeAPIError` with a ``kind``
(``timeout``, ``unavailable``, ``protocol``) that the resolvers count on ``/metrics``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Protocol

from sentry.errors import SentryError
from sentry.inspect.containers import ContainerInfo


class RuntimeAPIError(SentryError):
    """A runtime socket failed to answer a call (what went wrong, for the log)."""

    def __init__(self, engine: str, kind: str, detail: str):
        self.engine = engine
        self.kind = kind  # "timeout", "unavailable" or "protocol"
        super().__init__(f"{engine}: {kind}: {detail}")


class RuntimeClient(Protocol):
    """One runtime API on one socket."""

    name: str  # the engine as configured: docker, podman, cri
    socket_path: str  # where it is looked for (HOST_ROOT applied)

    def inspect(self, full_id: str) -> ContainerInfo | None:
        """Metadata of one container; None when this runtime does not know the id."""
        ...

    def list_ids(self) -> list[str]:
        """Full ids of the runtime's running containers."""
        ...

    def watch(self, stop: threading.Event, on_id: Callable[[str], None]) -> None:
        """Call ``on_id`` for each container the runtime creates or starts, until ``stop``
        is set (returns) or the connection fails (raises RuntimeAPIError)."""
        ...

    def close(self) -> None: ...


_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


def split_image(image: str) -> tuple[str, str, str | None]:
    """``repo[:tag][@digest]`` -> (repository, tag, digest); the tag is ``latest`` when
    neither a tag nor a digest is given, as Docker resolves it."""
    digest = None
    m = _DIGEST.search(image)
    if m is not None:
        digest = m.group(1)
        image = image[: m.start()]
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :], digest
    return image, ("" if digest else "latest"), digest


def strip_sha(image_id: str | None) -> str | None:
    """Image ids without the ``sha256:`` algorithm prefix, as Falco prints them."""
    if not image_id:
        return None
    return image_id.split(":", 1)[1] if image_id.startswith("sha256:") else image_id


def rfc3339_ns(text: str | None) -> int | None:
    """``2026-12-01T21:32:06.123456789Z`` (or with an offset) -> ns since epoch."""
    import calendar

    if not text or text.startswith("0001-"):
        return None
    m = re.fullmatch(
        r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text
    )
    if m is None:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    secs = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s)))
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        secs -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    ns = int((frac or "0")[:9].ljust(9, "0"))
    return secs * 1_000_000_000 + ns
