"""Every statement the analytics page runs, keyword-only; the page and its CSV exports build no SQL.

Each function reads one period, ``start`` (included) to ``end`` (excluded), both timezone-aware, and
returns plain numbers: counts, and for tickets the durations the page turns into medians. Days are
UTC days. Only stored rows are read, and of them only ids, decisions, feedback, channels, times and
article ids: no question text (``unanswered_questions`` is the one exception; its text is scrubbed
and stays in the console's gap groups, which never leave it as text).

Deflection is measured, not assumed: an answered question counts as deflected when the person
clicked "That fixed it", or when they neither opened a ticket nor asked again (same chat identity,
same channel) within ``REPEAT_WINDOW`` after it. "Still stuck" is never deflected. A question whose
window is still running (asked less than 24 hours before ``now``) with nothing decided yet is
``pending``, counted apart. A question asked without a chat identity can't be followed, so it counts
only on "That fixed it".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Interval, and_, case, cast, func, literal, null, or_, union_all
from sqlalchemy import select as sql_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from bot.interactions.models import Feedback, Interaction
from bot.tickets.models import AuthorRole, Ticket, TicketEvent

REPEAT_WINDOW = timedelta(hours=24)
ANSWER = "answer"
UNANSWERED = ("escalate", "clarify")


@dataclass(frozen=True)
class DayCount:
    """How many questions came in on one UTC day through one channel."""

    day: date
    channel: str
    questions: int


@dataclass(frozen=True)
class Outcomes:
    """What the bot did with the period's questions."""

    questions: int
    answered: int
    clarified: int
    escalated: int
    outage: int


@dataclass(frozen=True)
class Deflection:
    """Answered questions and how many of them settled the matter (see the module docstring).

    ``confirmed`` of the ``deflected`` had "That fixed it" clicked; ``judged`` is every question of
    the period whose outcome is known (all questions but the ``pending`` ones)."""

    answered: int
    deflected: int
    confirmed: int
    pending: int
    judged: int


@dataclass(frozen=True)
class ArticleUse:
    """An article that answered questions first, and what people said about those answers."""

    article: str
    answers: int
    fixed: int
    stuck: int


@dataclass(frozen=True)
class TicketTimes:
    """The period's tickets: how many opened, and per ticket the seconds to the first agent action
    (taken, replied or status changed) and to resolution, for those that have one."""

    opened: int
    first_response_seconds: list[float]
    resolution_seconds: list[float]


@dataclass(frozen=True)
class UnansweredQuestion:
    """A question the bot did not settle: its scrubbed text, who asked, and how it ended."""

    text: str
    who: str
    outcome: str


