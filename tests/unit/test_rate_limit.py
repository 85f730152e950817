"""The token bucket behind the web chat's rate limits, on a clock the test moves."""

from __future__ import annotations

import pytest

from bot.rate_limit import RateLimiter, limiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_has_its_limit_then_waits_for_the_next_token() -> None:
    clock = Clock()
    bucket = RateLimiter(3, 60.0, clock=clock)

    allowed = [bucket.take("a") for _ in range(3)]
    refused = bucket.take("a")

    assert allowed == [0.0, 0.0, 0.0]
    assert refused == pytest.approx(20.0)
    assert bucket.take("b") == 0.0  # keys are independent


def test_tokens_come_back_at_the_limit_over_the_period() -> None:
    clock = Clock()
    bucket = RateLimiter(3, 60.0, clock=clock)
    for _ in range(3):
        bucket.take("a")

    clock.now += 20.0

    assert bucket.take("a") == 0.0
    assert bucket.take("a") > 0


def test_wait_takes_nothing() -> None:
    bucket = RateLimiter(1, 60.0, clock=Clock())

    assert bucket.wait("a") == 0.0
    assert bucket.wait("a") == 0.0
    assert bucket.take("a") == 0.0
    assert bucket.wait("a") == pytest.approx(60.0)


def test_charge_counts_past_the_limit_and_the_debt_is_waited_off() -> None:
    clock = Clock()
    bucket = RateLimiter(1, 3600.0, clock=clock)

    bucket.charge("a")
    bucket.charge("a")

    assert bucket.wait("a") == pytest.approx(7200.0)
    clock.now += 7200.0
    assert bucket.wait("a") == 0.0


def test_inventing_keys_does_not_grow_memory_past_the_cap() -> None:
    bucket = RateLimiter(1, 60.0, clock=Clock(), max_keys=100)

    for n in range(1000):
        bucket.take(f"conv:{n}")

    assert len(bucket) <= 100


def test_a_limit_of_zero_is_no_limiter() -> None:
    assert limiter(0, 60.0) is None
    assert isinstance(limiter(5, 60.0), RateLimiter)
