"""The ticket store on real databases (SQLite and PostgreSQL): numbers, folding, IT's actions, and
the rule that a ticket change, its history and its outbox messages are committed together or not at all."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, select

import bot.tickets.actions
import bot.tickets.opening
from bot.config import Settings
from bot.conversations.models import Conversation, Turn
from bot.conversations.queries import add_turns
from bot.db import session_factory
from bot.tickets.actions import (
    add_requester_message,
    reply_to_requester,
    resolve_ticket,
    set_status,
    take_ticket,
)
from bot.tickets.errors import EmptyMessageError, TicketClosedError, TicketNotFoundError
from bot.tickets.escalation import EscalationStep, finish_escalation, start_escalation
from bot.tickets.models import EventKind, Ticket, TicketStatus
from bot.tickets.outbox import enqueue as real_enqueue
from bot.tickets.outbox_models import OutboxMessage, OutboxStatus
from bot.tickets.queries import (
    find_ticket_by_triage_thread,
    get_ticket_by_number,
    list_events,
    list_reporters,
    list_tickets,
    open_ticket_for_conversation,
    outbox_for_ticket,
    triage_thread_of,
)
from bot.tickets.spool import pending_files

TICKET_TABLES = ("ticket", "ticket_event", "ticket_reporter", "ticket_number")


@pytest.fixture
def settings(db_settings: Settings) -> Settings:
    """The test database, a service desk to forward to, and a Slack triage channel."""
    return db_settings.model_copy(update={"itsm_kind": "webhook", "slack_triage_channel": "C0TRIAGE"})


def conversation(session: Session, *texts: str, thread: str = "C1:100.1", user: str = "U1") -> Conversation:
    turns = [Turn(role="user", text=t) for t in texts]
    return add_turns(session=session, channel="slack", thread_key=thread, user_id=user, turns=turns)


def escalate(
    session: Session,
    settings: Settings,
    conv: Conversation,
    *,
    details: str = "4 West, wow 12, no patient waiting",
    systems: tuple[str, ...] = ("Epic",),
    articles: tuple[str, ...] = ("ehr/epic-slow-or-freezing",),
) -> EscalationStep:
    """What an adapter does: start, and answer the follow-up question if one is asked."""
    step = start_escalation(
        session=session,
        settings=settings,
        conversation=conv,
        requester=conv.user_id,
        channel="slack",
        reply_to={"channel": "C1", "thread_ts": conv.thread_key.split(":")[-1]},
        reason="stuck",
        articles=list(articles),
        systems=list(systems),
    )
    if step.kind != "ask_details":
        return step
    fresh = session.get(Conversation, conv.id)
    assert fresh is not None
    return finish_escalation(session=session, settings=settings, conversation=fresh, details=details)


def outbox(session: Session, ticket: Ticket) -> list[tuple[str, str, str]]:
    return [
        (m.target, m.topic, m.idempotency_key)
        for m in outbox_for_ticket(session=session, ticket_id=ticket.id)
    ]


def count(session: Session, table: str) -> int:
    return int(session.exec(text(f"select count(*) from {table}")).one()[0])  # type: ignore[call-overload]


def test_migrations_create_the_ticket_tables_as_the_models_describe(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    assert [d for d in diffs if any(t in repr(d) for t in TICKET_TABLES)] == []


def test_tickets_are_numbered_in_order_from_IT_000001(session: Session, settings: Settings) -> None:
    steps = [
        escalate(
            session, settings, conversation(session, problem, thread=f"C1:{n}", user=f"U{n}"), systems=(sys,)
        )
        for n, (problem, sys) in enumerate(
            [("epic froze", "Epic"), ("outlook won't sync", "Outlook"), ("pager silent", "Spok paging")]
        )
    ]

    assert [s.kind for s in steps] == ["opened", "opened", "opened"]
    assert [s.ticket_number for s in steps] == ["IT-000001", "IT-000002", "IT-000003"]
    assert [t.number for t in list_tickets(session=session)] == ["IT-000003", "IT-000002", "IT-000001"]


def test_opening_writes_the_ticket_its_history_its_reporter_and_its_outbox_messages(
    session: Session, settings: Settings
) -> None:
    conv = conversation(session, "epic keeps freezing when I open charts")

    step = escalate(session, settings, conv, details="5 North room 3, wow 23, yes")
    session.expire_all()

    ticket = get_ticket_by_number(session=session, number=step.ticket_number or "")
    assert ticket is not None
    assert (ticket.status, ticket.location, ticket.device, ticket.patient_waiting) == (
        TicketStatus.NEW,
        "5 North, room 3",
        "wow 23",
        True,
    )
    assert (ticket.system, ticket.category, ticket.priority) == ("Epic", "ehr", 1)
    assert [e.kind for e in list_events(session=session, ticket_id=ticket.id)] == [
        EventKind.CREATED,
        EventKind.DETAILS,
    ]
    assert [r.reply_to for r in list_reporters(session=session, ticket_id=ticket.id)] == [
        {"channel": "C1", "thread_ts": "100.1"}
    ]
    assert outbox(session, ticket) == [
        ("itsm", "ticket.created", "IT-000001:created"),
        ("chat", "chat.triage_opened", "IT-000001:triage"),
    ]
    assert open_ticket_for_conversation(session=session, conversation_id=conv.id) == ticket


def test_without_a_triage_channel_only_the_service_desk_message_is_queued(
    session: Session, db_settings: Settings
) -> None:
    # With no service desk configured (ITBOT_ITSM_KIND=none) the worker closes it as "no target".
    step = escalate(session, db_settings, conversation(session, "epic froze"))

    ticket = get_ticket_by_number(session=session, number=step.ticket_number or "")
    assert ticket is not None and outbox(session, ticket) == [("itsm", "ticket.created", "IT-000001:created")]


def test_a_failure_midway_through_opening_leaves_no_ticket_and_no_outbox_rows(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:

    def enqueue_then_fail(**kwargs: Any) -> OutboxMessage:
        if kwargs["topic"] == "chat.triage_opened":  # the second message of the transaction
            raise OperationalError("insert", {}, Exception("connection lost"))
        return real_enqueue(**kwargs)

    monkeypatch.setattr(bot.tickets.opening, "enqueue", enqueue_then_fail)

    step = escalate(session, settings, conversation(session, "epic froze"))

    assert step.kind == "kept"
    assert [count(session, t) for t in ("ticket", "ticket_event", "ticket_reporter", "outbox_message")] == [
        0,
        0,
        0,
        0,
    ]
    assert len(pending_files(settings)) == 1


def test_escalating_the_same_conversation_twice_gives_one_ticket(
    session: Session, settings: Settings
) -> None:
    conv = conversation(session, "epic froze")
    first = escalate(session, settings, conv)

    again = escalate(session, settings, conv)

    assert first.kind == "opened" and again.kind == "already_open"
    assert again.ticket_number == first.ticket_number
    assert count(session, "ticket") == 1 and count(session, "outbox_message") == 2


def test_reports_of_one_outage_fold_into_one_incident_counting_the_people(
    session: Session, settings: Settings
) -> None:
    words = [
        "epic super slow on 4 west",
        "Epic freezing every few minutes in the ED",
        "epic lagging bad on 5N",
    ]
    steps = [
        escalate(session, settings, conversation(session, w, thread=f"C1:{n}", user=f"U{n}"))
        for n, w in enumerate(words)
    ]

    assert [s.kind for s in steps] == ["opened", "joined", "joined"]
    assert {s.ticket_number for s in steps} == {"IT-000001"}
    assert "2 other people have reported this too" in steps[2].text
    ticket = list_tickets(session=session)[0]
    assert ticket.affected_count == 3 and len(list_reporters(session=session, ticket_id=ticket.id)) == 3
    assert ticket.priority == 1  # Epic on a unit is high (2); three people make it an outage
    assert "3 people affected" in ticket.priority_reasons
    kinds = [e.kind for e in list_events(session=session, ticket_id=ticket.id)]
    assert kinds.count(EventKind.JOINED) == 2
    topics = [topic for _, topic, _ in outbox(session, ticket)]
    assert topics == ["ticket.created", "chat.triage_opened", "ticket.comment", "ticket.comment"]


def test_the_same_system_with_another_problem_opens_its_own_ticket(
    session: Session, settings: Settings
) -> None:
    escalate(session, settings, conversation(session, "epic super slow on 4 west", thread="C1:1", user="U1"))

    other = escalate(
        session,
        settings,
        conversation(session, "epic password expired and the reset link fails", thread="C1:2", user="U2"),
        articles=("ehr/epic-login-problems",),
    )

    assert other.kind == "opened" and other.ticket_number == "IT-000002"


def test_the_same_words_hours_later_open_a_new_ticket(session: Session, settings: Settings) -> None:
    escalate(session, settings, conversation(session, "epic slow and freezing", thread="C1:1", user="U1"))
    earlier = list_tickets(session=session)[0]
    earlier.last_reported_at -= timedelta(hours=3)
    session.add(earlier)
    session.commit()

    later = escalate(
        session, settings, conversation(session, "epic slow and freezing", thread="C1:2", user="U2")
    )

    assert later.kind == "opened" and later.ticket_number == "IT-000002"


def test_an_agent_reply_reaches_every_reporter_and_the_service_desk(
    session: Session, settings: Settings
) -> None:
    for n, words in enumerate(["citrix black screen", "citrix black screen after login"]):
        escalate(
            session,
            settings,
            conversation(session, words, thread=f"C1:{n}", user=f"U{n}"),
            systems=("Citrix Workspace",),
        )

    event = reply_to_requester(
        session=session,
        settings=settings,
        number="it-1",
        agent="Dana",
        text="Restarting the farm; pt Okonkwo?",
    )

    ticket = list_tickets(session=session)[0]
    assert ticket.status is TicketStatus.OPEN
    assert (event.kind, event.author, event.text) == (
        EventKind.COMMENT,
        "Dana",
        "Restarting the farm; pt [NAME]?",
    )
    sent = [
        m
        for m in outbox_for_ticket(session=session, ticket_id=ticket.id)
        if f":event:{event.id}" in m.idempotency_key
    ]
    assert sorted(m.topic for m in sent) == ["chat.message", "chat.message", "ticket.comment"]
    to_people = [m.payload for m in sent if m.topic == "chat.message"]
    assert [p["reply_to"]["thread_ts"] for p in to_people] == ["0", "1"]
    assert all("**Dana from IT** on ticket IT-000001" in p["text"] for p in to_people)


def test_taking_assigns_and_tells_the_reporter(session: Session, settings: Settings) -> None:
    escalate(session, settings, conversation(session, "epic froze"))

    ticket = take_ticket(session=session, settings=settings, number="IT-000001", agent="Sam")

    assert (ticket.assignee, ticket.status) == ("Sam", TicketStatus.OPEN)
    topics = [topic for _, topic, _ in outbox(session, ticket)]
    assert topics[-2:] == ["ticket.status", "chat.message"]


def test_resolving_tells_every_reporter_and_frees_their_conversations(
    session: Session, settings: Settings
) -> None:
    convs = [
        conversation(session, "pyxis on 5 north not communicating", thread=f"C1:{n}", user=f"U{n}")
        for n in range(3)
    ]
    for conv in convs:
        escalate(session, settings, conv, systems=("Pyxis MedStation",), articles=())

    ticket = resolve_ticket(
        session=session, settings=settings, number="IT-000001", agent="Sam", note="Rebooted."
    )

    assert ticket.status is TicketStatus.RESOLVED and ticket.resolved_at is not None
    told = [m for m in outbox_for_ticket(session=session, ticket_id=ticket.id) if m.topic == "chat.message"]
    assert len(told) == 3 and all(
        "IT has resolved ticket **IT-000001**.\n\nIT's note: Rebooted." in m.payload["text"] for m in told
    )
    assert [
        m.payload["status"]
        for m in outbox_for_ticket(session=session, ticket_id=ticket.id)
        if m.topic == "ticket.status"
    ] == ["resolved"]
    assert open_ticket_for_conversation(session=session, conversation_id=convs[0].id) is None
    assert escalate(session, settings, convs[0], systems=("Pyxis MedStation",)).ticket_number == "IT-000002"


def test_reopening_takes_the_conversations_back(session: Session, settings: Settings) -> None:
    conv = conversation(session, "epic froze")
    escalate(session, settings, conv)
    resolve_ticket(session=session, settings=settings, number="IT-000001")

    set_status(
        session=session, settings=settings, number="IT-000001", status=TicketStatus.OPEN, note="Back again"
    )

    assert escalate(session, settings, conv).kind == "already_open"


def test_a_requesters_message_goes_to_the_triage_thread_and_the_service_desk(
    session: Session, settings: Settings
) -> None:
    escalate(session, settings, conversation(session, "epic froze"))
    ticket = list_tickets(session=session)[0]
    triage = next(
        m for m in outbox_for_ticket(session=session, ticket_id=ticket.id) if m.topic == "chat.triage_opened"
    )
    assert triage_thread_of(session=session, ticket_id=ticket.id) is None  # not delivered yet
    triage.status, triage.external_ref = OutboxStatus.DELIVERED, "1700000000.000100"
    session.add(triage)
    session.commit()

    event = add_requester_message(
        session=session, settings=settings, ticket_id=ticket.id, requester="U1", text="it's the wow by bed 4"
    )

    assert find_ticket_by_triage_thread(session=session, thread_ts="1700000000.000100") == ticket
    assert find_ticket_by_triage_thread(session=session, thread_ts="1.2") is None
    relayed = [
        m
        for m in outbox_for_ticket(session=session, ticket_id=ticket.id)
        if f":event:{event.id}" in m.idempotency_key
    ]
    assert sorted(m.topic for m in relayed) == ["chat.triage_message", "ticket.comment"]
    line = next(m.payload for m in relayed if m.topic == "chat.triage_message")
    assert line["reply_to"] == {"channel": "C0TRIAGE", "thread_ts": "1700000000.000100"}
    assert line["text"] == "Requester: it's the wow by bed 4"


def test_what_it_does_from_the_cli_or_api_shows_in_the_triage_thread(
    session: Session, settings: Settings
) -> None:
    escalate(session, settings, conversation(session, "epic froze"))
    ticket = list_tickets(session=session)[0]
    triage = next(
        m for m in outbox_for_ticket(session=session, ticket_id=ticket.id) if m.topic == "chat.triage_opened"
    )
    triage.status, triage.external_ref = OutboxStatus.DELIVERED, "1700000000.000200"
    session.add(triage)
    session.commit()

    take_ticket(session=session, settings=settings, number=ticket.number, agent="Sam")
    reply_to_requester(session=session, settings=settings, number=ticket.number, agent="Sam", text="Try now")
    resolve_ticket(session=session, settings=settings, number=ticket.number, agent="Sam", note="Fixed.")

    lines = [
        m.payload["text"]
        for m in outbox_for_ticket(session=session, ticket_id=ticket.id)
        if m.topic == "chat.triage_message"
    ]
    assert lines == ["Taken by Sam.", "Sam replied: Try now", "Sam set it to resolved. Fixed."]


def test_an_action_that_fails_midway_changes_nothing(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    escalate(session, settings, conversation(session, "epic froze"))
    before = (count(session, "ticket_event"), count(session, "outbox_message"))

    def enqueue_then_fail(**kwargs: Any) -> OutboxMessage:
        if kwargs["topic"] == "chat.message":  # after the event and the service-desk comment
            raise OperationalError("insert", {}, Exception("connection lost"))
        return real_enqueue(**kwargs)

    monkeypatch.setattr(bot.tickets.actions, "enqueue", enqueue_then_fail)

    with pytest.raises(OperationalError):
        reply_to_requester(session=session, settings=settings, number="IT-000001", agent="Dana", text="On it")

    assert (count(session, "ticket_event"), count(session, "outbox_message")) == before
    assert session.exec(select(Ticket)).one().status is TicketStatus.NEW


def test_lists_filter_by_status_and_by_service_desk_failure(session: Session, settings: Settings) -> None:
    for n, (words, system) in enumerate([("epic froze", "Epic"), ("outlook won't sync", "Outlook")]):
        escalate(
            session, settings, conversation(session, words, thread=f"C1:{n}", user=f"U{n}"), systems=(system,)
        )
    resolve_ticket(session=session, settings=settings, number="IT-000002")
    created = session.exec(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == "IT-000001:created")
    ).one()
    created.status = OutboxStatus.FAILED
    session.add(created)
    session.commit()

    assert [t.number for t in list_tickets(session=session, status=TicketStatus.RESOLVED)] == ["IT-000002"]
    assert [t.number for t in list_tickets(session=session, status=TicketStatus.NEW)] == ["IT-000001"]
    assert [t.number for t in list_tickets(session=session, failed=True)] == ["IT-000001"]


def test_unknown_closed_and_empty_are_refused_with_a_clear_error(
    session: Session, settings: Settings
) -> None:
    escalate(session, settings, conversation(session, "epic froze"))
    with pytest.raises(TicketNotFoundError, match="IT-000999"):
        take_ticket(session=session, settings=settings, number="IT-999", agent="Sam")
    with pytest.raises(EmptyMessageError):
        reply_to_requester(session=session, settings=settings, number="IT-000001", agent="Sam", text="  ")
    set_status(session=session, settings=settings, number="IT-000001", status=TicketStatus.CLOSED)
    with pytest.raises(TicketClosedError):
        reply_to_requester(session=session, settings=settings, number="IT-000001", agent="Sam", text="hello")


def test_concurrent_openers_get_unique_consecutive_numbers(db_engine: Engine, settings: Settings) -> None:
    sessions = session_factory(db_engine)
    numbers: list[str | None] = []
    errors: list[BaseException] = []
    systems = ["Epic", "Outlook", "Vocera", "Spok paging", "PACS viewer", "Citrix Workspace"]

    def open_some(worker: int) -> None:
        try:
            with sessions() as session:
                for n in range(4):
                    conv = conversation(
                        session,
                        f"problem {worker}-{n} in ward {worker}",
                        thread=f"C{worker}:{n}",
                        user=f"U{worker}{n}",
                    )
                    step = escalate(session, settings, conv, systems=(systems[worker],), articles=())
                    numbers.append(step.ticket_number)
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=open_some, args=(w,)) for w in range(len(systems))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(numbers) == 24 and len(set(numbers)) == 24
    assert sorted(n for n in numbers if n) == [f"IT-{n:06d}" for n in range(1, 25)]


def test_two_processes_escalating_one_conversation_at_once_open_one_ticket(
    db_engine: Engine, settings: Settings
) -> None:
    sessions = session_factory(db_engine)
    with sessions() as session:
        conv = conversation(session, "epic froze on 4 West, no patient waiting")
    barrier = threading.Barrier(4)
    kinds: list[str] = []

    def click() -> None:
        with sessions() as session:
            fresh = session.get(Conversation, conv.id)
            assert fresh is not None
            barrier.wait()
            kinds.append(escalate(session, settings, fresh).kind)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    with sessions() as session:
        assert count(session, "ticket") == 1
    assert sorted(kinds) == ["already_open", "already_open", "already_open", "opened"]


def test_a_retried_take_or_resolve_tells_nobody_twice(session: Session, settings: Settings) -> None:
    escalate(session, settings, conversation(session, "epic froze"))

    for _ in range(2):
        take_ticket(session=session, settings=settings, number="IT-000001", agent="Sam")
    for _ in range(2):
        resolve_ticket(session=session, settings=settings, number="IT-000001", agent="Sam")

    ticket = list_tickets(session=session)[0]
    kinds = [e.kind for e in list_events(session=session, ticket_id=ticket.id)]
    assert kinds.count(EventKind.ASSIGNED) == 1 and kinds.count(EventKind.STATUS) == 1
    assert [m.topic for m in outbox_for_ticket(session=session, ticket_id=ticket.id)].count(
        "chat.message"
    ) == 2
