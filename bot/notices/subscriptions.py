""" "Tell me when it's fixed": the people who asked, and the message each gets when the notice ends.

A person subscribes by choosing the ``notify:<notice id>`` action an ``outage`` reply offers (the
channel's adapter or the conversation flow calls ``subscribe``); asking twice changes nothing. When
the notice ends (resolved, completed, cancelled), every subscriber not told yet gets one chat message
in their own thread through the outbox (``chat.message``, delivered by the worker's chat senders),
queued in the same transaction as the change, with an idempotency key per notice and subscriber.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.core.scrub import scrub_text
from bot.notices.answers import NOTIFY_PREFIX
from bot.notices.errors import BadTransitionError, NoticeNotFoundError
from bot.notices.lifecycle import ENDED
from bot.notices.models import Notice, NoticeStatus, NoticeSubscriber
from bot.notices.queries import add_subscriber, get_notice, untold_subscribers
from bot.tickets.outbox import enqueue

_ENDINGS = {
    NoticeStatus.RESOLVED: "Fixed",
    NoticeStatus.COMPLETED: "Finished",
    NoticeStatus.CANCELLED: "Cancelled",
}


def notice_id_of(action: str) -> int | None:
    """The notice id a ``notify:<id>`` action names, or None for any other action."""
    if not action.startswith(NOTIFY_PREFIX):
        return None
    digits = action.removeprefix(NOTIFY_PREFIX)
    return int(digits) if digits.isdigit() and len(digits) <= 12 else None


def subscribe(
    *, session: Session, notice_id: int, channel: str, user: str, reply_to: dict[str, Any]
) -> NoticeSubscriber:
    """Add the person (once) to those told when the notice ends; refused for a notice that ended."""
    notice = get_notice(session=session, notice_id=notice_id)
    if notice is None:
        raise NoticeNotFoundError(notice_id)
    if notice.status in ENDED:
        raise BadTransitionError(
            "ended", user_message=f"That's already {notice.status.value.replace('_', ' ')}: {notice.title}."
        )
    return add_subscriber(session=session, notice_id=notice_id, channel=channel, user=user, reply_to=reply_to)


def ending_text(notice: Notice, note: str = "") -> str:
    """What a subscriber reads when ``notice`` ends (Markdown)."""
    lead = _ENDINGS.get(notice.status, notice.status.value)
    text = f"**{lead}:** {notice.title}."
    if note.strip():
        text += f"\n\n{note.strip()}"
    return text


def tell_subscribers(*, session: Session, notice: Notice, now: datetime, note: str = "") -> int:
    """Queue the ending message for every subscriber not told yet and mark them told; returns how many."""
    assert notice.id is not None
    text = scrub_text(ending_text(notice, note))
    told = 0
    for subscriber in untold_subscribers(session=session, notice_id=notice.id):
        enqueue(
            session=session,
            target="chat",
            topic="chat.message",
            payload={
                "channel": subscriber.channel,
                "reply_to": dict(subscriber.reply_to),
                "text": text,
                "kind": "requester",
            },
            idempotency_key=f"notice:{notice.id}:end:to:{subscriber.id}",
        )
        subscriber.told_at = now
        session.add(subscriber)
        told += 1
    session.flush()
    return told
