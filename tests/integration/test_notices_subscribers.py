""" "Tell me when it's fixed" on real databases: a subscriber is told once, in their own thread,
through the outbox, in the same transaction as the notice's end."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.interactions.models import utcnow
from bot.notices.actions import NewNotice, open_notice, resolve_notice, update_notice
from bot.notices.errors import BadTransitionError
from bot.notices.models import NoticeKind, NoticeStatus
from bot.notices.queries import untold_subscribers
from bot.notices.registry import ensure_seeded
from bot.notices.subscriptions import notice_id_of, subscribe
from bot.tickets.outbox_models import OutboxMessage

KB = Path(__file__).resolve().parents[2] / "knowledge"
THREAD = {"channel": "C1", "thread_ts": "1700000000.000100"}


@pytest.fixture
def notice_id(session: Session) -> int:
    ensure_seeded(session=session, kb=KB)
    notice = open_notice(
        session=session,
        new=NewNotice(kind=NoticeKind.OUTAGE, title="Epic is slow", systems=["Epic"]),
        now=utcnow(),
    )
    session.commit()
    assert notice.id is not None
    return notice.id


def chat_messages(session: Session) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage).where(OutboxMessage.topic == "chat.message").order_by(col(OutboxMessage.id))
        )
    )


def test_subscribers_are_told_once_in_their_thread_when_the_notice_is_resolved(
    session: Session, notice_id: int
) -> None:
    for _ in range(2):
        subscribe(session=session, notice_id=notice_id, channel="slack", user="U1", reply_to=THREAD)
    subscribe(
        session=session, notice_id=notice_id, channel="web", user="w1", reply_to={"conversation": "web-1"}
    )
    session.commit()
    update_notice(session=session, notice_id=notice_id, now=utcnow(), status=NoticeStatus.MONITORING)
    session.commit()
    assert chat_messages(session) == []

    resolve_notice(session=session, notice_id=notice_id, now=utcnow(), body="A storage array was replaced.")
    session.commit()

    sent = chat_messages(session)
    assert sorted((m.payload["channel"], m.payload["reply_to"]) for m in sent) == [
        ("slack", THREAD),
        ("web", {"conversation": "web-1"}),
    ]
    assert all("Fixed" in m.payload["text"] and "storage array" in m.payload["text"] for m in sent)
    assert untold_subscribers(session=session, notice_id=notice_id) == []


def test_a_resolved_notice_takes_no_subscribers(session: Session, notice_id: int) -> None:
    resolve_notice(session=session, notice_id=notice_id, now=utcnow())
    session.commit()

    with pytest.raises(BadTransitionError) as refused:
        subscribe(session=session, notice_id=notice_id, channel="slack", user="U1", reply_to=THREAD)
    assert "already resolved" in refused.value.user_message


def test_the_notify_action_names_its_notice() -> None:
    assert notice_id_of("notify:12") == 12
    assert notice_id_of("notify:x") is None and notice_id_of("fixed") is None
