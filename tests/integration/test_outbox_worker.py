"""The worker as a process: it loops, stops cleanly, waits out a database outage, hands back what it
did not send, replays the spool each pass, and ``itbot worker`` runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.db import create_db_engine, init_db, session_factory
from bot.tickets.delivery import Deliverer
from bot.tickets.outbox import enqueue, get_by_key, list_messages
from bot.tickets.outbox_models import OutboxMessage, OutboxStatus
from bot.tickets.worker import Worker, run_worker
from tests.fakes.itsm import FakeClock, FakeServiceNow, InMemoryForwarder, ticket_payload

ROOT = Path(__file__).resolve().parents[2]


def escalate(session: Session, number: str) -> None:
    enqueue(
        session=session,
        target="itsm",
        topic="ticket.created",
        payload=ticket_payload(number),
        idempotency_key=f"{number}:created",
        ticket_id=f"t-{number}",
    )
    session.commit()


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_loop_delivers_what_arrives_while_it_runs_and_stops_when_told(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    settings = db_settings.model_copy(update={"worker_poll_seconds": 0.05})
    forwarder = InMemoryForwarder()
    stop = threading.Event()
    delivered: list[int] = []
    thread = threading.Thread(
        target=lambda: delivered.append(
            run_worker(settings, senders={}, forwarder=forwarder, stop=stop, engine=db_engine)
        )
    )
    thread.start()
    try:
        for n in range(1, 4):
            escalate(session, f"IT-00000{n}")
        wait_for(lambda: len(forwarder.records) == 3)
    finally:
        stop.set()
        thread.join(timeout=10)

    assert not thread.is_alive()
    assert delivered == [3]


def test_a_database_outage_is_logged_and_waited_out(
    db_settings: Settings, all_logs: pytest.LogCaptureFixture
) -> None:
    settings = db_settings.model_copy(update={"worker_poll_seconds": 0.02})
    engine = create_db_engine(settings)  # not migrated yet: every statement fails as in an outage
    forwarder = InMemoryForwarder()
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(settings,),
        kwargs={"senders": {}, "forwarder": forwarder, "stop": stop, "engine": engine},
    )
    thread.start()
    try:
        wait_for(lambda: any("worker_database_unavailable" in r.getMessage() for r in all_logs.records))
        init_db(settings, engine=engine)
        with session_factory(engine)() as session:
            escalate(session, "IT-000001")
        wait_for(lambda: len(forwarder.records) == 1)
    finally:
        stop.set()
        thread.join(timeout=10)
        engine.dispose()

    assert any("worker_database_back" in r.getMessage() for r in all_logs.records)


class StoppingForwarder(InMemoryForwarder):
    """Asks the worker to stop while it forwards the first message (as SIGTERM would)."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self.stop = stop

    def forward(self, message: OutboxMessage, *, parent_ref: str) -> str:
        self.stop.set()
        return super().forward(message, parent_ref=parent_ref)


def test_stopping_finishes_the_message_in_hand_and_hands_back_the_rest_untried(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    for n in range(1, 4):
        escalate(session, f"IT-00000{n}")
    stop = threading.Event()
    worker = Worker(
        db_settings,
        open_session=session_factory(db_engine),
        deliverer=Deliverer(forwarder=StoppingForwarder(stop), senders={}),
        stop=stop,
    )

    report = worker.run_once()

    assert (report.delivered, report.released) == (1, 2)
    session.expire_all()
    rest = [m for m in list_messages(session=session) if m.status == OutboxStatus.PENDING]
    assert [(m.attempts, m.locked_until) for m in rest] == [(0, None), (0, None)]


def test_a_batch_stops_before_a_message_whose_lease_could_run_out_mid_delivery(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    for n in range(1, 4):
        escalate(session, f"IT-00000{n}")
    clock = FakeClock()

    class SlowForwarder(InMemoryForwarder):
        def forward(self, message: OutboxMessage, *, parent_ref: str) -> str:
            clock.advance(130)  # the third message would start with 40 s of lease left
            return super().forward(message, parent_ref=parent_ref)

    worker = Worker(
        db_settings,
        open_session=session_factory(db_engine),
        deliverer=Deliverer(forwarder=SlowForwarder(), senders={}),
        clock=clock,
        lease_seconds=300,
        lease_margin_seconds=60,
    )

    report = worker.run_once()

    assert (report.delivered, report.released) == (2, 1)


def test_each_pass_replays_the_spool_first(
    db_settings: Settings, db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Settings, Session]] = []

    def replay_spool(*, settings: Settings, session: Session, outage_lookup: object = None) -> int:
        calls.append((settings, session))
        escalate(session, "IT-000077")
        return 1

    spool = types.ModuleType("bot.tickets.spool")
    spool.replay_spool = replay_spool  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.tickets.spool", spool)
    forwarder = InMemoryForwarder()
    worker = Worker(
        db_settings,
        open_session=session_factory(db_engine),
        deliverer=Deliverer(forwarder=forwarder, senders={}),
    )

    report = worker.run_once()

    assert (report.spooled, report.delivered) == (1, 1)
    assert calls[0][0] is db_settings
    assert "IT-000077:created" in forwarder.records


@pytest.fixture
def desk() -> Iterator[FakeServiceNow]:
    with FakeServiceNow() as fake:
        yield fake


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITBOT_") and k != "DATABASE_URL"}
    env.update(
        {"ITBOT_HOME": str(settings.home), "DATABASE_URL": settings.sqlalchemy_url, "HF_HUB_OFFLINE": "1"}
    )
    env.update(extra)
    return env


def test_itbot_worker_runs_until_sigterm_then_exits_cleanly(
    db_settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    env = worker_env(
        db_settings,
        ITBOT_ITSM_KIND="servicenow",
        ITBOT_ITSM_URL=desk.url,
        ITBOT_ITSM_USERNAME="itbot",
        ITBOT_ITSM_PASSWORD="s3cret",
        ITBOT_WORKER_POLL_SECONDS="0.05",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.channels.cli.main", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        escalate(session, "IT-000001")
        desk.wait_until(lambda: len(desk.incidents) == 1, timeout=20)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0
    assert "event=worker_stopped" in err
    assert "Traceback" not in err
    session.expire_all()
    message = get_by_key(session=session, idempotency_key="IT-000001:created")
    assert message is not None and message.status == OutboxStatus.DELIVERED


def test_itbot_worker_refuses_to_start_with_incomplete_service_desk_settings(db_settings: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.channels.cli.main", "worker", "--once"],
        cwd=ROOT,
        env=worker_env(db_settings, ITBOT_ITSM_KIND="jira", ITBOT_ITSM_URL="https://jira.example.org"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "ITBOT_JIRA_SERVICE_DESK_ID" in done.stderr
