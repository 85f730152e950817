"""Times IT types: ISO 8601 (UTC when no zone is given) or relative to now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.notices.errors import BadScheduleError
from bot.notices.times import optional_time, parse_time

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+30m", NOW + timedelta(minutes=30)),
        ("2h", NOW + timedelta(hours=2)),
        ("1 day", NOW + timedelta(days=1)),
        ("2026-12-04T02:00", datetime(2026, 12, 4, 2, 0, tzinfo=UTC)),
        ("2026-12-04T02:00-05:00", datetime(2026, 12, 4, 7, 0, tzinfo=UTC)),
        ("2026-12-04T02:00Z", datetime(2026, 12, 4, 2, 0, tzinfo=UTC)),
    ],
)
def test_times_are_read_as_utc(text: str, expected: datetime) -> None:
    assert parse_time(text, NOW) == expected


def test_an_unreadable_time_is_refused_with_an_example() -> None:
    with pytest.raises(BadScheduleError) as refused:
        parse_time("tomorrow-ish", NOW)
    assert "2026-12-04T02:00" in refused.value.user_message


def test_a_blank_optional_time_is_none() -> None:
    assert optional_time("  ", NOW) is None and optional_time(None, NOW) is None
