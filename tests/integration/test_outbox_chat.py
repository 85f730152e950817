"""Chat messages in the outbox go to the sender for their channel; the posted message's ref is kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.db import session_factory
from bot.tickets.delivery import Deliverer, DeliveryError
from bot.tickets.outbox import enqueue, get_by_key, list_failed
from bot.tickets.outbox_models import OutboxStatus
from bot.tickets.worker import Worker
from tests.fakes.itsm import FakeClock, RecordingSender


def add_chat(
    session: Session,
    key: str,
    *,
    channel: str = "slack",
    topic: str = "chat.message",
    ticket_id: str = "t-42",
    **extra: Any,
) -> None:
    """Enqueue a chat message for ``ticket_id`` (``extra`` goes into the payload) and commit."""
    payload = {
        "channel": channel,
        "reply_to": {"channel": "C042", "thread_ts": "1700000000.000100"},
        "text": "I opened **IT-000042** for you. IT will reply here.",
        "ticket_number": "IT-000042",
        "kind": "requester",
        **extra,
    }
    enqueue(
        session=session, target="chat", topic=topic, payload=payload, idempotency_key=key, ticket_id=ticket_id
    )
    session.commit()


def make_worker(
    settings: Settings, engine: Engine, senders: dict[str, RecordingSender], clock: FakeClock | None = None
) -> Worker:
    return Worker(
        settings,
        open_session=session_factory(engine),
        deliverer=Deliverer(forwarder=None, senders=senders),
        clock=clock or FakeClock(),
    )


def test_each_message_goes_to_its_channels_sender_and_the_ref_is_kept(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    slack, web = RecordingSender("slack"), RecordingSender("web")
    add_chat(session, "IT-000042:triage_opened", topic="chat.triage_opened", kind="triage", actions=["take"])
    add_chat(session, "IT-000042:web:1", channel="web")

    make_worker(db_settings, db_engine, {"slack": slack, "web": web}).run_once()

    assert [(s.kind, s.actions, s.ticket_number) for s in slack.sent] == [("triage", ["take"], "IT-000042")]
    assert slack.sent[0].reply_to == {"channel": "C042", "thread_ts": "1700000000.000100"}
    assert len(web.sent) == 1
    session.expire_all()
    opened = get_by_key(session=session, idempotency_key="IT-000042:triage_opened")
    assert opened is not None
    assert (opened.status, opened.external_ref) == (OutboxStatus.DELIVERED, "slack-1")


def test_messages_of_one_ticket_to_one_channel_are_posted_in_the_order_they_were_enqueued(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    slack = RecordingSender("slack")
    for n in range(1, 4):
        add_chat(session, f"IT-000042:triage:{n}", topic="chat.triage_message", text=f"update {n}")
    worker = make_worker(db_settings, db_engine, {"slack": slack})

    for _ in range(3):
        worker.run_once()

    assert [s.text for s in slack.sent] == ["update 1", "update 2", "update 3"]


def test_a_channel_without_a_sender_is_done_with_a_note_not_retried_forever(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    add_chat(session, "IT-000042:teams:1", channel="teams")

    report = make_worker(db_settings, db_engine, {}).run_once()

    session.expire_all()
    message = get_by_key(session=session, idempotency_key="IT-000042:teams:1")
    assert message is not None
    assert (report.delivered, message.status, message.last_error) == (1, OutboxStatus.DELIVERED, "no_sender")


def test_a_rate_limited_channel_is_retried_after_its_wait_and_holds_only_its_own_messages(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    slack, web = RecordingSender("slack"), RecordingSender("web")
    slack.failures.append(DeliveryError("ratelimited", retry_after=30, unavailable=True))
    add_chat(session, "a", text="first")
    add_chat(session, "b", channel="web")
    add_chat(session, "c", text="other ticket", ticket_id="t-7")
    clock = FakeClock()
    worker = make_worker(db_settings, db_engine, {"slack": slack, "web": web}, clock)

    first = worker.run_once()
    assert (first.retried, first.delivered, first.released) == (1, 1, 1)
    assert slack.sent == [] and len(web.sent) == 1

    clock.advance(29)
    assert worker.run_once().claimed == 0
    clock.advance(1)
    assert worker.run_once().delivered == 2
    assert sorted(s.text for s in slack.sent) == ["first", "other ticket"]


def test_a_permanent_refusal_is_a_dead_letter_and_a_senders_bug_a_retry(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    slack = RecordingSender("slack")
    slack.failures += [DeliveryError("channel_not_found", permanent=True), RuntimeError("boom")]
    add_chat(session, "IT-000042:gone")
    add_chat(session, "IT-000099:buggy", ticket_id="t-99")
    add_chat(session, "IT-000001:ok", ticket_id="t-1")

    report = make_worker(db_settings, db_engine, {"slack": slack}).run_once()

    assert (report.failed, report.retried, report.delivered) == (1, 1, 1)
    assert [(m.idempotency_key, m.last_error) for m in list_failed(session=session)] == [
        ("IT-000042:gone", "channel_not_found")
    ]
    session.expire_all()
    buggy = get_by_key(session=session, idempotency_key="IT-000099:buggy")
    assert buggy is not None
    assert (buggy.status, buggy.last_error) == (OutboxStatus.PENDING, "RuntimeError")
