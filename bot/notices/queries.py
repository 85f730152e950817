"""Every statement about notices and the systems registry, keyword-only; CLI, API and answers build
no SQL.

Functions that change rows add them to the session and flush, and never commit: the caller commits
the notice together with its event, or rolls all of it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, or_, select

from bot.interactions.models import utcnow
from bot.notices.lifecycle import ENDED
from bot.notices.models import Notice, NoticeEvent, NoticeStatus, NoticeSubscriber, NoticeSystem


def list_systems(*, session: Session) -> list[NoticeSystem]:
    """Every system of the registry, by name."""
    return list(session.exec(select(NoticeSystem).order_by(col(NoticeSystem.name))))


def get_system(*, session: Session, name: str) -> NoticeSystem | None:
    """The system called ``name`` (ignoring case), or None."""
    rows = session.exec(select(NoticeSystem))
    key = name.strip().casefold()
    return next((row for row in rows if row.name.casefold() == key), None)


def add_system(
    *, session: Session, name: str, aliases: Sequence[str], source: str = "manual"
) -> NoticeSystem:
    """Add a system to the registry (the caller checked that the name is new)."""
    row = NoticeSystem(name=name, aliases=list(aliases), source=source)
    session.add(row)
    session.flush()
    return row


def create_notice(*, session: Session, notice: Notice) -> Notice:
    """Add a new notice and its first event."""
    session.add(notice)
    session.flush()
    assert notice.id is not None
    session.add(
        NoticeEvent(notice_id=notice.id, status=notice.status, body=notice.body, author=notice.author)
    )
    session.flush()
    return notice


def get_notice(*, session: Session, notice_id: int) -> Notice | None:
    """The notice with ``notice_id``, or None."""
    return session.get(Notice, notice_id)


def list_notices(*, session: Session, since: datetime | None = None, open_only: bool = False) -> list[Notice]:
    """Notices newest first: all of them; with ``open_only`` those not ended; with ``since`` also
    those that ended after it."""
    statement = select(Notice)
    if open_only or since is not None:
        not_ended = col(Notice.status).not_in([s.value for s in ENDED])
        statement = statement.where(or_(not_ended, col(Notice.closed_at) >= since) if since else not_ended)
    return list(session.exec(statement.order_by(col(Notice.created_at).desc(), col(Notice.id).desc())))


def add_update(
    *,
    session: Session,
    notice: Notice,
    status: NoticeStatus,
    body: str,
    author: str = "",
    at: datetime | None = None,
) -> NoticeEvent:
    """Record an update of ``notice`` (its new status and words) and touch ``updated_at``."""
    assert notice.id is not None
    event = NoticeEvent(
        notice_id=notice.id, status=status, body=body, author=author[:64], created_at=at or utcnow()
    )
    notice.updated_at = event.created_at
    session.add(event)
    session.add(notice)
    session.flush()
    return event


def list_updates(*, session: Session, notice_ids: Sequence[int]) -> list[NoticeEvent]:
    """The updates of the given notices, oldest first."""
    if not notice_ids:
        return []
    statement = select(NoticeEvent).where(col(NoticeEvent.notice_id).in_(list(notice_ids)))
    return list(session.exec(statement.order_by(col(NoticeEvent.id))))


def add_subscriber(
    *, session: Session, notice_id: int, channel: str, user: str, reply_to: dict[str, object]
) -> NoticeSubscriber:
    """The person (one row a notice, channel and user, however often they ask) to tell at the end."""
    found = session.exec(
        select(NoticeSubscriber).where(
            NoticeSubscriber.notice_id == notice_id,
            NoticeSubscriber.channel == channel,
            NoticeSubscriber.user == user,
        )
    ).first()
    if found is not None:
        return found
    row = NoticeSubscriber(notice_id=notice_id, channel=channel, user=user[:255], reply_to=dict(reply_to))
    session.add(row)
    session.flush()
    return row


def untold_subscribers(*, session: Session, notice_id: int) -> list[NoticeSubscriber]:
    """The subscribers of ``notice_id`` not told yet, in the order they subscribed."""
    statement = select(NoticeSubscriber).where(
        NoticeSubscriber.notice_id == notice_id, col(NoticeSubscriber.told_at).is_(None)
    )
    return list(session.exec(statement.order_by(col(NoticeSubscriber.id))))
