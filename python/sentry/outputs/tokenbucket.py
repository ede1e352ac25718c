"""A token bucket: ``rate`` tokens per second up to ``max_burst``, as falco.yaml describes.

Used to throttle alerts (``outputs.rate``/``max_burst``) and syscall-drop actions
(``syscall_event_drops.rate``/``max_burst``). Time is passed in (ns), so event time can
drive it when replaying a capture; ``rate == 0`` means unlimited.
"""

from __future__ import annotations

import time


class TokenBucket:
    """Claim one token per action; a claim fails (returns False) when the bucket is empty."""

    __slots__ = ("_last_ns", "_tokens", "max_burst", "rate")

    def __init__(self, rate: float, max_burst: int, now_ns: int | None = None):
        self.rate = rate
        self.max_burst = max_burst
        self._tokens = float(max_burst)
        self._last_ns = time.monotonic_ns() if now_ns is None else now_ns

    def claim(self, now_ns: int | None = None) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic_ns() if now_ns is None else now_ns
        if now > self._last_ns:
            gained = (now - self._last_ns) * self.rate / 1e9
            self._tokens = min(float(self.max_burst), self._tokens + gained)
            self._last_ns = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
