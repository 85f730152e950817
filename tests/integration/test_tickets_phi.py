"""No patient identifier survives escalation: 200 conversations seeded with MRNs, dates of birth, phone
numbers and names after "pt" go through the whole ticket path (question, follow-up answer, the person's
later message, IT's reply, resolution). Then not one seeded identifier is in any table, any log
record, or any outbox payload, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, select

from bot.config import Settings
from bot.conversations.models import Conversation, Turn
from bot.conversations.queries import add_turns
from bot.core.scrub import scrub_text
from bot.tickets.actions import add_requester_message, reply_to_requester, resolve_ticket
from bot.tickets.escalation import finish_escalation, start_escalation
from bot.tickets.outbox_models import OutboxMessage
from bot.tickets.queries import get_ticket_by_number
from bot.tickets.worker import run_worker
from tests.fakes.itsm import FakeServiceNow, RecordingSender

CONVERSATIONS = 200
SURNAMES = [
    "Okonkwo",
    "Lindqvist",
    "Zubrowski",
    "Achterberg",
    "Nakashima",
    "Villanueva",
    "Oyelaran",
    "Kowalczyk",
    "Papadakis",
    "Haversham",
    "Delacroix",
    "Brannigan",
    "Szymanski",
    "Abernathy",
    "Takahashi",
    "Castellanos",
    "Ivanova",
    "Mbeki",
    "Rasmussen",
    "Quintero",
]
GIVEN = ["Maria", "John", "Aisha", "Pedro", "Ingrid", "Tomasz", "Keiko", "Dmitri", "Fatima", "Oscar"]
PROBLEMS = [
    ("epic keeps freezing when I open the chart", "Epic", "ehr/epic-slow-or-freezing"),
    ("bcma scanner won't read the wristband", "Zebra scanner", "devices/bcma-scanner-wont-scan-wristband"),
    (
        "pyxis says communication failure",
        "Pyxis MedStation",
        "clinical-apps/dispensing-cabinet-drawer-communication",
    ),
    ("label printer not printing specimen labels", "Zebra label printer", "printing/specimen-label-printer"),
    ("citrix black screen after login", "Citrix Workspace", "citrix/citrix-frozen-black-screen"),
]


def identifiers(n: int) -> dict[str, str]:
    """The identifiers seeded into conversation ``n`` (deterministic, distinct per conversation)."""
    return {
        "mrn": f"{7300000 + n * 37:08d}",
        "dob": f"{n % 12 + 1}/{n % 27 + 1}/{40 + n % 50}",
        "phone": f"555-{200 + n % 700:03d}-{1000 + n:04d}",
        "given": GIVEN[n % len(GIVEN)],
        "surname": SURNAMES[n % len(SURNAMES)],
    }


def seeded(n: int) -> list[str]:
    ids = identifiers(n)
    return [ids["mrn"], ids["dob"], ids["phone"], ids["surname"]]


def run_conversation(session: Session, settings: Settings, n: int) -> None:
    ids = identifiers(n)
    problem, system, article = PROBLEMS[n % len(PROBLEMS)]
    question = f"{problem} for pt {ids['given']} {ids['surname']} MRN {ids['mrn']} dob {ids['dob']}"
    turns = [Turn(role="user", text=question), Turn(role="bot", decision="answer", articles=[article])]
    thread, user = f"C{n % 7}:{1700 + n}.1", f"U{n:04d}"
    conv: Conversation
    if n % 2:
        # How adapters do it: the turns are stored scrubbed before anything else happens.
        scrubbed = [t.model_copy(update={"text": scrub_text(t.text)}) for t in turns]
        conv = add_turns(session=session, channel="slack", thread_key=thread, user_id=user, turns=scrubbed)
    else:
        # An adapter that hands over a conversation it never stored, raw: the flow must scrub it.
        conv = Conversation(
            channel="slack", thread_key=thread, user_id=user, turns=[t.model_dump() for t in turns]
        )
    step = start_escalation(
        session=session,
        settings=settings,
        conversation=conv,
        requester=user,
        channel="slack",
        reply_to={"channel": f"C{n % 7}", "thread_ts": f"{1700 + n}.1"},
        reason="stuck",
        articles=[article],
        systems=[system],
    )
    if step.kind == "ask_details":
        session.expire_all()
        fresh = session.get(Conversation, conv.id)
        assert fresh is not None
        details = f"room {n % 40 + 1}, pt {ids['surname']} is waiting, call back {ids['phone']}"
        step = finish_escalation(session=session, settings=settings, conversation=fresh, details=details)
    assert step.kind in ("opened", "joined"), step
    ticket = get_ticket_by_number(session=session, number=step.ticket_number or "")
    assert ticket is not None
    if n % 4 == 0:
        add_requester_message(
            session=session,
            settings=settings,
            ticket_id=ticket.id,
            requester=f"U{n:04d}",
            text=f"also it's for MRN {ids['mrn']}, Mr. {ids['surname']}",
        )
    if n % 10 == 0:
        reply_to_requester(
            session=session,
            settings=settings,
            number=ticket.number,
            agent="Dana",
            text=f"Is this pt {ids['given']} {ids['surname']} born {ids['dob']}? Call {ids['phone']}",
        )
    if n % 25 == 0:
        resolve_ticket(
            session=session,
            settings=settings,
            number=ticket.number,
            agent="Dana",
            note=f"Fixed for MRN {ids['mrn']}",
        )


def every_row_as_text(engine: Engine) -> str:
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        rows = [
            str(tuple(row))
            for table in tables
            for row in connection.execute(text(f'select * from "{table}"'))
        ]
    return "\n".join(rows)


def log_text(records: list[object]) -> str:
    lines = []
    for record in records:
        lines.append(record.getMessage())  # type: ignore[attr-defined]
        lines.append(repr(getattr(record, "args", ())))
        lines.append(str(getattr(record, "exc_text", "") or ""))
    return "\n".join(lines)


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
            "slack_triage_channel": "C0TRIAGE",
        }
    )


def test_no_seeded_identifier_reaches_a_table_a_log_an_outbox_payload_or_what_is_forwarded(
    db_engine: Engine,
    session: Session,
    settings: Settings,
    desk: FakeServiceNow,
    all_logs: pytest.LogCaptureFixture,
) -> None:
    for n in range(CONVERSATIONS):
        run_conversation(session, settings, n)
    slack = RecordingSender("slack")
    while run_worker(settings, senders={"slack": slack}, once=True, engine=db_engine):
        pass  # deliver everything, including what waited for its ticket's create

    everything = every_row_as_text(db_engine)
    logs = log_text(list(all_logs.records))
    payloads = "\n".join(json.dumps(m.payload) for m in session.exec(select(OutboxMessage)).all())
    forwarded = "\n".join(json.dumps(r.body) for r in desk.requests)
    posted = "\n".join(sent.text for sent in slack.sent)
    leaked = {
        where: sorted({i for n in range(CONVERSATIONS) for i in seeded(n) if i in found})
        for where, found in (
            ("tables", everything),
            ("logs", logs),
            ("outbox", payloads),
            ("service desk", forwarded),
            ("chat", posted),
        )
    }

    assert leaked == {"tables": [], "logs": [], "outbox": [], "service desk": [], "chat": []}
    assert desk.requests and slack.sent  # it was really delivered
    # The path really ran: tickets, folded reports, replies to people and the service desk.
    assert "[MRN]" in payloads and "[NAME]" in payloads and "[PHONE]" in payloads
    assert session.exec(text("select count(*) from ticket_reporter")).one()[0] == CONVERSATIONS  # type: ignore[call-overload]
