"""The analytics page's pure parts: the period, percentiles, chart series and the vector cache."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import numpy as np
import pytest

from bot.console.analytics import (
    DEFAULT_DAYS,
    MAX_DAYS,
    CachingEncoder,
    Period,
    PeriodError,
    daily_chart,
    duration_text,
    percentile,
    period_from,
    share_text,
)
from bot.console.analytics_queries import DayCount
from indexer.encoder import HashingEncoder, Vectors

TODAY = date(2026, 3, 31)


def test_the_default_period_is_the_last_thirty_days_up_to_today() -> None:
    period = period_from("", "", today=TODAY)
    assert (period.first, period.last, period.days) == (date(2026, 3, 2), TODAY, DEFAULT_DAYS)
    assert period.start == datetime(2026, 3, 2, tzinfo=UTC)
    assert period.end == datetime(2026, 4, 1, tzinfo=UTC)


def test_a_period_includes_both_of_its_days() -> None:
    period = period_from("2026-03-02", "2026-03-04", today=TODAY)
    assert period.dates() == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        ("2026-03-05", "2026-03-01", "after the end"),
        ("yesterday", "", "YYYY-MM-DD"),
        ("2024-01-01", "2026-01-01", f"at most {MAX_DAYS} days"),
    ],
)
def test_an_unusable_period_is_refused_with_a_reason(start: str, end: str, reason: str) -> None:
    with pytest.raises(PeriodError, match=reason):
        period_from(start, end, today=TODAY)


def test_percentiles_interpolate_between_the_nearest_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([1800.0, 3600.0], 0.9) == pytest.approx(3420.0)
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None


def test_durations_and_shares_read_as_people_write_them() -> None:
    assert [duration_text(s) for s in (None, 45, 2700, 18000, 2 * 86400)] == [
        "–",
        "45 s",
        "45 min",
        "5.0 h",
        "2.0 d",
    ]
    assert (share_text(1, 3), share_text(0, 0)) == ("33.3%", "–")


def test_the_daily_chart_has_every_day_and_a_series_per_channel() -> None:
    period = Period(first=date(2026, 3, 2), last=date(2026, 3, 4))
    chart = daily_chart(
        period, [DayCount(date(2026, 3, 2), "web", 2), DayCount(date(2026, 3, 4), "slack", 1)]
    )
    assert chart == {
        "labels": ["2026-03-02", "2026-03-03", "2026-03-04"],
        "series": [{"name": "slack", "data": [0, 0, 1]}, {"name": "web", "data": [2, 0, 0]}],
    }


class CountingEncoder:
    def __init__(self) -> None:
        self.inner = HashingEncoder(dim=16)
        self.name, self.dim = self.inner.name, self.inner.dim
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.seen.extend(texts)
        return self.inner.encode(texts)


def test_the_caching_encoder_encodes_each_text_once_and_gives_the_same_vectors() -> None:
    counting = CountingEncoder()
    cached = CachingEncoder(counting, capacity=3)
    first = cached.encode(["a b", "c d"])
    second = cached.encode(["c d", "e f", "a b"])
    assert counting.seen == ["a b", "c d", "e f"]
    assert np.array_equal(second[0], first[1]) and np.array_equal(second[2], first[0])
    assert np.array_equal(second, counting.inner.encode(["c d", "e f", "a b"]))
    cached.encode(["g h"])  # past the capacity the least recently used text ("c d") is forgotten
    cached.encode(["c d"])
    assert counting.seen[-1] == "c d" and len(counting.seen) == 5
    assert cached.encode([]).shape == (0, 16)
