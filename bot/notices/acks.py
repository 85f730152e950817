""" "Got it" on upgrade notices: who acknowledged, and how many (shown to IT in ``itbot notice show``,
the notices API, and on the message itself). One acknowledgement a person and notice; a new one
plans a coalesced refresh of every post of the notice (``bot.notices.planning.plan_ack_refresh``),
so each channel's message shows the count, not only the one tapped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.notices.delivery_queries import ack_counts, add_ack, list_deliveries
from bot.notices.errors import NoticeError, NoticeNotFoundError
from bot.notices.models import NoticeKind, NoticePublic
from bot.notices.planning import REFRESH_DELAY, plan_ack_refresh
from bot.notices.queries import get_notice


@dataclass(frozen=True)
class Acknowledged:
    """The outcome of one tap: whether it was the person's first, and the notice's count now."""

    new: bool
    count: int


def acknowledge(
    *,
    session: Session,
    notice_id: int,
    channel: str,
    user: str,
    now: datetime,
    refresh_delay: timedelta = REFRESH_DELAY,
) -> Acknowledged:
    """Record ``user``'s "Got it" on the upgrade notice (again: no change) and, when it is new, plan
    the refresh of the notice's posts ``refresh_delay`` from now; flushes, never commits."""
    notice = get_notice(session=session, notice_id=notice_id)
    if notice is None:
        raise NoticeNotFoundError(notice_id)
    if notice.kind is not NoticeKind.UPGRADE:
        raise NoticeError("ack on outage", user_message='Only upgrade notices take a "Got it".')
    if not user.strip():
        raise NoticeError("no user", user_message="I couldn't tell who you are; try again.")
    new = add_ack(session=session, notice_id=notice_id, channel=channel, user=user, now=now)
    if new:
        plan_ack_refresh(session=session, notice_id=notice_id, now=now, delay=refresh_delay)
    return Acknowledged(new=new, count=ack_counts(session=session, notice_ids=[notice_id]).get(notice_id, 0))


def with_acks(*, session: Session, shown: Sequence[NoticePublic]) -> list[NoticePublic]:
    """``shown`` with how many acknowledged each notice and the ``channel:target`` it was posted in."""
    counts = ack_counts(session=session, notice_ids=[n.id for n in shown])
    for notice in shown:
        notice.acknowledged = counts.get(notice.id, 0)
        notice.posted_in = [
            f"{d.channel}:{d.target}" for d in list_deliveries(session=session, notice_id=notice.id)
        ]
    return list(shown)
