"""The retry schedule: the first delay, doubling, capped; a receiver's Retry-After wins."""

from __future__ import annotations

from bot.config import Settings
from bot.tickets.outbox import backoff_seconds, retry_delay


def test_the_delay_doubles_from_the_base_up_to_the_cap() -> None:
    delays = [backoff_seconds(attempts=n, base_seconds=2.0, max_seconds=300.0) for n in range(1, 11)]

    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0]


def test_a_huge_attempt_count_stays_at_the_cap() -> None:
    assert backoff_seconds(attempts=5000, base_seconds=2.0, max_seconds=300.0) == 300.0


def test_retry_after_replaces_the_schedule_within_a_second_and_an_hour() -> None:
    assert backoff_seconds(attempts=9, base_seconds=2.0, max_seconds=300.0, retry_after=5.0) == 5.0
    assert backoff_seconds(attempts=1, base_seconds=2.0, max_seconds=300.0, retry_after=600.0) == 600.0
    assert backoff_seconds(attempts=1, base_seconds=2.0, max_seconds=300.0, retry_after=0.0) == 1.0
    assert backoff_seconds(attempts=1, base_seconds=2.0, max_seconds=300.0, retry_after=86400.0) == 3600.0


def test_retry_delay_reads_the_outbox_settings() -> None:
    settings = Settings(outbox_backoff_seconds=1.5, outbox_backoff_max_seconds=10.0)

    assert [retry_delay(settings=settings, attempts=n) for n in (1, 2, 3, 4)] == [1.5, 3.0, 6.0, 10.0]
