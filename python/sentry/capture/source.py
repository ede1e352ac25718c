"""What every source of syscall events offers the layers above it.

Every source is a :class:`RecordSource`: batches of records, counters, close. Syscall
sources (:class:`EventSource`) yield :class:`sentry.events.event.Event`; the Kubernetes
audit file source (:class:`sentry.capture.k8saudit.AuditFileSource`) is a
``RecordSource[AuditEvent]``. For live drivers the
events of a batch point into the ring (zero copy) and stay valid until the next batch
is asked for; call ``Event.detach()`` to keep one longer. Counters are reported as
:class:`CaptureStats` so that dropped events are never silent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from sentry.events.event import Event  # noqa: F401 - the string in EventSource's base


@dataclass(slots=True)
class CaptureStats:
    """Counters summed over CPUs, as in the ring control page.

    ``events`` were written; ``drops`` lost (ring full, internal error, re-entry), so
    every event a driver generated was received or is in ``drops``. ``drops_page_fault``
    counts written events with a user parameter left empty (memory not readable): they
    were delivered, so they are not drops. ``suppressed`` were filtered out on purpose
    (interest set, own process, sampling, quiet opens); ``quiet`` of them are opens and
    closes of quiet files the eBPF probe left out (``probe_quiet.h``), and ``quiet_written``
    counts held opens it wrote late, before another event of their process.
    """

    events: int = 0
    drops_buffer: int = 0
    drops_page_fault: int = 0
    drops_bug: int = 0
    preemptions: int = 0
    suppressed: int = 0
    quiet: int = 0
    quiet_written: int = 0

    def summary(self) -> str:
        """One line for run and tail summaries: suppressed is not dropped, but shown."""
        text = (
            f"capture: {self.events} events written, {self.drops} dropped, "
            f"{self.suppressed} suppressed"
        )
        if self.quiet or self.quiet_written:
            text += (
                f" ({self.quiet} opens/closes of quiet files left out in the kernel, "
                f"{self.quiet_written} held opens written late)"
            )
        return text

    @property
    def drops(self) -> int:
        """Events lost: generated but never written to a ring."""
        return self.drops_buffer + self.drops_bug + self.preemptions


R = TypeVar("R")


class RecordSource(Protocol[R]):
    """A capture of records of one kind, read in batches."""

    def batches(self) -> Iterator[list[R]]:
        """Yield batches in timestamp order until the source ends or is closed."""
        ...

    def stats(self) -> CaptureStats:
        """Counters so far."""
        ...

    def close(self) -> None:
        """Stop capturing and release the device or file."""
        ...


class EventSource(RecordSource["Event"], Protocol):
    """A capture of syscall events: a .scap file, the kernel module or the eBPF probe."""


@runtime_checkable
class LiveSource(EventSource, Protocol):
    """A live driver: also takes the interest set (syscall numbers), snaplen and sampling."""

    description: str  # what captures, for the log line at start ("kernel module (2 rings ...)")

    def set_interest(self, syscalls: Iterable[int] | None) -> None:
        """Capture only these syscall numbers (None: all)."""
        ...

    def set_snaplen(self, snaplen: int) -> None: ...

    def set_quiet(self, paths: Iterable[str]) -> list[str]:
        """Leave out in the kernel the opens and closes of these files that no rule can
        see (``rules/quiet.py``); the paths taken (a driver without the filter: none)."""
        ...

    def set_sampling(self, ratio: int) -> None:
        """Scap's dropping mode: keep 1/ratio of each second but every state-building event
        (1: keep everything); a ratio outside 1..SAMPLING_MAX is a DriverError."""
        ...


@runtime_checkable
class SelectsTypes(Protocol):
    """A source that delivers only these event types (None: all), the others skipped
    before decoding: the capture reader, the eBPF probe (its interest set follows)."""

    event_types: frozenset[int] | None


@runtime_checkable
class SkipsGeneric(Protocol):
    """A source that leaves in the file the generic events of syscalls outside
    ``syscall_ids`` (None: none left), not decoded: the capture reader."""

    syscall_ids: frozenset[int] | None
