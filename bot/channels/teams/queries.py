"""Every statement of the Teams channel's tables (keyword-only, session first)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from bot.channels.teams.models import TeamsActivity, TeamsCard, TeamsNoticePost, activity_key
from bot.interactions.models import utcnow
from bot.notices.models import NoticeSubscriber
from bot.tickets.models import Ticket

# How many stored conversation references are read to find a service URL.
REFERENCES_READ = 50


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


def prune_teams_rows(
    *,
    session: Session,
    older_than: timedelta,
    cards_older_than: timedelta | None = None,
    now: datetime | None = None,
) -> int:
    """Delete claims older than ``older_than``, and cards and notice posts older than
    ``cards_older_than`` (default: ``older_than``); how many rows went. Commits."""
    at = now or utcnow()
    cutoff = at - older_than
    card_cutoff = at - (cards_older_than if cards_older_than is not None else older_than)
    gone = session.exec(delete(TeamsActivity).where(col(TeamsActivity.received_at) < cutoff))
    cards = session.exec(delete(TeamsCard).where(col(TeamsCard.posted_at) < card_cutoff))
    posts = session.exec(delete(TeamsNoticePost).where(col(TeamsNoticePost.posted_at) < card_cutoff))
    session.commit()
    return int(gone.rowcount or 0) + int(cards.rowcount or 0) + int(posts.rowcount or 0)


def record_notice_post(*, session: Session, target: str, key: str, ref: str) -> None:
    """Remember that the notice message tagged ``key`` was posted into ``target`` as ``ref``
    (a second record of the same key keeps the first). Commits."""
    row_key = activity_key(target, key)
    if session.get(TeamsNoticePost, row_key) is None:
        session.add(TeamsNoticePost(key=row_key, ref=ref[:255]))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()


def find_notice_post(*, session: Session, target: str, key: str, since: datetime) -> str | None:
    """The reference of the notice message tagged ``key`` posted into ``target`` since ``since``."""
    found = session.get(TeamsNoticePost, activity_key(target, key))
    if found is None or found.posted_at < since:
        return None
    return found.ref


def stored_service_urls(*, session: Session, conversation: str) -> list[str]:
    """Service URLs of the Teams conversation references the bot stored (tickets asked in Teams,
    "tell me when it's fixed" subscriptions), newest first; those of ``conversation`` (or of a
    thread in it) ahead of the others."""
    references: list[tuple[datetime, dict[str, Any]]] = []
    tickets = select(Ticket).where(Ticket.channel == "teams").order_by(col(Ticket.created_at).desc())
    references += [(t.created_at, t.reply_to) for t in session.exec(tickets.limit(REFERENCES_READ))]
    subscribers = (
        select(NoticeSubscriber)
        .where(NoticeSubscriber.channel == "teams")
        .order_by(col(NoticeSubscriber.created_at).desc())
    )
    references += [(s.created_at, s.reply_to) for s in session.exec(subscribers.limit(REFERENCES_READ))]
    references.sort(key=lambda found: found[0], reverse=True)
    same: list[str] = []
    other: list[str] = []
    for _, reference in references:
        url = str(reference.get("service_url") or "")
        held = str(reference.get("conversation") or "")
        if not url:
            continue
        if held == conversation or held.startswith(conversation + ";"):
            same.append(url)
        else:
            other.append(url)
    return list(dict.fromkeys(same + other))
