"""In-process rate limits: a token bucket per key (a client address, a conversation id).

Each server process keeps its own buckets, so with N processes behind a load balancer a client may
make up to N times the configured rate; the limits are there to stop floods, not to meter exactly.
Pure Python, no framework: the request guards (``bot.request_guards``) decide what a key is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Buckets kept at most; past it the full (idle) ones are forgotten first, then the oldest.
DEFAULT_MAX_KEYS = 50_000


class RateLimiter:
    """At most ``limit`` events per ``period`` seconds per key, refilled continuously.

    A key starts with ``limit`` tokens; each event takes one; tokens come back at ``limit / period``
    a second. Memory is bounded by ``max_keys`` (an attacker inventing keys cannot grow it without
    bound; a forgotten key simply starts full again). Safe to share between threads.
    """

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a rate limit needs limit >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self._rate = limit / period
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when the event is allowed, else the seconds until it would be
        (nothing is taken then)."""
        with self._lock:
            tokens = self._tokens(key)
            if tokens >= 1:
                self._store(key, tokens - 1)
                return 0.0
            return (1 - tokens) / self._rate

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may have an event (0.0: now), taking nothing."""
        with self._lock:
            tokens = self._tokens(key)
            return 0.0 if tokens >= 1 else (1 - tokens) / self._rate

    def charge(self, key: str) -> None:
        """Count an event that already happened, even past the limit (the debt is waited off)."""
        with self._lock:
            self._store(key, max(self._tokens(key) - 1, -float(self.limit)))

    def __len__(self) -> int:
        """How many keys the limiter remembers (never much over ``max_keys``)."""
        return len(self._buckets)

    def _tokens(self, key: str) -> float:
        stored = self._buckets.get(key)
        if stored is None:
            return float(self.limit)
        tokens, when = stored
        return min(float(self.limit), tokens + (self._clock() - when) * self._rate)

    def _store(self, key: str, tokens: float) -> None:
        self._buckets.pop(key, None)  # re-inserted last: the dict's order is least recently used first
        self._buckets[key] = (tokens, self._clock())
        if len(self._buckets) > self._max_keys:
            self._forget()

    def _forget(self) -> None:
        # Down to half the cap at once, so a flood of new keys costs one sweep per max_keys / 2 keys.
        now = self._clock()
        full = [k for k, (t, w) in self._buckets.items() if t + (now - w) * self._rate >= self.limit]
        for key in full:
            del self._buckets[key]
        excess = len(self._buckets) - self._max_keys // 2
        for key in list(self._buckets)[: max(excess, 0)]:
            del self._buckets[key]


def limiter(limit: int, period: float) -> RateLimiter | None:
    """A ``RateLimiter`` for ``limit`` events per ``period`` seconds, or None when ``limit`` is 0 (off)."""
    return RateLimiter(limit, period) if limit > 0 else None
