"""The fan-out from the rule engine to every enabled output channel.

:class:`Outputs` applies the alert rate limit (``outputs.rate``/``max_burst``), then hands
each :class:`~sentry.outputs.channels.Message` to every channel's
:class:`~sentry.outputs.channels.Delivery`. It never blocks and never raises because a
channel is failing; throttled alerts are counted, and :meth:`Outputs.stats` reports what
became of every alert per channel.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sentry.outputs.channels import Delivery, DeliveryStats, Message
from sentry.outputs.tokenbucket import TokenBucket


class Outputs:
    """Every enabled channel, behind one rate limiter; thread-safe."""

    def __init__(self, deliveries: Iterable[Delivery], rate: float = 0.0, max_burst: int = 1000):
        self.deliveries = list(deliveries)
        self._bucket = TokenBucket(rate, max_burst)
        self._lock = threading.Lock()
        self.emitted = 0
        self.throttled = 0

    def emit(self, msg: Message) -> bool:
        """Queue ``msg`` on every channel; False when the rate limit dropped it (counted)."""
        with self._lock:
            if not self._bucket.claim():
                self.throttled += 1
                return False
            self.emitted += 1
        for delivery in self.deliveries:
            delivery.put(msg)
        return True

    def reopen(self) -> None:
        """Reopen files, programs and connections (SIGUSR1, log rotation)."""
        for delivery in self.deliveries:
            delivery.reopen()

    def stats(self) -> dict[str, DeliveryStats]:
        return {d.channel.name: d.stats for d in self.deliveries}

    def close(self, timeout: float = 5.0) -> None:
        """Drain every channel (sharing ``timeout``) and stop the workers."""
        for delivery in self.deliveries:
            delivery.close(timeout)
