"""The period's questions counted per UTC day, channel, decision and first-cited article, with their
feedback and measured deflection: settled days read from the rollup, the rest counted live.

A day is *settled* once every one of its answers' 24-hour windows has closed (its end is at least
``REPEAT_WINDOW`` before both ``now`` and the clock): its deflection can no longer be pending, so
its counts are final until a row under them changes. Settled whole days are counted once, stored in
``analytics_day_group`` and read from there while ``analytics_day`` says nothing changed since
(database triggers raise its ``changes`` on every write to the rows a day's figures read; see
``bot.console.analytics_models``). Today, yesterday and partial days at the period's edges are
counted live, which is the same statement the rollup is counted with, so both give the same numbers.

Deflection is measured, not assumed: an answered question counts as deflected when the person
clicked "That fixed it", or when they neither opened a ticket nor asked again (same chat identity,
same channel) within ``REPEAT_WINDOW`` after it. "Still stuck" is never deflected. A question whose
window is still running (asked less than 24 hours before ``now``) with nothing decided yet is
``pending``, counted apart. A question asked without a chat identity can't be followed, so it counts
only on "That fixed it".

Storing a recount is the one write here: it commits on the given session, and when it can't (another
process recounting the same day at once) it is rolled back and the live counts are used as they are.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from bot.console.analytics_count import (
    ANSWER,
    REPEAT_WINDOW,
    Count,
    DayGroup,
    apply_now,
    count_rows,
    live_groups,
    midnight,
)
from bot.console.analytics_models import AnalyticsDay, AnalyticsDayGroup
from bot.console.analytics_sql import as_date, dialect
from bot.interactions.models import utcnow

__all__ = ["ANSWER", "REPEAT_WINDOW", "DayGroup", "live_groups", "midnight"]

log = logging.getLogger(__name__)


class AnalyticsMemo:
    """What one process already counted, kept between page views (on the app): each settled day's
    groups, and the last few other counts (live days, ticket times, unanswered questions), each under
    the ``analytics_day`` change counts it was made at, so it is reused only while no row under it
    changed. Thread-safe."""

    def __init__(self, *, capacity: int = 32) -> None:
        self._days: dict[str, tuple[int, list[DayGroup]]] = {}
        self._counts: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def day(self, key: str, changes: int) -> list[DayGroup] | None:
        """The groups remembered for the settled day ``key`` at ``changes``, or None."""
        with self._lock:
            found = self._days.get(key)
        return found[1] if found is not None and found[0] == changes else None

    def keep_day(self, key: str, changes: int, groups: list[DayGroup]) -> None:
        """Remember a settled day's groups as counted at ``changes``."""
        with self._lock:
            self._days[key] = (changes, groups)

    def recall(self, key: tuple[object, ...]) -> Any:
        """What was remembered under ``key`` (a count and the change counts it was made at), or None."""
        with self._lock:
            found = self._counts.get(key)
            if found is not None:
                self._counts.move_to_end(key)
            return found

    def remember(self, key: tuple[object, ...], value: object) -> None:
        """Remember ``value`` under ``key`` (the oldest forgotten past the capacity)."""
        with self._lock:
            self._counts[key] = value
            while len(self._counts) > self._capacity:
                self._counts.popitem(last=False)


def day_changes(
    *, session: Session, first: date, last: date, tickets: bool = False
) -> tuple[tuple[str, int], ...]:
    """The change counts (``tickets``: the ticket change counts) of the days from ``first`` to
    ``last`` (both included) that have one, in day order: a key under which a count of those days'
    rows stays true."""
    counter = AnalyticsDay.ticket_changes if tickets else AnalyticsDay.changes
    rows = session.execute(
        sql_select(col(AnalyticsDay.day), col(counter))
        .where(col(AnalyticsDay.day) >= first.isoformat(), col(AnalyticsDay.day) <= last.isoformat())
        .order_by(col(AnalyticsDay.day))
    ).all()
    return tuple((str(day), int(n)) for day, n in rows)


def _live(
    *, session: Session, start: datetime, end: datetime, now: datetime, memo: AnalyticsMemo | None
) -> list[DayGroup]:
    """``live_groups``, reusing the memo's count while the change counts of every day it read (the
    period and the day after it) are the same."""
    if memo is None:
        return live_groups(session=session, start=start, end=end, now=now)
    cutoff = min(start, now - REPEAT_WINDOW)
    changes = day_changes(session=session, first=start.date(), last=(end + REPEAT_WINDOW).date())
    key = ("live", start, end, cutoff, changes)
    counted: Count | None = memo.recall(key)
    if counted is None:
        counted = count_rows(session=session, start=start, end=end, cutoff=cutoff)
        memo.remember(key, counted)
    return apply_now(counted, now)


