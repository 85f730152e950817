"""The retry schedule: the first delay, doubling, capped, lengthened by jitter; a receiver's
Retry-After lengthens it but never shortens it; the dead letter needs the tries and the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.tickets.outbox import backoff_seconds, retry_delay, spent
from bot.tickets.outbox_models import OutboxMessage

NO_JITTER = {"base_seconds": 2.0, "max_seconds": 300.0}


def test_the_delay_doubles_from_the_base_up_to_the_cap() -> None:
    delays = [backoff_seconds(attempts=n, **NO_JITTER) for n in range(1, 11)]

    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0]


def test_a_huge_attempt_count_stays_at_the_cap() -> None:
    assert backoff_seconds(attempts=5000, **NO_JITTER) == 300.0


def test_jitter_only_lengthens_the_delay_by_up_to_its_fraction() -> None:
    def at(u: float, attempts: int) -> float:
        return backoff_seconds(attempts=attempts, jitter=0.2, rand=lambda: u, **NO_JITTER)

    assert [at(0.0, 1), at(0.5, 1), at(0.999, 1)] == [2.0, 2.2, 2.0 * (1 + 0.2 * 0.999)]
    # At the cap too, or every message failing together would come back together.
    assert at(0.5, 40) == 330.0


def test_retry_after_lengthens_the_back_off_but_never_shortens_it() -> None:
    assert backoff_seconds(attempts=1, retry_after=600.0, **NO_JITTER) == 600.0
    assert backoff_seconds(attempts=9, retry_after=5.0, **NO_JITTER) == 300.0
    assert backoff_seconds(attempts=1, retry_after=1.0, **NO_JITTER) == 2.0
    assert backoff_seconds(attempts=1, retry_after=0.0, **NO_JITTER) == 2.0


def test_retry_after_is_believed_up_to_its_cap() -> None:
    assert (
        backoff_seconds(attempts=1, retry_after=86400.0, retry_after_max_seconds=3600.0, **NO_JITTER)
        == 3600.0
    )


def test_retry_delay_reads_the_outbox_settings() -> None:
    settings = Settings(
        outbox_backoff_seconds=1.5,
        outbox_backoff_max_seconds=10.0,
        outbox_backoff_jitter=0.5,
        outbox_retry_after_max_seconds=60.0,
    )

    def delay(attempts: int, retry_after: float | None = None) -> float:
        return retry_delay(settings=settings, attempts=attempts, retry_after=retry_after, rand=lambda: 0.5)

    assert [delay(n) for n in (1, 2, 3, 4)] == [1.875, 3.75, 7.5, 12.5]
    assert delay(1, retry_after=600.0) == 60.0


def test_the_dead_letter_needs_both_the_tries_and_the_time_since_the_first_try() -> None:
    settings = Settings(outbox_max_attempts=20, outbox_dead_letter_after_seconds=86400.0)
    first = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)

    def is_spent(attempts: int, after: timedelta) -> bool:
        message = OutboxMessage(
            target="itsm",
            topic="ticket.created",
            idempotency_key="k",
            attempts=attempts,
            first_attempt_at=first,
        )
        return spent(message=message, now=first + after, settings=settings)

    assert not is_spent(20, timedelta(seconds=19))
    assert not is_spent(19, timedelta(days=2))
    assert not is_spent(300, timedelta(hours=23, minutes=59))
    assert is_spent(20, timedelta(days=1))
