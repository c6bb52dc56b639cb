"""Token buckets, one per chat session, so one runaway client cannot flood a session (or the disk).

A bucket holds up to ``burst`` tokens and refills at ``per_minute / 60`` tokens a second: a learner
typing never notices it, a script sending in a tight loop gets ``RATE_LIMITED`` after ``burst``
messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    __slots__ = ("_clock", "_rate", "_stamp", "_tokens", "burst")

    def __init__(self, per_minute: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = max(1, int(burst))
        self._rate = max(0.0, float(per_minute)) / 60.0
        self._clock = clock
        self._tokens = float(self.burst)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(float(self.burst), self._tokens + elapsed * self._rate)

    def try_acquire(self) -> bool:
        """Takes one token if there is one; never blocks."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def full(self) -> bool:
        self._refill()
        return self._tokens >= self.burst


class RateLimiter:
    """Buckets keyed by session id, created on first use and forgotten once full again (idle)."""

    def __init__(self, per_minute: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def try_acquire(self, key: str) -> bool:
        if not self.enabled:
            return True
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 1024:
                self._prune()
            bucket = self._buckets[key] = TokenBucket(self.per_minute, self.burst, clock=self._clock)
        return bucket.try_acquire()

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)

    def _prune(self) -> None:
        for key in [k for k, b in self._buckets.items() if b.full]:
            del self._buckets[key]
