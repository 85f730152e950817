""" "Got it" on upgrade notices: who acknowledged, and how many (shown to IT in ``itbot notice show``,
the notice JSON, and on the message itself). One acknowledgement a person and notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.notices.delivery_queries import ack_counts, add_ack
from bot.notices.errors import NoticeError, NoticeNotFoundError
from bot.notices.models import NoticeKind
from bot.notices.queries import get_notice


@dataclass(frozen=True)
class Acknowledged:
    """The outcome of one tap: whether it was the person's first, and the notice's count now."""

    new: bool
    count: int


def acknowledge(*, session: Session, notice_id: int, channel: str, user: str, now: datetime) -> Acknowledged:
    """Record ``user``'s "Got it" on the upgrade notice (again: no change); flushes, never commits."""
    notice = get_notice(session=session, notice_id=notice_id)
    if notice is None:
        raise NoticeNotFoundError(notice_id)
    if notice.kind is not NoticeKind.UPGRADE:
        raise NoticeError("ack on outage", user_message='Only upgrade notices take a "Got it".')
    if not user.strip():
        raise NoticeError("no user", user_message="I couldn't tell who you are; try again.")
    new = add_ack(session=session, notice_id=notice_id, channel=channel, user=user, now=now)
    return Acknowledged(new=new, count=ack_counts(session=session, notice_ids=[notice_id]).get(notice_id, 0))
