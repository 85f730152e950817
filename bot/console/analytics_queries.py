"""Every statement the analytics page runs, keyword-only; the page and its CSV exports build no SQL.

Each function reads one period, ``start`` (included) to ``end`` (excluded), both timezone-aware, and
returns plain numbers: counts, and for tickets the durations the page turns into medians. Days are
UTC days. Only stored rows are read, and of them only ids, decisions, feedback, channels, times and
article ids: no question text (``unanswered_questions`` is the one exception; its text is scrubbed
and stays in the console's gap groups, which never leave it as text).

Questions are counted per day, channel, decision and article by ``bot.console.analytics_rollup``
(settled days from the stored rollup, the rest live; its docstring says how deflection is measured),
and the figures here are sums of those counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from bot.console.analytics_rollup import (
    ANSWER,
    REPEAT_WINDOW,
    AnalyticsMemo,
    DayGroup,
    day_changes,
    day_groups,
    midnight,
)
from bot.console.analytics_sql import as_date, in_period, seconds_between
from bot.interactions.models import Feedback, Interaction, utcnow
from bot.tickets.models import AuthorRole, Ticket, TicketEvent

__all__ = ["REPEAT_WINDOW"]
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


def _groups(
    session: Session, start: datetime, end: datetime, now: datetime | None, memo: AnalyticsMemo | None = None
) -> list[DayGroup]:
    moment = now if now is not None else utcnow()
    return day_groups(session=session, start=start, end=end, now=moment, memo=memo)


def questions_per_day(
    *, session: Session, start: datetime, end: datetime, now: datetime | None = None
) -> list[DayCount]:
    """Questions per UTC day and channel in the period, by day then channel (days without any absent)."""
    return per_day(_groups(session, start, end, now))


def outcomes(*, session: Session, start: datetime, end: datetime, now: datetime | None = None) -> Outcomes:
    """How many of the period's questions were answered, offered choices (clarified), escalated, or
    answered with an outage notice."""
    return outcomes_of(_groups(session, start, end, now))


def deflection(
    *, session: Session, start: datetime, end: datetime, now: datetime, memo: AnalyticsMemo | None = None
) -> Deflection:
    """The period's answered questions, how many were deflected and confirmed, and how many are still
    pending as of ``now`` (the rule is in ``bot.console.analytics_rollup``)."""
    return deflection_of(_groups(session, start, end, now, memo))


def top_articles(
    *, session: Session, start: datetime, end: datetime, limit: int, now: datetime | None = None
) -> list[ArticleUse]:
    """The ``limit`` articles that answered the most of the period's questions first, most first (then
    by id), with how many of those answers got "That fixed it" and "Still stuck"."""
    return articles_of(_groups(session, start, end, now))[:limit]


@dataclass(frozen=True)
class Figures:
    """Everything the analytics page shows of a period's questions, from one count."""

    days: list[DayCount]
    outcomes: Outcomes
    deflection: Deflection
    articles: list[ArticleUse]


def figures(
    *, session: Session, start: datetime, end: datetime, now: datetime, memo: AnalyticsMemo | None = None
) -> Figures:
    """The period's questions per day, outcomes, deflection as of ``now`` and every article that
    answered (most answers first), counted once (reusing what ``memo`` holds that is still current)."""
    groups = _groups(session, start, end, now, memo)
    return Figures(
        days=per_day(groups),
        outcomes=outcomes_of(groups),
        deflection=deflection_of(groups),
        articles=articles_of(groups),
    )


def article_use(
    *, session: Session, now: datetime | None = None, memo: AnalyticsMemo | None = None
) -> dict[str, tuple[int, int, int]]:
    """Per article id, over every stored question: how many answers cited it first, and how many of
    those people marked "That fixed it" and "Still stuck" (articles never cited first are absent;
    what ``memo`` holds that is still current is reused)."""
    oldest = session.execute(sql_select(func.min(Interaction.created_at))).scalar_one_or_none()
    if oldest is None:
        return {}
    moment = now if now is not None else utcnow()
    first = midnight(as_date(oldest) if not isinstance(oldest, datetime) else oldest.astimezone(UTC).date())
    # To the end of today: a bound that stays put all day, so a remembered count can be reused.
    end = midnight(max(moment, first).date() + timedelta(days=1))
    found = articles_of(_groups(session, first, end, moment, memo))
    return {a.article: (a.answers, a.fixed, a.stuck) for a in found}


