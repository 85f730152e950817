"""One statement that counts a period's questions per UTC day, channel, decision and first-cited
article, with their feedback and measured deflection (the rule is in ``bot.console.analytics_rollup``).

The count is made without ``now``: answers whose 24-hour window may still be open come back with the
time they were asked, and ``apply_now`` decides them (pending or deflected) for any ``now``. So one
count can be remembered and applied again as time passes.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal, null, or_, union_all
from sqlalchemy import select as sql_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from bot.console.analytics_sql import as_date, in_period, later, utc_day
from bot.interactions.models import Feedback, Interaction
from bot.tickets.models import Ticket

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


GroupKey = tuple[date, str, str, str | None]


@dataclass(frozen=True)
class Count:
    """A count before ``now`` is applied: per day, channel, decision and article, the questions,
    "That fixed it", "Still stuck", deflected (as decided at the count's cutoff) and confirmed
    figures, and the times of the answers still waiting at the cutoff, in order."""

    totals: dict[GroupKey, tuple[int, int, int, int, int]]
    waiting: dict[GroupKey, list[datetime]]


def count_rows(*, session: Session, start: datetime, end: datetime, cutoff: datetime) -> Count:
    """The period's questions counted from the stored rows, with every deflection decided that
    ``cutoff`` decides (``cutoff`` must be at least ``REPEAT_WINDOW`` before any ``now`` the count is
    applied at): an answer nobody came back to within the window is deflected when it was asked by
    ``cutoff``; asked later, it comes in a row of its own with its time, for ``apply_now``.

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
    waiting = and_(answer, quiet, ~helpful, followed.c.at > cutoff)

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    day = utc_day(session, followed.c.at).label("day")
    waiting_at = case((waiting, followed.c.at), else_=null()).label("waiting_at")
    statement = (
        sql_select(
            day,
            followed.c.channel,
            followed.c.decision,
            followed.c.article,
            waiting_at,
            func.count(),
            count(helpful),
            count(stuck),
            count(and_(answer, or_(helpful, and_(quiet, ~waiting)))),
            count(and_(answer, helpful)),
        )
        .where(followed.c.kind == 0, in_period(followed.c.at, start, end))
        .group_by(day, followed.c.channel, followed.c.decision, followed.c.article, waiting_at)
    )
    totals: dict[GroupKey, tuple[int, int, int, int, int]] = {}
    waiting_times: dict[GroupKey, list[datetime]] = {}
    for (
        found,
        channel,
        decision,
        article,
        asked,
        n,
        fixed,
        unhelpful,
        deflected,
        confirmed,
    ) in session.execute(statement).all():
        key = (as_date(found), str(channel), str(decision), article or None)
        was = totals.get(key, (0, 0, 0, 0, 0))
        totals[key] = (
            was[0] + int(n),
            was[1] + int(fixed or 0),
            was[2] + int(unhelpful or 0),
            was[3] + int(deflected or 0),
            was[4] + int(confirmed or 0),
        )
        if asked is not None:
            waiting_times.setdefault(key, []).extend([_as_time(asked)] * int(n))
    for times in waiting_times.values():
        times.sort()
    return Count(totals=totals, waiting=waiting_times)


def _as_time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def apply_now(count: Count, now: datetime) -> list[DayGroup]:
    """``count`` as of ``now``: an answer still waiting is pending while its window is open at
    ``now``, else deflected."""
    open_after = now - REPEAT_WINDOW
    found: list[DayGroup] = []
    for key, (n, fixed, stuck, deflected, confirmed) in count.totals.items():
        times = count.waiting.get(key, [])
        pending = len(times) - bisect_right(times, open_after)
        found.append(
            DayGroup(
                day=key[0],
                channel=key[1],
                decision=key[2],
                article=key[3],
                questions=n,
                fixed=fixed,
                stuck=stuck,
                deflected=deflected + len(times) - pending,
                confirmed=confirmed,
                pending=pending,
            )
        )
    return found


def live_groups(*, session: Session, start: datetime, end: datetime, now: datetime) -> list[DayGroup]:
    """The period's questions counted from the stored rows, as of ``now``."""
    cutoff = min(start, now - REPEAT_WINDOW)
    return apply_now(count_rows(session=session, start=start, end=end, cutoff=cutoff), now)
