"""The worker posting tickets to a generic webhook: the payload as it is, a key per message."""

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
from tests.fakes.itsm import FakeClock, FakeWebhook, comment_payload, ticket_payload


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    with FakeWebhook(token="hook-token") as fake:
        yield fake


def test_every_message_arrives_once_with_its_key_even_after_a_lost_answer(
    db_settings: Settings, db_engine: Engine, session: Session, hook: FakeWebhook
) -> None:
    settings = db_settings.model_copy(
        update={"itsm_kind": "webhook", "itsm_url": hook.url + "/itbot", "itsm_password": "hook-token"}
    )
    payload = ticket_payload("IT-000001")
    for topic, body, key in (
        ("ticket.created", payload, "IT-000001:created"),
        ("ticket.comment", comment_payload("IT-000001", "any news?"), "IT-000001:comment:1"),
    ):
        enqueue(
            session=session, target="itsm", topic=topic, payload=body, idempotency_key=key, ticket_id="t-1"
        )
    session.commit()
    hook.slow_creates(seconds=2.0)
    clock = FakeClock()
    worker = Worker(
        settings,
        open_session=session_factory(db_engine),
        deliverer=Deliverer(forwarder=build_forwarder(settings, timeout=httpx.Timeout(1.0)), senders={}),
        clock=clock,
    )

    for _ in range(4):
        worker.run_once()
        clock.advance(10)

    assert list(hook.received) == ["IT-000001:created", "IT-000001:comment:1"]
    assert hook.received["IT-000001:created"] == {"id": "wh-1", "topic": "ticket.created", "body": payload}
    assert [r.headers["idempotency-key"] for r in hook.of("POST")] == [
        "IT-000001:created",
        "IT-000001:created",
        "IT-000001:comment:1",
    ]
    session.expire_all()
    created = get_by_key(session=session, idempotency_key="IT-000001:created")
    assert created is not None and created.external_ref == "wh-1"
