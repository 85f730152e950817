"""Finding 5: a ServiceNow answering ``429`` with ``Retry-After: 1`` dead-lettered a ticket after 20
tries in 19 s; dead letters could not be requeued from the CLI or the API; 75 comments waited,
unseen, behind 30 dead-lettered creates.

What must hold, on SQLite and PostgreSQL, with the worker forwarding to a fake ServiceNow over real
HTTP and a fake clock the test moves to each next due time:

* Retry-After can lengthen the back-off, never shorten it; a message is dead-lettered only after the
  configured tries *and* the configured time since its first try (a day by default);
* ``itbot tickets list/show`` (and their JSON) say where each ticket is on its way to the desk:
  retrying (which try, when next), delivered (as which incident), dead-lettered (why, and how many
  follow-ups it holds);
* ``itbot tickets retry NUMBER ...`` / ``--all-dead`` (and ``POST /api/tickets/.../retry``) requeue
  the dead letters; the follow-ups they held go after them, in order, each once, also with two
  workers draining at once.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.cli.main import EXIT_FAILED, EXIT_OK, main
from bot.config import Settings
from bot.db import create_db_engine, init_db, session_factory
from bot.main import create_app
from bot.tickets.actions import reply_to_requester, resolve_ticket
from bot.tickets.delivery import Deliverer
from bot.tickets.itsm import build_forwarder
from bot.tickets.models import Ticket, TicketCreate
from bot.tickets.outbox import enqueue, get_by_key, list_messages, next_due_at
from bot.tickets.outbox_models import OutboxStatus
from bot.tickets.payloads import itsm_ticket_payload
from bot.tickets.queries import create_ticket
from bot.tickets.worker import Worker
from tests.databases import postgres_settings, sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.itsm import FakeClock, FakeServiceNow
from tests.live_server import serve

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = httpx.Timeout(2.0, connect=2.0)
HOUR = 3600.0
DAY = 24 * HOUR


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield sqlite_settings(tmp_path)
    else:
        with postgres_settings(tmp_path) as settings:
            yield settings


@pytest.fixture
def db_engine(db_settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(db_settings)
    init_db(db_settings, engine=engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    with session_factory(db_engine)() as opened:
        yield opened


@pytest.fixture
def desk() -> Iterator[FakeServiceNow]:
    with FakeServiceNow(username="itbot", password="s3cret") as fake:
        yield fake


@pytest.fixture
def settings(db_settings: Settings, desk: FakeServiceNow) -> Settings:
    """The defaults for retries (20 tries and a day at least), forwarding to the fake ServiceNow."""
    return db_settings.model_copy(
        update={
            "itsm_kind": "servicenow",
            "itsm_url": desk.url,
            "itsm_username": "itbot",
            "itsm_password": "s3cret",
        }
    )


@pytest.fixture(autouse=True)
def keep_root_logger() -> Iterator[None]:
    """``main`` configures logging for a terminal; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``itbot`` run in-process sees this test's home, database and service desk, nothing else."""
    for name in list(os.environ):
        if name.startswith(("ITBOT_", "SLACK_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ITBOT_HOME", str(settings.home))
    monkeypatch.setenv("DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("ITBOT_ITSM_KIND", "servicenow")
    monkeypatch.setenv("ITBOT_ITSM_URL", settings.itsm_url)
    return settings


def make_worker(settings: Settings, engine: Engine, clock: FakeClock) -> Worker:
    return Worker(
        settings,
        open_session=session_factory(engine),
        deliverer=Deliverer(forwarder=build_forwarder(settings, timeout=TIMEOUT), senders={}),
        clock=clock,
    )


def drive(worker: Worker, clock: FakeClock, session: Session, *, until: datetime) -> None:
    """Run passes, jumping the clock to each next due time, while that time is before ``until``."""
    for _ in range(5000):
        worker.run_once()
        session.expire_all()
        due = next_due_at(session=session)
        if due is None or due >= until:
            return
        clock.advance_to(due)
    raise AssertionError("the worker never settled")


def open_ticket(session: Session, settings: Settings, summary: str) -> Ticket:
    """A ticket and its ``ticket.created`` for the desk, committed together (as escalation does)."""
    ticket = create_ticket(
        session=session, data=TicketCreate(summary=summary, channel="slack", system="Epic")
    )
    enqueue(
        session=session,
        target="itsm",
        topic="ticket.created",
        payload=itsm_ticket_payload(ticket, settings=settings),
        idempotency_key=f"{ticket.number}:created",
        ticket_id=ticket.id,
    )
    session.commit()
    return ticket


def created(session: Session, ticket: Ticket) -> tuple[OutboxStatus, int, str]:
    session.expire_all()
    message = get_by_key(session=session, idempotency_key=f"{ticket.number}:created")
    assert message is not None
    return message.status, message.attempts, message.last_error


def tickets_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["tickets", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- the retry policy ----------------------------------------------------------------------------------


def test_retry_after_1_on_every_try_does_not_dead_letter_a_ticket_within_an_hour(
    settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    clock = FakeClock()
    ticket = open_ticket(session, settings, "Epic keeps logging me out")
    desk.down(status=429, retry_after=1)
    worker = make_worker(settings, db_engine, clock)
    start = clock()

    drive(worker, clock, session, until=start + timedelta(seconds=HOUR))

    status, attempts, error = created(session, ticket)
    assert (status, error) == (OutboxStatus.PENDING, "http_429")
    # The back-off (2 s doubling to 5 min) set the pace, not the desk's one second: about 17 tries.
    assert 10 <= attempts <= 20
    assert len(desk.requests) == attempts

    desk.up()
    clock.advance(settings.outbox_backoff_max_seconds * 2)
    drive(worker, clock, session, until=clock() + timedelta(seconds=HOUR))
    assert created(session, ticket)[0] == OutboxStatus.DELIVERED
    assert desk.created_by_correlation() == {f"{ticket.number}:created": 1}


def test_a_throttled_ticket_is_dead_lettered_only_after_the_tries_and_the_whole_day(
    settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    clock = FakeClock()
    ticket = open_ticket(session, settings, "Epic keeps logging me out")
    desk.down(status=429, retry_after=1)
    worker = make_worker(settings, db_engine, clock)
    start = clock()

    drive(worker, clock, session, until=start + timedelta(seconds=DAY - 10 * 60))
    assert created(session, ticket)[0] == OutboxStatus.PENDING

    drive(worker, clock, session, until=start + timedelta(seconds=DAY + HOUR))
    status, attempts, error = created(session, ticket)
    assert (status, error) == (OutboxStatus.FAILED, "http_429")
    assert attempts >= settings.outbox_max_attempts
    dead = get_by_key(session=session, idempotency_key=f"{ticket.number}:created")
    assert dead is not None and dead.first_attempt_at is not None
    # Dead-lettered by the try that came a day or more after the first (next_attempt_at: when it died).
    assert dead.next_attempt_at - dead.first_attempt_at >= timedelta(seconds=DAY)


def test_many_quick_tries_alone_or_a_long_time_alone_do_not_dead_letter(
    settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    few_tries_long_wait = settings.model_copy(
        update={"outbox_max_attempts": 3, "outbox_dead_letter_after_seconds": HOUR}
    )
    clock = FakeClock()
    ticket = open_ticket(session, settings, "Pyxis won't open")
    desk.down(status=503)
    worker = make_worker(few_tries_long_wait, db_engine, clock)
    start = clock()

    drive(worker, clock, session, until=start + timedelta(seconds=HOUR - 60))
    status, attempts, _ = created(session, ticket)
    assert status == OutboxStatus.PENDING and attempts > 3

    drive(worker, clock, session, until=start + timedelta(seconds=2 * HOUR))
    assert created(session, ticket)[0] == OutboxStatus.FAILED


# -- what IT sees, and requeueing --------------------------------------------------------------------


def test_show_says_which_try_when_next_and_then_the_incident_it_became(
    cli_env: Settings,
    db_engine: Engine,
    session: Session,
    desk: FakeServiceNow,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = FakeClock()
    ticket = open_ticket(session, cli_env, "BCMA scanner not reading")
    desk.down(status=429, retry_after=1, times=1)
    worker = make_worker(cli_env, db_engine, clock)
    worker.run_once()

    code, out, _ = tickets_cli(capsys, "show", ticket.number)
    _, as_json, _ = tickets_cli(capsys, "show", ticket.number, "--json")

    assert code == EXIT_OK
    assert "Service desk: retrying (try 1, next at " in out and "last error http_429" in out
    delivery = json.loads(as_json)["delivery"]
    assert (delivery["state"], delivery["attempts"], delivery["last_error"]) == ("retrying", 1, "http_429")
    assert delivery["next_attempt_at"] is not None

    clock.advance(HOUR)
    worker.run_once()
    incident = desk.incident(f"{ticket.number}:created")["number"]
    _, out, _ = tickets_cli(capsys, "show", ticket.number)
    _, listed, _ = tickets_cli(capsys, "list", "--json")
    assert f"Service desk: delivered as {incident}\n" in out
    assert json.loads(listed)[0]["delivery"]["desk_id"] == incident


def test_retry_requeues_a_dead_create_and_its_held_follow_ups_go_after_it_in_order(
    cli_env: Settings,
    db_engine: Engine,
    session: Session,
    desk: FakeServiceNow,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = FakeClock()
    ticket = open_ticket(session, cli_env, "Epic keeps logging me out")
    expired = cli_env.model_copy(update={"itsm_password": "expired"})
    assert make_worker(expired, db_engine, clock).run_once().failed == 1
    reply_to_requester(session=session, settings=cli_env, number=ticket.number, agent="Dana", text="Looking")
    reply_to_requester(session=session, settings=cli_env, number=ticket.number, agent="Dana", text="Fixed?")
    resolve_ticket(session=session, settings=cli_env, number=ticket.number, agent="Dana", note="Reset SSO")
    for _ in range(3):
        clock.advance(DAY)
        make_worker(expired, db_engine, clock).run_once()
    # The follow-ups were not tried one by one against a create the desk never got.
    assert len(desk.requests) == 1

    _, shown, _ = tickets_cli(capsys, "show", ticket.number)
    assert "Service desk: dead-lettered: http_401 after 1 try, 3 follow-ups held" in shown
    assert f"itbot tickets retry {ticket.number}" in shown

    code, out, _ = tickets_cli(capsys, "retry", ticket.number)
    assert code == EXIT_OK
    assert out == (
        f"{ticket.number}: requeued ticket.created (was http_401 after 1 try); "
        "3 follow-ups will go after it.\n"
        "Requeued 1 delivery of 1 ticket; the worker sends them next.\n"
    )
    _, shown, _ = tickets_cli(capsys, "show", ticket.number)
    assert "Service desk: queued again (requeued), 3 follow-ups held" in shown

    worker = make_worker(cli_env, db_engine, clock)
    for _ in range(5):
        worker.run_once()

    incident = desk.incident(f"{ticket.number}:created")
    assert desk.created_by_correlation() == {f"{ticket.number}:created": 1}
    assert incident["work_notes"] == [
        "[itbot, agent Dana] Looking",
        "[itbot, agent Dana] Fixed?",
        "[itbot] Status: resolved. Reset SSO",
    ]
    assert (incident["state"], incident["close_notes"]) == ("6", "Reset SSO")
    # The requeued create was looked up first (it may have arrived before it died), then made.
    assert [r.method for r in desk.requests[1:]] == ["GET", "POST", "PATCH", "PATCH", "PATCH"]
    session.expire_all()
    assert {m.status for m in list_messages(session=session)} == {OutboxStatus.DELIVERED}
    _, listed, _ = tickets_cli(capsys, "list", "--json")
    assert json.loads(listed)[0]["delivery"]["state"] == "delivered"


def test_75_follow_ups_behind_30_dead_creates_are_reported_and_delivered_after_retry_all_dead(
    cli_env: Settings,
    db_engine: Engine,
    session: Session,
    desk: FakeServiceNow,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = FakeClock()
    tickets = [open_ticket(session, cli_env, f"Printer {n} on 4 West jams") for n in range(30)]
    expired = cli_env.model_copy(update={"itsm_password": "expired"})
    for _ in range(3):
        make_worker(expired, db_engine, clock).run_once()
    for n in range(75):
        ticket = tickets[n % 30]
        reply_to_requester(
            session=session, settings=cli_env, number=ticket.number, agent="Sam", text=f"note {n}"
        )
    for _ in range(3):
        clock.advance(HOUR)
        make_worker(expired, db_engine, clock).run_once()
    assert len(desk.requests) == 30

    _, listed, _ = tickets_cli(capsys, "list", "--json")
    _, table, _ = tickets_cli(capsys, "list")
    _, failed, _ = tickets_cli(capsys, "list", "--failed", "--json")
    deliveries = [t["delivery"] for t in json.loads(listed)]
    assert {d["state"] for d in deliveries} == {"dead"}
    assert sum(d["follow_ups_held"] for d in deliveries) == 75
    assert len(json.loads(failed)) == 30
    assert "30 tickets dead-lettered at the service desk, 75 follow-ups held behind them" in table
    assert "DEAD +3 held" in table and "DEAD +2 held" in table

    code, out, _ = tickets_cli(capsys, "retry", "--all-dead")
    assert code == EXIT_OK
    assert out.endswith("Requeued 30 deliveries of 30 tickets; the worker sends them next.\n")
    assert (
        out.count("; 3 follow-ups will go after it.") == out.count("; 2 follow-ups will go after it.") == 15
    )

    drive(make_worker(cli_env, db_engine, clock), clock, session, until=clock() + timedelta(seconds=HOUR))

    assert desk.created_by_correlation() == {f"{t.number}:created": 1 for t in tickets}
    for index, ticket in enumerate(tickets):
        notes = desk.incident(f"{ticket.number}:created")["work_notes"]
        assert notes == [f"[itbot, agent Sam] note {n}" for n in range(index, 75, 30)]
    session.expire_all()
    assert {m.status for m in list_messages(session=session)} == {OutboxStatus.DELIVERED}
    _, table, _ = tickets_cli(capsys, "list")
    assert "dead-lettered" not in table and "DEAD" not in table


def test_retry_refuses_an_unknown_number_before_requeueing_anything(
    cli_env: Settings,
    db_engine: Engine,
    session: Session,
    desk: FakeServiceNow,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = FakeClock()
    ticket = open_ticket(session, cli_env, "Epic keeps logging me out")
    make_worker(cli_env.model_copy(update={"itsm_password": "expired"}), db_engine, clock).run_once()

    assert tickets_cli(capsys, "retry", ticket.number, "IT-000999") == (
        EXIT_FAILED,
        "",
        "itbot tickets: There is no ticket IT-000999.\n",
    )
    assert created(session, ticket)[0] == OutboxStatus.FAILED
    assert tickets_cli(capsys, "retry")[0] == EXIT_FAILED
    code, out, _ = tickets_cli(capsys, "retry", "--all-dead")
    assert code == EXIT_OK and out.startswith(f"{ticket.number}: requeued ticket.created")
    assert tickets_cli(capsys, "retry", "--all-dead")[1] == "Nothing is dead-lettered.\n"


def test_the_tickets_api_requeues_with_the_bearer_token_only(tmp_path: Path, desk: FakeServiceNow) -> None:
    token = "t0ken-for-retry-tests"
    settings = sqlite_settings(
        tmp_path,
        tickets_api_token=token,
        itsm_kind="servicenow",
        itsm_url=desk.url,
        itsm_username="itbot",
        itsm_password="expired",
    )
    with serve(create_app(settings, assistant=FakeAssistant())) as server:
        engine = server.app.state.sessions
        with engine() as session:
            ticket = open_ticket(session, settings, "Epic keeps logging me out")
        clock = FakeClock()
        worker = Worker(
            settings,
            open_session=engine,
            deliverer=Deliverer(forwarder=build_forwarder(settings, timeout=TIMEOUT), senders={}),
            clock=clock,
        )
        assert worker.run_once().failed == 1
        auth = {"Authorization": f"Bearer {token}"}
        url = f"{server.url}/api/tickets"

        shown = httpx.get(f"{url}/{ticket.number}", headers=auth, timeout=10).json()
        denied = httpx.post(f"{url}/{ticket.number}/retry", timeout=10)
        wrong = httpx.post(f"{url}/retry", json={"all_dead": True}, headers={"Authorization": "Bearer x"})
        both = httpx.post(f"{url}/retry", json={"all_dead": True, "numbers": ["1"]}, headers=auth)
        unknown = httpx.post(f"{url}/IT-000404/retry", headers=auth, timeout=10)
        requeued = httpx.post(f"{url}/{ticket.number}/retry", headers=auth, timeout=10)
        again = httpx.post(f"{url}/retry", json={"numbers": [ticket.number]}, headers=auth, timeout=10)

    assert shown["delivery"]["state"] == "dead" and shown["delivery"]["last_error"] == "http_401"
    assert (denied.status_code, wrong.status_code, both.status_code, unknown.status_code) == (
        401,
        401,
        422,
        404,
    )
    assert requeued.status_code == 200
    assert requeued.json() == {
        "data": [
            {
                "number": ticket.number,
                "requeued": [{"topic": "ticket.created", "last_error": "http_401", "attempts": 1}],
                "follow_ups": 0,
            }
        ],
        "count": 1,
    }
    assert again.json() == {"data": [], "count": 0}


# -- two workers and a requeue -----------------------------------------------------------------------


def test_two_worker_processes_deliver_requeued_tickets_once_each(
    settings: Settings, db_engine: Engine, session: Session, desk: FakeServiceNow
) -> None:
    tickets = [open_ticket(session, settings, f"WOW {n} battery dead") for n in range(60)]
    expired = settings.model_copy(update={"itsm_password": "expired"})
    clock = FakeClock()
    worker = make_worker(expired, db_engine, clock)
    while worker.run_once().claimed:
        pass
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
            "PYTHONPATH": str(ROOT),
        }
    )
    itbot = [sys.executable, "-m", "bot.channels.cli.main"]

    retried = subprocess.run(
        [*itbot, "tickets", "retry", "--all-dead"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    workers = [
        subprocess.Popen(
            [*itbot, "worker", "--once"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [w.communicate(timeout=120) for w in workers]

    assert retried.returncode == 0, retried.stderr
    assert "Requeued 60 deliveries of 60 tickets" in retried.stdout
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in results]
    assert desk.created_by_correlation() == {f"{t.number}:created": 1 for t in tickets}
    session.expire_all()
    messages = list_messages(session=session)
    assert {m.status for m in messages} == {OutboxStatus.DELIVERED}
    assert {(m.attempts, m.requeues) for m in messages} == {(1, 1)}


def test_a_requeued_create_the_desk_had_stored_before_it_died_is_not_created_twice(
    cli_env: Settings,
    db_engine: Engine,
    session: Session,
    desk: FakeServiceNow,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = FakeClock()
    ticket = open_ticket(session, cli_env, "Epic keeps logging me out")
    desk.slow_creates(seconds=TIMEOUT.read + 1.0)  # type: ignore[operator]
    assert make_worker(cli_env, db_engine, clock).run_once().retried == 1
    # The password expires: the next try's lookup is refused for good, and the create dies.
    clock.advance(HOUR)
    assert (
        make_worker(cli_env.model_copy(update={"itsm_password": "expired"}), db_engine, clock)
        .run_once()
        .failed
        == 1
    )

    assert tickets_cli(capsys, "retry", ticket.number)[0] == EXIT_OK
    assert make_worker(cli_env, db_engine, clock).run_once().delivered == 1

    assert desk.created_by_correlation() == {f"{ticket.number}:created": 1}
    _, shown, _ = tickets_cli(capsys, "show", ticket.number)
    assert f"Service desk: delivered as {desk.incident(f'{ticket.number}:created')['number']}\n" in shown
