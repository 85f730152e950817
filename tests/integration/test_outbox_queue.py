"""The outbox as a queue, on SQLite and PostgreSQL: enqueue with the caller's transaction, claims and
leases, per-ticket order, retries, the dead letter and requeueing it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.db import session_factory
from bot.tickets.outbox import (
    claim_due,
    enqueue,
    get_by_key,
    list_failed,
    list_messages,
    mark_delivered,
    mark_failed,
    mark_retry,
    release,
    requeue_failed,
)
from bot.tickets.outbox_models import OutboxStatus
from tests.fakes.itsm import FakeClock, comment_payload, ticket_payload

LEASE = 300.0


def add_ticket(session: Session, number: str, *, ticket_id: str | None = None) -> str:
    """Enqueue a ticket's ``ticket.created`` and commit; its message id."""
    row = enqueue(
        session=session,
        target="itsm",
        topic="ticket.created",
        payload=ticket_payload(number),
        idempotency_key=f"{number}:created",
        ticket_id=ticket_id or f"t-{number}",
    )
    session.commit()
    return row.id


def add_comment(session: Session, number: str, key: str, text: str = "still broken") -> str:
    row = enqueue(
        session=session,
        target="itsm",
        topic="ticket.comment",
        payload=comment_payload(number, text),
        idempotency_key=key,
        ticket_id=f"t-{number}",
    )
    session.commit()
    return row.id


def claim(engine: Engine, worker: str, clock: FakeClock, limit: int = 10, lease: float = LEASE) -> list[str]:
    with session_factory(engine)() as session:
        return [
            m.id
            for m in claim_due(
                session=session, worker_id=worker, now=clock(), lease_seconds=lease, limit=limit
            )
        ]


def test_a_message_enqueued_in_a_rolled_back_transaction_never_exists(session: Session) -> None:
    enqueue(
        session=session,
        target="itsm",
        topic="ticket.created",
        payload=ticket_payload("IT-000001"),
        idempotency_key="IT-000001:created",
    )
    session.rollback()

    assert get_by_key(session=session, idempotency_key="IT-000001:created") is None

    add_ticket(session, "IT-000002")
    assert [m.idempotency_key for m in list_messages(session=session)] == ["IT-000002:created"]


def test_enqueuing_a_known_key_returns_the_stored_message_and_adds_nothing(session: Session) -> None:
    first = enqueue(
        session=session, target="itsm", topic="ticket.created", payload={"a": 1}, idempotency_key="k"
    )
    again_in_same_transaction = enqueue(
        session=session, target="itsm", topic="ticket.created", payload={"a": 2}, idempotency_key="k"
    )
    session.commit()
    after_commit = enqueue(
        session=session, target="itsm", topic="ticket.created", payload={}, idempotency_key="k"
    )
    session.commit()

    assert again_in_same_transaction is first
    assert after_commit.id == first.id
    assert len(list_messages(session=session)) == 1
    assert list_messages(session=session)[0].payload == {"a": 1}


def test_a_claimed_message_is_not_claimed_again_until_its_lease_runs_out(
    db_engine: Engine, session: Session
) -> None:
    clock = FakeClock()
    message_id = add_ticket(session, "IT-000001")

    assert claim(db_engine, "worker-a", clock) == [message_id]
    assert claim(db_engine, "worker-b", clock) == []

    clock.advance(LEASE + 1)
    assert claim(db_engine, "worker-b", clock) == [message_id]
    session.expire_all()
    row = list_messages(session=session)[0]
    assert (row.locked_by, row.attempts) == ("worker-b", 2)


def test_a_worker_that_lost_its_lease_cannot_record_a_result(db_engine: Engine, session: Session) -> None:
    clock = FakeClock()
    message_id = add_ticket(session, "IT-000001")
    claim(db_engine, "worker-a", clock)
    clock.advance(LEASE + 1)
    claim(db_engine, "worker-b", clock)

    assert not mark_delivered(session=session, message_id=message_id, worker_id="worker-a", now=clock())
    assert mark_delivered(
        session=session, message_id=message_id, worker_id="worker-b", now=clock(), external_ref="r"
    )


def test_claims_take_the_oldest_due_messages_first_up_to_the_limit(
    db_engine: Engine, session: Session
) -> None:
    clock = FakeClock()
    ids = [add_ticket(session, f"IT-00000{n}") for n in range(1, 6)]

    assert claim(db_engine, "w", clock, limit=3) == ids[:3]
    assert claim(db_engine, "w", clock, limit=3) == ids[3:]


