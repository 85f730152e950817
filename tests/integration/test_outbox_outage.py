"""The service desk is down for ten minutes, then returns: every ticket arrives exactly once.

The worker runs against a fake ServiceNow over real HTTP on SQLite and PostgreSQL; time is a clock the
test moves to each next due time (backoff 2 s doubling to 5 min, as configured by default), so ten
minutes of outage take about a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.db import session_factory
from bot.tickets.delivery import Deliverer
from bot.tickets.itsm import build_forwarder
from bot.tickets.outbox import enqueue, list_messages, next_due_at
from bot.tickets.outbox_models import OutboxStatus
from bot.tickets.worker import Worker
from tests.fakes.itsm import FakeClock, FakeServiceNow, comment_payload, ticket_payload

TICKETS = 25
WITH_COMMENT = 5
OUTAGE = timedelta(minutes=10)


@pytest.fixture
def desk() -> Iterator[FakeServiceNow]:
    with FakeServiceNow(username="itbot", password="s3cret") as fake:
        yield fake


def drive(worker: Worker, clock: FakeClock, session: Session, *, until: datetime) -> None:
    """Run passes, jumping the clock to each next due time, while that time is before ``until``."""
    for _ in range(1000):
        worker.run_once()
        session.expire_all()
        due = next_due_at(session=session)
        if due is None or due >= until:
            return
        clock.advance_to(due)
    raise AssertionError("the worker never settled")


@pytest.mark.parametrize("outage", ["503", "refused"])
def test_ten_minutes_down_then_back_every_ticket_arrives_exactly_once(
    outage: str, db_settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    settings = db_settings.model_copy(
        update={
            "itsm_kind": "servicenow",
            "itsm_url": desk.url,
            "itsm_username": "itbot",
            "itsm_password": "s3cret",
        }
    )
    numbers = [f"IT-{n:06d}" for n in range(1, TICKETS + 1)]
    for number in numbers:
        enqueue(
            session=session,
            target="itsm",
            topic="ticket.created",
            payload=ticket_payload(number),
            idempotency_key=f"{number}:created",
            ticket_id=f"t-{number}",
        )
        session.commit()
    for number in numbers[:WITH_COMMENT]:
        enqueue(
            session=session,
            target="itsm",
            topic="ticket.comment",
            payload=comment_payload(number, "still down on 4 West"),
            idempotency_key=f"{number}:comment:1",
            ticket_id=f"t-{number}",
        )
        session.commit()
    clock = FakeClock()
    worker = Worker(
        settings,
        open_session=session_factory(db_engine),
        deliverer=Deliverer(forwarder=build_forwarder(settings, timeout=httpx.Timeout(2.0)), senders={}),
        clock=clock,
    )
    if outage == "503":
        desk.down(status=503)
    else:
        desk.refuse_connections()
    back_at = clock() + OUTAGE

    drive(worker, clock, session, until=back_at)
    assert desk.incidents == {}
    probes_while_down = len(desk.requests)

    clock.advance_to(back_at)
    desk.up()
    drive(worker, clock, session, until=back_at + timedelta(minutes=10))

    assert desk.created_by_correlation() == {f"{number}:created": 1 for number in numbers}
    for number in numbers[:WITH_COMMENT]:
        assert desk.incident(f"{number}:created")["comments"] == ["[itbot, requester] still down on 4 West"]
    session.expire_all()
    messages = list_messages(session=session)
    assert {m.status for m in messages} == {OutboxStatus.DELIVERED}
    assert max(m.attempts for m in messages) < settings.outbox_max_attempts
    # The worker probes a down desk, it does not hammer it: far fewer calls than tickets x retries.
    assert probes_while_down <= 40
