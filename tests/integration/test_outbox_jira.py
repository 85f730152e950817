"""The worker forwarding tickets to a fake Jira Service Management over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.db import session_factory
from bot.tickets.delivery import Deliverer
from bot.tickets.itsm import build_forwarder
from bot.tickets.outbox import enqueue, get_by_key
from bot.tickets.worker import Worker
from tests.fakes.itsm import FakeClock, FakeJira, comment_payload, status_payload, ticket_payload

TIMEOUT = httpx.Timeout(1.0, connect=1.0)


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(username="itbot@example.org", password="api-token", service_desk_id="4") as fake:
        yield fake


@pytest.fixture
def settings(db_settings: Settings, jira: FakeJira) -> Settings:
    return db_settings.model_copy(
        update={
            "itsm_kind": "jira",
            "itsm_url": jira.url,
            "itsm_username": "itbot@example.org",
            "itsm_password": "api-token",
            "jira_service_desk_id": "4",
            "jira_request_type_id": "27",
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


def add(session: Session, topic: str, payload: dict[str, object], key: str) -> None:
    enqueue(
        session=session, target="itsm", topic=topic, payload=payload, idempotency_key=key, ticket_id="t-1"
    )
    session.commit()


def test_a_ticket_becomes_a_request_and_its_comments_follow_it(
    settings: Settings, db_engine: Engine, session: Session, jira: FakeJira
) -> None:
    add(session, "ticket.created", ticket_payload("IT-000001"), "IT-000001:created")
    add(session, "ticket.comment", comment_payload("IT-000001", "label printer still blank"), "c1")
    add(session, "ticket.status", status_payload("IT-000001", "resolved", "Replaced the ribbon"), "s1")
    worker = make_worker(settings, db_engine, FakeClock())

    for _ in range(3):
        worker.run_once()

    [issue] = jira.issues.values()
    assert issue["summary"] == "[IT-000001] Epic keeps logging me out on the WOW"
    assert issue["comments"] == [
        {"id": "1", "body": "[itbot, requester] label printer still blank", "public": True},
        {"id": "2", "body": "[itbot] Status: resolved. Replaced the ribbon", "public": False},
    ]
    session.expire_all()
    created = get_by_key(session=session, idempotency_key="IT-000001:created")
    assert created is not None and created.external_ref == issue["issueKey"]


def test_a_create_that_timed_out_after_jira_stored_it_is_found_not_created_again(
    settings: Settings, db_engine: Engine, session: Session, jira: FakeJira
) -> None:
    add(session, "ticket.created", ticket_payload("IT-000001"), "IT-000001:created")
    jira.slow_creates(seconds=2.0)
    clock = FakeClock()
    worker = make_worker(settings, db_engine, clock)

    assert worker.run_once().retried == 1
    clock.advance(settings.outbox_backoff_seconds * (1 + settings.outbox_backoff_jitter))
    assert worker.run_once().delivered == 1

    assert jira.summaries() == {"[IT-000001] Epic keeps logging me out on the WOW": 1}
    assert [r.method for r in jira.requests] == ["POST", "GET"]
