"""The worker forwarding tickets to a fake ServiceNow over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.db import session_factory
from bot.tickets.delivery import Deliverer
from bot.tickets.itsm import build_forwarder
from bot.tickets.outbox import enqueue, get_by_key, list_failed, requeue_failed
from bot.tickets.outbox_models import OutboxStatus
from bot.tickets.worker import Worker
from tests.fakes.itsm import FakeClock, FakeServiceNow, comment_payload, status_payload, ticket_payload

# Short enough that a slow create times out within the test, long enough for a loaded laptop.
TIMEOUT = httpx.Timeout(1.0, connect=1.0)


@pytest.fixture
def desk() -> Iterator[FakeServiceNow]:
    with FakeServiceNow(username="itbot", password="s3cret") as fake:
        yield fake


@pytest.fixture
def settings(db_settings: Settings, desk: FakeServiceNow) -> Settings:
    return db_settings.model_copy(
        update={
            "itsm_kind": "servicenow",
            "itsm_url": desk.url,
            "itsm_username": "itbot",
            "itsm_password": "s3cret",
        }
    )


def make_worker(settings: Settings, engine: Engine, clock: FakeClock) -> Worker:
    forwarder = build_forwarder(settings, timeout=TIMEOUT)
    return Worker(
        settings,
        open_session=session_factory(engine),
        deliverer=Deliverer(forwarder=forwarder, senders={}),
        clock=clock,
    )


def escalate(session: Session, number: str) -> None:
    """What escalation does: the ticket's created message, committed (here without the ticket row)."""
    enqueue(
        session=session,
        target="itsm",
        topic="ticket.created",
        payload=ticket_payload(number),
        idempotency_key=f"{number}:created",
        ticket_id=f"t-{number}",
    )
    session.commit()


def test_a_ticket_its_comment_and_its_resolution_reach_the_incident_in_order(
    settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    clock = FakeClock()
    escalate(session, "IT-000001")
    for key, topic, payload in (
        ("c1", "ticket.comment", comment_payload("IT-000001", "still logged out", author_role="requester")),
        ("s1", "ticket.status", status_payload("IT-000001", "resolved", "Reset the Imprivata session")),
    ):
        enqueue(
            session=session,
            target="itsm",
            topic=topic,
            payload=payload,
            idempotency_key=key,
            ticket_id="t-IT-000001",
        )
    session.commit()
    worker = make_worker(settings, db_engine, clock)

    for _ in range(3):
        worker.run_once()

    incident = desk.incident("IT-000001:created")
    assert incident["comments"] == ["[itbot, requester] still logged out"]
    assert (incident["state"], incident["close_notes"]) == ("6", "Reset the Imprivata session")
    assert [r.method for r in desk.requests] == ["POST", "PATCH", "PATCH"]
    session.expire_all()
    created = get_by_key(session=session, idempotency_key="IT-000001:created")
    assert created is not None
    assert created.status == OutboxStatus.DELIVERED
    assert created.external_ref == f"{incident['number']}:{incident['sys_id']}"


def test_a_create_that_timed_out_after_the_desk_stored_it_is_not_created_twice(
    settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    clock = FakeClock()
    escalate(session, "IT-000001")
    desk.slow_creates(seconds=TIMEOUT.read + 1.0)  # type: ignore[operator]
    worker = make_worker(settings, db_engine, clock)

    first = worker.run_once()
    clock.advance(settings.outbox_backoff_seconds * (1 + settings.outbox_backoff_jitter))
    second = worker.run_once()

    assert (first.retried, second.delivered) == (1, 1)
    assert desk.created_by_correlation() == {"IT-000001:created": 1}
    assert [r.method for r in desk.requests] == ["POST", "GET"]
    session.expire_all()
    message = get_by_key(session=session, idempotency_key="IT-000001:created")
    assert message is not None
    assert message.external_ref == "{number}:{sys_id}".format(**desk.incident("IT-000001:created"))


def test_a_rate_limit_is_honoured_to_the_second(
    settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    clock = FakeClock()
    escalate(session, "IT-000001")
    desk.rate_limit(retry_after=42, times=1)
    worker = make_worker(settings, db_engine, clock)

    worker.run_once()
    session.expire_all()
    message = get_by_key(session=session, idempotency_key="IT-000001:created")
    assert message is not None
    wait = message.next_attempt_at - clock()
    assert timedelta(seconds=41) < wait <= timedelta(seconds=42)
    assert message.last_error == "http_429"

    clock.advance(41)
    assert worker.run_once().claimed == 0
    clock.advance(1)
    assert worker.run_once().delivered == 1


def test_wrong_credentials_dead_letter_the_ticket_until_it_is_fixed_and_requeued(
    settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    clock = FakeClock()
    escalate(session, "IT-000001")
    wrong = settings.model_copy(update={"itsm_password": "expired"})

    assert make_worker(wrong, db_engine, clock).run_once().failed == 1
    [dead] = list_failed(session=session)
    assert (dead.idempotency_key, dead.last_error, dead.attempts) == ("IT-000001:created", "http_401", 1)

    requeue_failed(session=session, now=clock())
    assert make_worker(settings, db_engine, clock).run_once().delivered == 1
    assert desk.created_by_correlation() == {"IT-000001:created": 1}


def test_the_log_names_ids_and_statuses_but_never_the_tickets_text(
    settings: Settings,
    db_engine: Engine,
    session: Session,
    desk: FakeServiceNow,
    all_logs: pytest.LogCaptureFixture,
) -> None:
    escalate(session, "IT-000001")
    desk.down(status=503, times=1)
    clock = FakeClock()
    worker = make_worker(settings, db_engine, clock)

    worker.run_once()
    clock.advance(60)
    worker.run_once()

    # Every logger but SQLAlchemy's own DEBUG echo of rows, which is off outside tests.
    logged = "\n".join(r.getMessage() for r in all_logs.records if not r.name.startswith("sqlalchemy"))
    assert "event=outbox_retry" in logged
    assert "event=outbox_delivered" in logged
    assert "error=http_503" in logged
    payload = ticket_payload("IT-000001")
    for text in (payload["summary"], payload["description"], payload["location"]):
        assert text not in logged
