"""Every statement of the Teams channel's tables (keyword-only, session first)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete

from bot.channels.teams.models import TeamsActivity, TeamsCard, activity_key
from bot.interactions.models import utcnow


def claim_activity(*, session: Session, conversation_id: str, activity_id: str) -> bool:
    """Record that this activity is being answered; True for the first claim only.

    The insert is its own transaction, so of any number of processes sharing the database exactly
    one gets True for an activity. Commits (or rolls back the losing insert).
    """
    key = activity_key(conversation_id, activity_id)
    session.add(TeamsActivity(key=key, activity_id=activity_id[:255]))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def save_card(*, session: Session, conversation_id: str, posted_id: str, card: dict[str, Any]) -> None:
    """Keep the card posted as ``posted_id`` (replacing one kept under that id). Commits."""
    key = activity_key(conversation_id, posted_id)
    found = session.get(TeamsCard, key)
    if found is None:
        session.add(TeamsCard(key=key, card=card))
    else:
        found.card = card
        session.add(found)
    session.commit()


def get_card(*, session: Session, conversation_id: str, posted_id: str) -> dict[str, Any] | None:
    """The card posted as ``posted_id`` in the conversation, or None when none was kept."""
    found = session.get(TeamsCard, activity_key(conversation_id, posted_id))
    return dict(found.card) if found is not None else None


def prune_teams_rows(*, session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete claims and cards older than ``older_than``; how many rows went. Commits."""
    cutoff = (now or utcnow()) - older_than
    gone = session.exec(delete(TeamsActivity).where(col(TeamsActivity.received_at) < cutoff))
    cards = session.exec(delete(TeamsCard).where(col(TeamsCard.posted_at) < cutoff))
    session.commit()
    return int(gone.rowcount or 0) + int(cards.rowcount or 0)