def per_day(groups: Sequence[DayGroup]) -> list[DayCount]:
    """``groups`` counted per day and channel, by day then channel."""
    counts: Counter[tuple[date, str]] = Counter()
    for g in groups:
        counts[(g.day, g.channel)] += g.questions
    return [DayCount(day=d, channel=c, questions=n) for (d, c), n in sorted(counts.items())]


def outcomes_of(groups: Sequence[DayGroup]) -> Outcomes:
    """``groups`` counted per decision."""
    counts: Counter[str] = Counter()
    for g in groups:
        counts[g.decision] += g.questions
    return Outcomes(
        questions=sum(counts.values()),
        answered=counts.get("answer", 0),
        clarified=counts.get("clarify", 0),
        escalated=counts.get("escalate", 0),
        outage=counts.get("outage", 0),
    )


def deflection_of(groups: Sequence[DayGroup]) -> Deflection:
    """``groups``' answers, deflected, confirmed and pending, and how many questions are judged."""
    pending = sum(g.pending for g in groups)
    return Deflection(
        answered=sum(g.questions for g in groups if g.decision == ANSWER),
        deflected=sum(g.deflected for g in groups),
        confirmed=sum(g.confirmed for g in groups),
        pending=pending,
        judged=sum(g.questions for g in groups) - pending,
    )


def articles_of(groups: Sequence[DayGroup]) -> list[ArticleUse]:
    """Every article that answered first in ``groups``, most answers first, then by id."""
    totals: dict[str, list[int]] = {}
    for g in groups:
        if g.decision == ANSWER and g.article:
            total = totals.setdefault(g.article, [0, 0, 0])
            total[0] += g.questions
            total[1] += g.fixed
            total[2] += g.stuck
    ranked = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))
    return [ArticleUse(article=a, answers=n, fixed=f, stuck=s) for a, (n, f, s) in ranked]


def unanswered_questions(
    *, session: Session, start: datetime, end: datetime, limit: int, memo: AnalyticsMemo | None = None
) -> list[UnansweredQuestion]:
    """The newest ``limit`` questions of the period the bot did not settle (escalated, offered
    choices, or answered and marked "Still stuck"), returned oldest first: the order gap groups form in."""
    if memo is not None:
        key = (
            "unanswered",
            start,
            end,
            limit,
            day_changes(session=session, first=start.date(), last=end.date()),
        )
        found: list[UnansweredQuestion] | None = memo.recall(key)
        if found is None:
            found = unanswered_questions(session=session, start=start, end=end, limit=limit)
            memo.remember(key, found)
        return found
    statement = (
        select(Interaction.question, Interaction.user_id, Interaction.decision, Interaction.feedback)
        .where(
            in_period(col(Interaction.created_at), start, end),
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


def ticket_times(
    *, session: Session, start: datetime, end: datetime, memo: AnalyticsMemo | None = None
) -> TicketTimes:
    """Tickets opened in the period, with the seconds each took to its first agent action and (when
    resolved) to resolution."""
    if memo is not None:
        changes = day_changes(session=session, first=start.date(), last=end.date(), tickets=True)
        key = ("tickets", start, end, changes)
        found: TicketTimes | None = memo.recall(key)
        if found is None:
            found = ticket_times(session=session, start=start, end=end)
            memo.remember(key, found)
        return found
    period_tickets = select(Ticket.id).where(in_period(col(Ticket.created_at), start, end))
    first_action = (
        select(TicketEvent.ticket_id, func.min(TicketEvent.created_at).label("first_at"))
        .where(TicketEvent.author_role == AuthorRole.AGENT, col(TicketEvent.ticket_id).in_(period_tickets))
        .group_by(TicketEvent.ticket_id)
        .subquery("first_action")
    )
    statement = (
        select(
            seconds_between(session, first_action.c.first_at, Ticket.created_at),
            seconds_between(session, Ticket.resolved_at, Ticket.created_at),
        )
        .select_from(Ticket)
        .outerjoin(first_action, first_action.c.ticket_id == Ticket.id)
        .where(in_period(col(Ticket.created_at), start, end))
    )
    rows = session.exec(statement).all()
    return TicketTimes(
        opened=len(rows),
        first_response_seconds=_non_negative(r[0] for r in rows),
        resolution_seconds=_non_negative(r[1] for r in rows),
    )


def _non_negative(values: Any) -> list[float]:
    return sorted(max(0.0, float(v)) for v in values if v is not None)


def channels_of(days: Sequence[DayCount]) -> list[str]:
    """The channels that appear in ``days``, sorted."""
    return sorted({d.channel for d in days})
