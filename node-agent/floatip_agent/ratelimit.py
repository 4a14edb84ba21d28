"""A token bucket: re-asserting a VIP against an intruder at a bounded rate (pure).

DESIGN.md safety 5: when a foreign host claims a VIP, the holder keeps re-announcing, but at
a bounded rate, so two hosts fighting over an address (or a malicious flood of claims) do
not turn into an ARP storm. A burst of `capacity` answers is allowed at once; after that
one every ``1/rate`` seconds. The clock is injected, so tests need no sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`capacity` tokens, refilled at `rate` tokens per second, starting full."""

    def __init__(
        self, *, capacity: float, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity < 1:
            raise ValueError(f"token bucket capacity must be at least 1, got {capacity}")
        if rate <= 0:
            raise ValueError(f"token bucket rate must be positive (tokens per second), got {rate}")
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        if now <= self._stamp:
            return  # no time passed, or the clock went backwards: add nothing
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        self._refill()
        return self._tokens

    def try_take(self, cost: float = 1.0) -> bool:
        """Take `cost` tokens if available and return True; else take none and return False."""
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def wait_time(self, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens will be available (0 if they are now)."""
        if cost > self.capacity:
            raise ValueError(f"cost {cost} exceeds the bucket's capacity {self.capacity}")
        self._refill()
        return max(0.0, (cost - self._tokens) / self.rate)
