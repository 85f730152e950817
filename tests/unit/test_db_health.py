"""The database breaker: after a failed connection, new ones fail at once until it is time to try
one again; one success ends the outage (``bot.db.DatabaseHealth``, on a fake clock)."""

from __future__ import annotations

from bot.db import DatabaseHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> DatabaseHealth:
    return DatabaseHealth(retry_seconds=2.0, probe_timeout=1.0, cache_seconds=5.0, clock=clock)


def test_a_healthy_database_admits_every_connection() -> None:
    health = breaker(Clock())

    assert [health.admit() for _ in range(3)] == [True, True, True] and not health.down


def test_after_a_failure_connections_fail_at_once_until_one_may_try_again() -> None:
    clock = Clock()
    health = breaker(clock)

    health.failed("OperationalError")
    refused = [health.admit() for _ in range(3)]
    clock.now += 2.0
    tries = [health.admit(), health.admit()]

    assert refused == [False, False, False]
    assert tries == [True, False]  # one tries; the others wait for it
    assert health.down and health.reason == "OperationalError"


def test_a_connection_made_ends_the_outage() -> None:
    health = breaker(Clock())
    health.failed("OperationalError")

    health.succeeded()

    assert health.admit() and not health.down and health.reason == ""