def day_groups(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    now: datetime,
    memo: AnalyticsMemo | None = None,
) -> list[DayGroup]:
    """The period's questions counted per day, channel, decision and article as of ``now``: settled
    whole days from the rollup (recounted and stored first where a row under them changed), the rest
    live; with a ``memo``, what this process counted before and nothing changed under. In no
    particular order."""
    settled_until = (min(now, utcnow()) - REPEAT_WINDOW).date()  # days before it are settled
    first_full = start.date() if start == midnight(start.date()) else start.date() + timedelta(days=1)
    roll_start, roll_end = first_full, min(end.date(), settled_until)
    if roll_start >= roll_end:
        return _live(session=session, start=start, end=end, now=now, memo=memo)
    found = _rolled(session=session, first=roll_start, end=roll_end, now=now, memo=memo)
    if start < midnight(roll_start):
        found += _live(session=session, start=start, end=midnight(roll_start), now=now, memo=memo)
    if midnight(roll_end) < end:
        found += _live(session=session, start=midnight(roll_end), end=end, now=now, memo=memo)
    return found


def _rolled(
    *, session: Session, first: date, end: date, now: datetime, memo: AnalyticsMemo | None
) -> list[DayGroup]:
    """The settled days from ``first`` up to ``end`` (excluded): remembered or stored counts where
    they are current, recounted (and stored) where not."""
    keys = (first.isoformat(), end.isoformat())
    states = session.execute(
        sql_select(col(AnalyticsDay.day), col(AnalyticsDay.changes), col(AnalyticsDay.rolled)).where(
            col(AnalyticsDay.day) >= keys[0], col(AnalyticsDay.day) < keys[1]
        )
    ).all()
    changes = {str(day): int(n) for day, n, _rolled in states}
    current = {str(day) for day, n, rolled in states if rolled is not None and rolled == n}
    found: list[DayGroup] = []
    unread: list[str] = []
    for day in sorted(current):
        remembered = memo.day(day, changes[day]) if memo is not None else None
        if remembered is None:
            unread.append(day)
        else:
            found += remembered
    if unread:
        read = _stored(session=session, days=unread)
        for day in unread:
            groups = read.get(day, [])
            found += groups
            if memo is not None:
                memo.keep_day(day, changes[day], groups)
    stale = [d for d in _days(first, end) if d.isoformat() not in current]
    if not stale:
        return found
    recounted: list[DayGroup] = []
    for run_first, run_end in _runs(stale):
        run_rows = count_rows(
            session=session, start=midnight(run_first), end=midnight(run_end), cutoff=midnight(run_end)
        )
        recounted += apply_now(run_rows, now)
    _store(session=session, days=stale, groups=recounted, seen=changes)
    return found + recounted


def _stored(*, session: Session, days: list[str]) -> dict[str, list[DayGroup]]:
    """The stored groups of ``days``, by day."""
    rows = session.execute(
        sql_select(
            col(AnalyticsDayGroup.day),
            col(AnalyticsDayGroup.channel),
            col(AnalyticsDayGroup.decision),
            col(AnalyticsDayGroup.article),
            col(AnalyticsDayGroup.questions),
            col(AnalyticsDayGroup.fixed),
            col(AnalyticsDayGroup.stuck),
            col(AnalyticsDayGroup.deflected),
            col(AnalyticsDayGroup.confirmed),
        ).where(col(AnalyticsDayGroup.day) >= min(days), col(AnalyticsDayGroup.day) <= max(days))
    ).all()
    wanted = set(days)
    found: dict[str, list[DayGroup]] = {}
    for day, channel, decision, article, n, fixed, stuck, deflected, confirmed in rows:
        if day in wanted:
            group = DayGroup(
                as_date(day), channel, decision, article or None, n, fixed, stuck, deflected, confirmed, 0
            )
            found.setdefault(day, []).append(group)
    return found


def _days(first: date, end: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((end - first).days)]


def _runs(days: list[date]) -> Iterable[tuple[date, date]]:
    """Consecutive days as (first, end excluded) ranges."""
    run_first = previous = days[0]
    for day in days[1:]:
        if day != previous + timedelta(days=1):
            yield run_first, previous + timedelta(days=1)
            run_first = day
        previous = day
    yield run_first, previous + timedelta(days=1)


def _store(*, session: Session, days: list[date], groups: list[DayGroup], seen: dict[str, int]) -> None:
    """Replace the stored counts of ``days`` with ``groups`` and mark each day current at the change
    count read before counting (``seen``), unless it has changed since: then the next reader recounts."""
    keys = [d.isoformat() for d in days]
    upsert = sqlite_insert if dialect(session) == "sqlite" else postgresql_insert
    try:
        session.execute(delete(AnalyticsDayGroup).where(col(AnalyticsDayGroup.day).in_(keys)))
        if groups:
            session.execute(
                insert(AnalyticsDayGroup),
                [
                    {
                        "day": g.day.isoformat(),
                        "channel": g.channel,
                        "decision": g.decision,
                        "article": g.article or "",
                        "questions": g.questions,
                        "fixed": g.fixed,
                        "stuck": g.stuck,
                        "deflected": g.deflected,
                        "confirmed": g.confirmed,
                    }
                    for g in groups
                ],
            )
        for key in keys:
            count = seen.get(key, 0)
            statement = upsert(AnalyticsDay).values(day=key, changes=count, rolled=count)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["day"],
                    set_={"rolled": count},
                    where=col(AnalyticsDay.changes) == count,
                )
            )
        session.commit()
    except SQLAlchemyError as error:
        session.rollback()
        log.warning(
            "analytics rollup not stored", extra={"event": "rollup_skipped", "error": type(error).__name__}
        )
