"""The analytics page's figures, pure: the period asked for, percentiles, chart series and CSV tables.

Everything here works on what ``bot.console.analytics_queries`` returned; nothing reads the
database. CSV tables hold counts, durations and article ids only: no question text leaves the
console (the top gaps' example questions are shown on the page, never exported).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from bot.console.analytics_queries import ArticleUse, DayCount, Deflection, Outcomes, TicketTimes
from bot.console.gaps import Gap
from indexer.encoder import Encoder, Vectors

DEFAULT_DAYS = 30
MAX_DAYS = 366


class PeriodError(ValueError):
    """A date range the page can't show; the message says why, in words for the reader."""


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The period's first instant (midnight UTC of ``first``)."""
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The instant just after the period (midnight UTC after ``last``)."""
        return self.start + timedelta(days=self.days)

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.last - self.first).days + 1

    def dates(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.first + timedelta(days=i) for i in range(self.days)]


def period_from(start: str, end: str, *, today: date) -> Period:
    """The period named by two ``YYYY-MM-DD`` strings (either may be blank): by default the
    ``DEFAULT_DAYS`` days up to ``today``. Raises ``PeriodError`` for an unreadable date, a start
    after the end, or more than ``MAX_DAYS`` days."""
    try:
        last = date.fromisoformat(end) if end.strip() else today
        first = date.fromisoformat(start) if start.strip() else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise PeriodError("Write dates as YYYY-MM-DD.") from None
    if first > last:
        raise PeriodError("The start date is after the end date.")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"Choose at most {MAX_DAYS} days.")
    return Period(first=first, last=last)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` (0..1) percentile of ``values`` by linear interpolation between the two nearest
    ranks (the median of 1, 2, 3, 4 is 2.5); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def duration_text(seconds: float | None) -> str:
    """A duration as people read it: ``45 s``, ``12 min``, ``3.5 h``, ``2.1 d``; ``–`` for none."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def share_text(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal; ``–`` when ``whole`` is 0."""
    return f"{100 * part / whole:.1f}%" if whole else "–"


@dataclass(frozen=True)
class TicketSummary:
    """Tickets opened, and the median and 90th percentile of first response and resolution (seconds)."""

    opened: int
    responded: int
    resolved: int
    first_response_median: float | None
    first_response_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None


def ticket_summary(times: TicketTimes) -> TicketSummary:
    """``times`` reduced to counts, medians and 90th percentiles."""
    first, done = times.first_response_seconds, times.resolution_seconds
    return TicketSummary(
        opened=times.opened,
        responded=len(first),
        resolved=len(done),
        first_response_median=percentile(first, 0.5),
        first_response_p90=percentile(first, 0.9),
        resolution_median=percentile(done, 0.5),
        resolution_p90=percentile(done, 0.9),
    )


def daily_chart(period: Period, days: Sequence[DayCount]) -> dict[str, Any]:
    """The questions-per-day chart: one label per day of the period (days without questions show 0)
    and one series per channel."""
    labels = [d.isoformat() for d in period.dates()]
    index = {label: i for i, label in enumerate(labels)}
    series: dict[str, list[int]] = {}
    for row in days:
        counts = series.setdefault(row.channel, [0] * len(labels))
        position = index.get(row.day.isoformat())
        if position is not None:
            counts[position] = row.questions
    return {"labels": labels, "series": [{"name": k, "data": series[k]} for k in sorted(series)]}


def outcome_chart(found: Outcomes, deflected: Deflection) -> dict[str, Any]:
    """The outcomes chart: answered (split into deflected and not), clarified, escalated, outage."""
    return {
        "labels": ["answered, deflected", "answered, not deflected", "clarified", "escalated", "outage"],
        "data": [
            deflected.deflected,
            found.answered - deflected.deflected,
            found.clarified,
            found.escalated,
            found.outage,
        ],
    }


CsvTable = tuple[list[str], list[list[str]]]


def daily_table(period: Period, days: Sequence[DayCount]) -> CsvTable:
    """day, channel, questions: one row per day and channel that had questions."""
    return ["day", "channel", "questions"], [
        [d.day.isoformat(), d.channel, str(d.questions)] for d in days if period.first <= d.day <= period.last
    ]


def outcome_table(found: Outcomes, deflected: Deflection) -> CsvTable:
    """measure, count: the period's questions by what happened to them, and the deflection figures."""
    rows: list[tuple[str, int]] = [
        ("questions", found.questions),
        ("answered", found.answered),
        ("clarified", found.clarified),
        ("escalated", found.escalated),
        ("outage", found.outage),
        ("deflected", deflected.deflected),
        ("deflected_confirmed_fixed_it", deflected.confirmed),
        ("pending_within_24h", deflected.pending),
        ("judged", deflected.judged),
    ]
    return ["measure", "count"], [[name, str(n)] for name, n in rows]


def article_table(articles: Sequence[ArticleUse]) -> CsvTable:
    """article, answers, fixed_it, still_stuck."""
    return ["article", "answers", "fixed_it", "still_stuck"], [
        [a.article, str(a.answers), str(a.fixed), str(a.stuck)] for a in articles
    ]


def gap_table(gaps: Sequence[Gap]) -> CsvTable:
    """rank, people, questions, escalated, clarified, stuck: counts only, never the questions' text."""
    rows = []
    for rank, gap in enumerate(gaps, start=1):
        outcomes = gap.outcomes
        rows.append(
            [
                str(rank),
                str(gap.people),
                str(len(gap.questions)),
                str(outcomes.get("escalate", 0)),
                str(outcomes.get("clarify", 0)),
                str(outcomes.get("stuck", 0)),
            ]
        )
    return ["rank", "people", "questions", "escalated", "clarified", "stuck"], rows


def ticket_table(summary: TicketSummary) -> CsvTable:
    """measure, value: tickets opened, responded, resolved, and the median / p90 times in seconds."""

    def seconds(value: float | None) -> str:
        return "" if value is None else f"{value:.0f}"

    rows = [
        ["opened", str(summary.opened)],
        ["responded", str(summary.responded)],
        ["resolved", str(summary.resolved)],
        ["first_response_median_seconds", seconds(summary.first_response_median)],
        ["first_response_p90_seconds", seconds(summary.first_response_p90)],
        ["resolution_median_seconds", seconds(summary.resolution_median)],
        ["resolution_p90_seconds", seconds(summary.resolution_p90)],
    ]
    return ["measure", "value"], rows


class CachingEncoder:
    """An ``Encoder`` that remembers the vectors of the last ``capacity`` texts it encoded.

    Gap groups are made afresh on every page view from mostly the same questions; encoding only the
    new ones keeps the page fast. Thread-safe; the vectors are the wrapped encoder's, unchanged.
    """

    def __init__(self, inner: Encoder, *, capacity: int = 20_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        """The vectors of ``texts`` in order, encoding only the ones not remembered."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        fresh = self.inner.encode(missing) if missing else np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            for text, vector in zip(missing, fresh, strict=True):
                self._vectors[text] = vector
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in found:
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._capacity:
                self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)
