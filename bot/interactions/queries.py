"""Every statement about interactions, keyword-only; routes, console and CLI build no SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, insert, or_
from sqlmodel import Session, col, select

from bot.interactions.models import Feedback, Interaction, InteractionCreate, utcnow


def create_interaction(*, session: Session, data: InteractionCreate) -> Interaction:
    """Store a new interaction and return it with its id and time filled; commits."""
    row = Interaction.model_validate(data)
    session.add(row)
    session.commit()
    # Every column was filled before the insert (ids and times are made here, not by the database):
    # with expire_on_commit off, as the app's sessions have it, nothing is read back.
    return row


def insert_interactions(*, session: Session, rows: Sequence[Interaction]) -> None:
    """Store ``rows`` (ids and times already filled, as ``Interaction`` gives them) in one
    multi-row insert and one commit; all or none."""
    if not rows:
        return
    session.execute(insert(Interaction), [row.model_dump() for row in rows])
    session.commit()


def get_interaction(*, session: Session, interaction_id: str) -> Interaction | None:
    """The interaction with this id, or None."""
    return session.get(Interaction, interaction_id)


def record_feedback(*, session: Session, interaction_id: str, helpful: bool) -> Interaction | None:
    """Record "That fixed it" (``helpful``) or "Still stuck" on an interaction; None if it is unknown.

    Idempotent: the same answer again changes nothing (not even ``feedback_at``). A different answer
    replaces the earlier one, because the last click is what the person meant.
    """
    row = session.get(Interaction, interaction_id)
    if row is None:
        return None
    wanted = Feedback.HELPFUL if helpful else Feedback.UNHELPFUL
    if row.feedback == wanted:
        return row
    row.feedback = wanted
    row.feedback_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def list_interactions(*, session: Session, limit: int, decision: str | None = None) -> list[Interaction]:
    """The newest ``limit`` interactions, newest first, optionally only those with ``decision``."""
    statement = select(Interaction)
    if decision is not None:
        statement = statement.where(Interaction.decision == decision)
    newest_first = (col(Interaction.created_at).desc(), col(Interaction.id).desc())
    statement = statement.order_by(*newest_first).limit(limit)
    return list(session.exec(statement).all())


def count_by_decision(*, session: Session) -> dict[str, int]:
    """How many interactions there are per decision (decisions never taken are absent)."""
    statement = select(Interaction.decision, func.count()).group_by(Interaction.decision)
    return {decision: count for decision, count in session.exec(statement).all()}


def article_use(*, session: Session) -> dict[str, tuple[int, int, int]]:
    """Per article id: how many answers cited it first, and how many of those people marked
    "That fixed it" and "Still stuck" (articles never cited first are absent)."""
    helpful = func.sum(case((col(Interaction.feedback) == Feedback.HELPFUL, 1), else_=0))
    unhelpful = func.sum(case((col(Interaction.feedback) == Feedback.UNHELPFUL, 1), else_=0))
    statement = (
        select(Interaction.top_article, func.count(), helpful, unhelpful)
        .where(col(Interaction.top_article).is_not(None))
        .where(Interaction.decision == "answer")
        .group_by(Interaction.top_article)
    )
    return {
        str(article): (int(cited), int(fixed or 0), int(stuck or 0))
        for article, cited, fixed, stuck in session.exec(statement).all()
    }


def list_unanswered(*, session: Session, since: datetime, limit: int) -> list[Interaction]:
    """The newest ``limit`` interactions since ``since`` that the bot did not settle: escalated,
    offered choices, or answered and then marked "Still stuck"; newest first."""
    statement = (
        select(Interaction)
        .where(col(Interaction.created_at) >= since)
        .where(
            or_(
                col(Interaction.decision).in_(("escalate", "clarify")),
                col(Interaction.feedback) == Feedback.UNHELPFUL,
            )
        )
        .order_by(col(Interaction.created_at).desc(), col(Interaction.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())
