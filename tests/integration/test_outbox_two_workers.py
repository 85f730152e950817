"""Two ``itbot worker`` processes drain one outbox at once: no ticket is forwarded twice.

Real separate processes (the console command, ``--once``) against PostgreSQL (row locks, ``SKIP
LOCKED``) and SQLite (``BEGIN IMMEDIATE``), forwarding to one fake ServiceNow that counts creates.
Delivering takes long next to claiming, so the claims themselves are also raced head to head, by
claimers with their own engines that do nothing else.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.db import create_db_engine, session_factory
from bot.interactions.models import utcnow
from bot.tickets.outbox import claim_due, enqueue, list_messages
from bot.tickets.outbox_models import OutboxStatus
from tests.fakes.itsm import FakeServiceNow, ticket_payload

ROOT = Path(__file__).resolve().parents[2]
TICKETS = 300
CLAIM_RACE_MESSAGES = 400
CLAIMERS = 4


@pytest.fixture
def desk() -> Iterator[FakeServiceNow]:
    # A few milliseconds a create, like a real desk, so the two workers' batches overlap in time.
    with FakeServiceNow(username="itbot", password="s3cret", latency=0.004) as fake:
        yield fake


def worker_env(settings: Settings, desk: FakeServiceNow) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITBOT_") and k != "DATABASE_URL"}
    env.update(
        {
            "ITBOT_HOME": str(settings.home),
            "DATABASE_URL": settings.sqlalchemy_url,
            "ITBOT_ITSM_KIND": "servicenow",
            "ITBOT_ITSM_URL": desk.url,
            "ITBOT_ITSM_USERNAME": "itbot",
            "ITBOT_ITSM_PASSWORD": "s3cret",
            "HF_HUB_OFFLINE": "1",
        }
    )
    return env


def test_two_worker_processes_forward_every_ticket_exactly_once(
    db_settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
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
    command = [sys.executable, "-m", "bot.channels.cli.main", "worker", "--once"]
    env = worker_env(db_settings, desk)

    workers = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [worker.communicate(timeout=120) for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0], [err[-2000:] for _, err in results]
    assert "Traceback" not in "".join(err for _, err in results)
    assert desk.created_by_correlation() == {f"{number}:created": 1 for number in numbers}
    assert len(desk.of("POST")) == TICKETS
    session.expire_all()
    messages = list_messages(session=session)
    assert {m.status for m in messages} == {OutboxStatus.DELIVERED}
    # Each message was taken by one worker once: no second try, so no lookup hid a double claim.
    assert {m.attempts for m in messages} == {1}
    assert desk.of("GET") == []
    # Both processes really took part (locked_by names the worker that delivered each message).
    assert len({m.locked_by for m in messages}) == 2


def test_claimers_racing_in_a_tight_loop_never_take_the_same_message(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    for n in range(CLAIM_RACE_MESSAGES):
        enqueue(session=session, target="itsm", topic="ticket.created", payload={}, idempotency_key=f"k{n}")
    session.commit()
    start = threading.Barrier(CLAIMERS)
    taken: list[list[str]] = [[] for _ in range(CLAIMERS)]

    def claimer(index: int) -> None:
        engine = create_db_engine(db_settings)
        try:
            open_session = session_factory(engine)
            start.wait()
            while True:
                with open_session() as own:
                    batch = claim_due(
                        session=own, worker_id=f"claimer-{index}", now=utcnow(), lease_seconds=300, limit=3
                    )
                if not batch:
                    return
                taken[index] += [m.id for m in batch]
        finally:
            engine.dispose()

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    every = [message_id for ids in taken for message_id in ids]
    assert len(every) == len(set(every)) == CLAIM_RACE_MESSAGES
    assert sum(1 for ids in taken if ids) > 1