def _in_period(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _utc_day(session: Session, column: Any) -> Any:
    """The UTC day of a stored time: SQLite keeps UTC text (its first ten characters are the day);
    PostgreSQL converts the aware time to UTC first."""
    if _dialect(session) == "sqlite":
        return func.substr(column, 1, 10)
    return cast(func.timezone("UTC", column), Date)


def _later(session: Session, column: Any, delta: timedelta) -> Any:
    """``column`` plus ``delta``, comparable with stored times on both backends."""
    if _dialect(session) == "sqlite":
        seconds = int(delta.total_seconds())
        return func.strftime("%Y-%m-%d %H:%M:%f", column, f"+{seconds} seconds")
    return column + literal(delta, type_=Interval())


def _seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    if _dialect(session) == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def questions_per_day(*, session: Session, start: datetime, end: datetime) -> list[DayCount]:
    """Questions per UTC day and channel in the period, by day then channel (days without any absent)."""
    day = _utc_day(session, col(Interaction.created_at)).label("day")
    statement = (
        select(day, Interaction.channel, func.count())
        .where(_in_period(col(Interaction.created_at), start, end))
        .group_by(day, Interaction.channel)
        .order_by(day, Interaction.channel)
    )
    return [
        DayCount(day=_as_date(found), channel=channel, questions=int(n))
        for found, channel, n in session.exec(statement).all()
    ]


def outcomes(*, session: Session, start: datetime, end: datetime) -> Outcomes:
    """How many of the period's questions were answered, offered choices (clarified), escalated, or
    answered with an outage notice."""
    statement = (
        select(Interaction.decision, func.count())
        .where(_in_period(col(Interaction.created_at), start, end))
        .group_by(Interaction.decision)
    )
    counts = {decision: int(n) for decision, n in session.exec(statement).all()}
    return Outcomes(
        questions=sum(counts.values()),
        answered=counts.get("answer", 0),
        clarified=counts.get("clarify", 0),
        escalated=counts.get("escalate", 0),
        outage=counts.get("outage", 0),
    )


def deflection(*, session: Session, start: datetime, end: datetime, now: datetime) -> Deflection:
    """The period's answered questions, how many were deflected and confirmed, and how many are still
    pending as of ``now`` (the rule is in the module docstring).

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
        ).where(_in_period(col(Interaction.created_at), start, horizon)),
        sql_select(
            null().label("iid"),
            col(Ticket.requester).label("who"),
            col(Ticket.channel).label("channel"),
            col(Ticket.created_at).label("at"),
            literal(1).label("kind"),
            null().label("decision"),
            null().label("feedback"),
        ).where(_in_period(col(Ticket.created_at), start, horizon), col(Ticket.requester) != ""),
    ).subquery("events")
    # Any later question or ticket by the person counts, so the next row alone decides: when it is
    # more than a day later, so is every row after it.
    next_at = func.lead(events.c.at).over(
        partition_by=(events.c.who, events.c.channel), order_by=(events.c.at, events.c.kind, events.c.iid)
    )
    # The window runs over every row (tickets too); only afterwards are answers picked out.
    followed = sql_select(
        events.c.who,
        events.c.at,
        events.c.kind,
        events.c.decision,
        events.c.feedback,
        next_at.label("next_at"),
    ).subquery("followed")
    window_end = _later(session, followed.c.at, REPEAT_WINDOW)
    # Spelled with IS NOT NULL so that "nobody came back" is false, not unknown.
    came_back = and_(followed.c.next_at.is_not(None), followed.c.next_at <= window_end)
    helpful = followed.c.feedback == Feedback.HELPFUL.value
    stuck = followed.c.feedback == Feedback.UNHELPFUL.value
    known = followed.c.who != ""
    quiet = and_(known, ~stuck, ~came_back)
    still_open = followed.c.at > now - REPEAT_WINDOW
    statement = sql_select(
        func.count(),
        func.sum(case((or_(helpful, and_(quiet, ~still_open)), 1), else_=0)),
        func.sum(case((helpful, 1), else_=0)),
        func.sum(case((and_(quiet, still_open, ~helpful), 1), else_=0)),
    ).where(followed.c.kind == 0, followed.c.decision == ANSWER, _in_period(followed.c.at, start, end))
    answered, deflected, confirmed, pending = session.execute(statement).one()
    total = outcomes(session=session, start=start, end=end).questions
    return Deflection(
        answered=int(answered),
        deflected=int(deflected or 0),
        confirmed=int(confirmed or 0),
        pending=int(pending or 0),
        judged=total - int(pending or 0),
    )


def top_articles(*, session: Session, start: datetime, end: datetime, limit: int) -> list[ArticleUse]:
    """The ``limit`` articles that answered the most of the period's questions first, most first (then
    by id), with how many of those answers got "That fixed it" and "Still stuck"."""
    answers = func.count().label("answers")
    statement = (
        select(
            Interaction.top_article,
            answers,
            func.sum(case((col(Interaction.feedback) == Feedback.HELPFUL, 1), else_=0)),
            func.sum(case((col(Interaction.feedback) == Feedback.UNHELPFUL, 1), else_=0)),
        )
        .where(
            _in_period(col(Interaction.created_at), start, end),
            Interaction.decision == ANSWER,
            col(Interaction.top_article).is_not(None),
        )
        .group_by(Interaction.top_article)
        .order_by(answers.desc(), col(Interaction.top_article))
        .limit(limit)
    )
    return [
        ArticleUse(article=str(article), answers=int(n), fixed=int(fixed or 0), stuck=int(stuck or 0))
        for article, n, fixed, stuck in session.exec(statement).all()
    ]


def unanswered_questions(
    *, session: Session, start: datetime, end: datetime, limit: int
) -> list[UnansweredQuestion]:
    """The newest ``limit`` questions of the period the bot did not settle (escalated, offered
    choices, or answered and marked "Still stuck"), returned oldest first: the order gap groups form in."""
    statement = (
        select(Interaction.question, Interaction.user_id, Interaction.decision, Interaction.feedback)
        .where(
            _in_period(col(Interaction.created_at), start, end),
            or_(
                col(Interaction.decision).in_(UNANSWERED),
                col(Interaction.feedback) == Feedback.UNHELPFUL,
            ),
        )
        .order_by(col(Interaction.created_at).desc(), col(Interaction.id).desc())
        .limit(limit)
    )
    rows = session.exec(statement).all()
    return [
        UnansweredQuestion(
            text=text, who=who, outcome="stuck" if feedback == Feedback.UNHELPFUL else decision
        )
        for text, who, decision, feedback in reversed(rows)
    ]


def ticket_times(*, session: Session, start: datetime, end: datetime) -> TicketTimes:
    """Tickets opened in the period, with the seconds each took to its first agent action and (when
    resolved) to resolution."""
    first_action = (
        select(TicketEvent.ticket_id, func.min(TicketEvent.created_at).label("first_at"))
        .where(TicketEvent.author_role == AuthorRole.AGENT)
        .group_by(TicketEvent.ticket_id)
        .subquery("first_action")
    )
    statement = (
        select(
            _seconds_between(session, first_action.c.first_at, Ticket.created_at),
            _seconds_between(session, Ticket.resolved_at, Ticket.created_at),
        )
        .select_from(Ticket)
        .outerjoin(first_action, first_action.c.ticket_id == Ticket.id)
        .where(_in_period(col(Ticket.created_at), start, end))
    )
    rows = session.exec(statement).all()
    return TicketTimes(
        opened=len(rows),
        first_response_seconds=_non_negative(r[0] for r in rows),
        resolution_seconds=_non_negative(r[1] for r in rows),
    )


def _non_negative(values: Any) -> list[float]:
    return sorted(max(0.0, float(v)) for v in values if v is not None)


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def channels_of(days: Sequence[DayCount]) -> list[str]:
    """The channels that appear in ``days``, sorted."""
    return sorted({d.channel for d in days})