def test_a_comment_waits_for_its_tickets_created_message_to_be_delivered(
    db_engine: Engine, session: Session
) -> None:
    clock = FakeClock()
    created_id = add_ticket(session, "IT-000001")
    first_comment = add_comment(session, "IT-000001", "c1")
    second_comment = add_comment(session, "IT-000001", "c2")
    other_ticket = add_ticket(session, "IT-000002")

    assert claim(db_engine, "w", clock) == [created_id, other_ticket]
    assert claim(db_engine, "w", clock) == []

    mark_delivered(
        session=session, message_id=created_id, worker_id="w", now=clock(), external_ref="INC1:abc"
    )
    assert claim(db_engine, "w", clock) == [first_comment]

    mark_delivered(session=session, message_id=first_comment, worker_id="w", now=clock())
    assert claim(db_engine, "w", clock) == [second_comment]


def test_a_dead_created_message_holds_its_comments_and_a_requeue_releases_them(
    db_engine: Engine, session: Session
) -> None:
    clock = FakeClock()
    created_id = add_ticket(session, "IT-000001")
    comment_id = add_comment(session, "IT-000001", "c1")
    claim(db_engine, "w", clock)
    mark_failed(session=session, message_id=created_id, worker_id="w", now=clock(), error="http_400")

    assert claim(db_engine, "w", clock) == []

    assert requeue_failed(session=session, now=clock()) == 1
    assert claim(db_engine, "w", clock) == [created_id]
    mark_delivered(session=session, message_id=created_id, worker_id="w", now=clock())
    assert claim(db_engine, "w", clock) == [comment_id]


def test_failures_back_off_doubling_and_end_in_the_dead_letter(
    db_engine: Engine, db_settings: Settings, session: Session
) -> None:
    settings = db_settings.model_copy(
        update={
            "outbox_max_attempts": 4,
            "outbox_dead_letter_after_seconds": 10.0,
            "outbox_backoff_seconds": 2.0,
            "outbox_backoff_max_seconds": 5.0,
            "outbox_backoff_jitter": 0.0,
        }
    )
    clock = FakeClock()
    message_id = add_ticket(session, "IT-000001")
    waits = []
    for _ in range(4):
        with session_factory(db_engine)() as worker_session:
            [message] = claim_due(
                session=worker_session, worker_id="w", now=clock(), lease_seconds=LEASE, limit=1
            )
            status = mark_retry(
                session=worker_session,
                message=message,
                worker_id="w",
                now=clock(),
                error="http_503",
                settings=settings,
            )
        session.expire_all()
        row = list_messages(session=session)[0]
        if status == OutboxStatus.PENDING:
            waits.append(round((row.next_attempt_at - clock()).total_seconds()))
            assert claim(db_engine, "w", clock) == []
            clock.advance_to(row.next_attempt_at)

    assert waits == [2, 4, 5]
    [dead] = list_failed(session=session)
    assert (dead.id, dead.status, dead.attempts, dead.last_error) == (
        message_id,
        OutboxStatus.FAILED,
        4,
        "http_503",
    )
    assert claim(db_engine, "w", clock) == []


def test_a_requeued_dead_letter_is_tried_again_with_fresh_attempts(
    db_engine: Engine, session: Session
) -> None:
    clock = FakeClock()
    dead = add_ticket(session, "IT-000001")
    other_dead = add_ticket(session, "IT-000002")
    claim(db_engine, "w", clock)
    for message_id in (dead, other_dead):
        mark_failed(session=session, message_id=message_id, worker_id="w", now=clock(), error="http_401")

    assert requeue_failed(session=session, now=clock(), message_ids=[dead]) == 1

    session.expire_all()
    assert [m.id for m in list_failed(session=session)] == [other_dead]
    assert claim(db_engine, "w", clock) == [dead]
    session.expire_all()
    assert get_by_key(session=session, idempotency_key="IT-000001:created").attempts == 1  # type: ignore[union-attr]


def test_a_released_message_is_due_again_without_counting_the_attempt(
    db_engine: Engine, session: Session
) -> None:
    clock = FakeClock()
    message_id = add_ticket(session, "IT-000001")
    claim(db_engine, "w", clock)

    assert release(
        session=session, message_id=message_id, worker_id="w", not_before=clock() + timedelta(seconds=30)
    )

    assert claim(db_engine, "w", clock) == []
    clock.advance(30)
    assert claim(db_engine, "w", clock) == [message_id]
    session.expire_all()
    assert list_messages(session=session)[0].attempts == 1


@pytest.mark.parametrize("topic", ["chat.message", "chat.triage_opened"])
def test_chat_messages_of_a_ticket_are_not_held_by_its_service_desk_messages(
    db_engine: Engine, session: Session, topic: str
) -> None:
    clock = FakeClock()
    created_id = add_ticket(session, "IT-000001")
    chat = enqueue(
        session=session,
        target="chat",
        topic=topic,
        payload={
            "channel": "slack",
            "reply_to": {},
            "text": "t",
            "ticket_number": "IT-000001",
            "kind": "requester",
        },
        idempotency_key=f"IT-000001:{topic}",
        ticket_id="t-IT-000001",
    )
    session.commit()

    assert sorted(claim(db_engine, "w", clock)) == sorted([created_id, chat.id])
