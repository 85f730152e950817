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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal, null, or_, union_all
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from bot.console.analytics_models import AnalyticsDay, AnalyticsDayGroup
from bot.console.analytics_sql import as_date, dialect, in_period, later, utc_day
from bot.interactions.models import Feedback, Interaction, utcnow
from bot.tickets.models import Ticket

log = logging.getLogger(__name__)

REPEAT_WINDOW = timedelta(hours=24)
ANSWER = "answer"


@dataclass(frozen=True)
class DayGroup:
    """One UTC day's questions of one channel, decision and first-cited article (None: none).

    ``fixed`` and ``stuck`` count "That fixed it" and "Still stuck"; ``deflected``, ``confirmed``
    (deflected by "That fixed it") and ``pending`` count answers only, as the module docstring says.
    """

    day: date
    channel: str
    decision: str
    article: str | None
    questions: int
    fixed: int
    stuck: int
    deflected: int
    confirmed: int
    pending: int


def midnight(day: date) -> datetime:
    """The first instant of ``day``, UTC."""
    return datetime.combine(day, time(), tzinfo=UTC)


def live_groups(*, session: Session, start: datetime, end: datetime, now: datetime) -> list[DayGroup]:
    """The period's questions counted from the stored rows, as of ``now``.

    One pass over the period's questions and tickets (plus the day after it), in time order per
    person and channel: for each question, the time of that person's next question or ticket.
    """
    horizon = end + REPEAT_WINDOW
    events = union_all(
        sql_select(
            col(Interaction.id).label("iid"),
            col(Interaction.user_id).label("who"),
            col(Interaction.channel).label("channel"),
            col(Interaction.created_at).label("at"),
            literal(0).label("kind"),
            col(Interaction.decision).label("decision"),
            col(Interaction.feedback).label("feedback"),
            col(Interaction.top_article).label("article"),
        ).where(in_period(col(Interaction.created_at), start, horizon)),
        sql_select(
            null().label("iid"),
            col(Ticket.requester).label("who"),
            col(Ticket.channel).label("channel"),
            col(Ticket.created_at).label("at"),
            literal(1).label("kind"),
            null().label("decision"),
            null().label("feedback"),
            null().label("article"),
        ).where(in_period(col(Ticket.created_at), start, horizon), col(Ticket.requester) != ""),
    ).subquery("events")
    # Any later question or ticket by the person counts, so the next row alone decides: when it is
    # more than a day later, so is every row after it.
    next_at = func.lead(events.c.at).over(
        partition_by=(events.c.who, events.c.channel), order_by=(events.c.at, events.c.kind, events.c.iid)
    )
    # The window runs over every row (tickets too); only afterwards are the period's questions picked.
    followed = sql_select(
        events.c.who,
        events.c.channel,
        events.c.at,
        events.c.kind,
        events.c.decision,
        events.c.feedback,
        events.c.article,
        next_at.label("next_at"),
    ).subquery("followed")
    # Spelled with IS NOT NULL so that "nobody came back" is false, not unknown.
    came_back = and_(
        followed.c.next_at.is_not(None), followed.c.next_at <= later(session, followed.c.at, REPEAT_WINDOW)
    )
    helpful = followed.c.feedback == Feedback.HELPFUL.value
    stuck = followed.c.feedback == Feedback.UNHELPFUL.value
    answer = followed.c.decision == ANSWER
    quiet = and_(followed.c.who != "", ~stuck, ~came_back)
    still_open = followed.c.at > now - REPEAT_WINDOW

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    day = utc_day(session, followed.c.at).label("day")
    statement = (
        sql_select(
            day,
            followed.c.channel,
            followed.c.decision,
            followed.c.article,
            func.count(),
            count(helpful),
            count(stuck),
            count(and_(answer, or_(helpful, and_(quiet, ~still_open)))),
            count(and_(answer, helpful)),
            count(and_(answer, quiet, still_open, ~helpful)),
        )
        .where(followed.c.kind == 0, in_period(followed.c.at, start, end))
        .group_by(day, followed.c.channel, followed.c.decision, followed.c.article)
    )
    return [
        DayGroup(
            day=as_date(found),
            channel=str(channel),
            decision=str(decision),
            article=article or None,
            questions=int(n),
            fixed=int(fixed or 0),
            stuck=int(unhelpful or 0),
            deflected=int(deflected or 0),
            confirmed=int(confirmed or 0),
            pending=int(pending or 0),
        )
        for found, channel, decision, article, n, fixed, unhelpful, deflected, confirmed, pending in (
            session.execute(statement).all()
        )
    ]


def day_groups(*, session: Session, start: datetime, end: datetime, now: datetime) -> list[DayGroup]:
    """The period's questions counted per day, channel, decision and article as of ``now``: settled
    whole days from the rollup (recounted and stored first where a row under them changed), the rest
    live. In no particular order."""
    settled_until = (min(now, utcnow()) - REPEAT_WINDOW).date()  # days before it are settled
    first_full = start.date() if start == midnight(start.date()) else start.date() + timedelta(days=1)
    roll_start, roll_end = first_full, min(end.date(), settled_until)
    if roll_start >= roll_end:
        return live_groups(session=session, start=start, end=end, now=now)
    found = _rolled(session=session, first=roll_start, end=roll_end, now=now)
    if start < midnight(roll_start):
        found += live_groups(session=session, start=start, end=midnight(roll_start), now=now)
    if midnight(roll_end) < end:
        found += live_groups(session=session, start=midnight(roll_end), end=end, now=now)
    return found


def _rolled(*, session: Session, first: date, end: date, now: datetime) -> list[DayGroup]:
    """The settled days from ``first`` up to ``end`` (excluded): stored counts where they are
    current, recounted (and stored) where not."""
    keys = (first.isoformat(), end.isoformat())
    states = session.execute(
        sql_select(col(AnalyticsDay.day), col(AnalyticsDay.changes), col(AnalyticsDay.rolled)).where(
            col(AnalyticsDay.day) >= keys[0], col(AnalyticsDay.day) < keys[1]
        )
    ).all()
    changes = {str(day): int(n) for day, n, _rolled in states}
    current = {str(day) for day, n, rolled in states if rolled is not None and rolled == n}
    stored = session.execute(
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
        ).where(col(AnalyticsDayGroup.day) >= keys[0], col(AnalyticsDayGroup.day) < keys[1])
    ).all()
    found = [
        DayGroup(as_date(day), channel, decision, article or None, n, fixed, stuck, deflected, confirmed, 0)
        for day, channel, decision, article, n, fixed, stuck, deflected, confirmed in stored
        if day in current
    ]
    stale = [d for d in _days(first, end) if d.isoformat() not in current]
    if not stale:
        return found
    recounted: list[DayGroup] = []
    for run_first, run_end in _runs(stale):
        recounted += live_groups(session=session, start=midnight(run_first), end=midnight(run_end), now=now)
    _store(session=session, days=stale, groups=recounted, seen=changes)
    return found + recounted


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
