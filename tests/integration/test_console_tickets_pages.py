"""The console's ticket pages over HTTP: agents list, filter and work tickets through the same actions
as ``itbot tickets``; every route is role-checked, every form needs its CSRF token, every change is
audited, and what the tickets hold is escaped."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.conversations.models import Turn
from bot.conversations.queries import add_turns
from bot.db import create_db_engine, session_factory
from bot.main import create_app
from bot.tickets.actions import take_ticket
from bot.tickets.escalation import finish_escalation, start_escalation
from bot.tickets.models import TicketStatus
from bot.tickets.outbox_models import OutboxMessage
from bot.tickets.queries import get_ticket_by_number, list_tickets
from tests.console_client import add_user, console_settings, signed_in
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve


def open_ticket(
    session: Session, settings: Settings, words: str, *, thread: str, user: str, system: str = "Epic"
) -> str:
    """A ticket opened by the escalation flow, as a Slack user's would be."""
    conv = add_turns(
        session=session,
        channel="slack",
        thread_key=thread,
        user_id=user,
        turns=[Turn(role="user", text=words)],
    )
    step = start_escalation(
        session=session,
        settings=settings,
        conversation=conv,
        requester=user,
        channel="slack",
        reply_to={"channel": "C1", "thread_ts": thread},
        reason="escalate",
        articles=[],
        systems=[system],
    )
    if step.kind == "ask_details":
        session.expire_all()
        step = finish_escalation(session=session, settings=settings, conversation=conv, details="ICU, no")
    assert step.ticket_number is not None
    return step.ticket_number


@dataclass(frozen=True)
class Console:
    server: LiveServer
    settings: Settings
    engine: Engine
    first: str
    second: str

    def session(self) -> Session:
        return session_factory(self.engine)()

    def audit(self) -> list[tuple[str, str, str]]:
        with signed_in(self.server.url, "root") as (client, _csrf):
            rows = csv.DictReader(io.StringIO(client.get("/console/audit.csv").text))
            return [(r["actor"], r["action"], r["target"]) for r in rows if r["action"].startswith("ticket_")]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """The app with two Slack tickets (the second taken by "sam"), one account per role and an admin."""
    settings = console_settings(sqlite_settings(tmp_path))
    app = create_app(settings, assistant=FakeAssistant())
    engine = create_db_engine(settings)
    with session_factory(engine)() as session:
        first = open_ticket(
            session, settings, "epic <b>keeps</b> freezing on 4 west", thread="1.1", user="U1"
        )
        second = open_ticket(session, settings, "epic password reset link broken", thread="1.2", user="U2")
        take_ticket(session=session, settings=settings, number=second, agent="sam")
    for role in ("viewer", "curator", "agent"):
        add_user(settings, role, role)
    add_user(settings, "root", "admin")
    with serve(app) as server:
        yield Console(server, settings, engine, first, second)
    engine.dispose()


def test_only_agents_and_admins_may_open_or_work_tickets(console: Console) -> None:
    for role in ("viewer", "curator"):
        with signed_in(console.server.url, role) as (client, csrf):
            assert client.get("/console/tickets").status_code == 403
            assert client.get(f"/console/tickets/{console.first}").status_code == 403
            taken = client.post(f"/console/tickets/{console.first}/take", data={"csrf_token": csrf})
            assert taken.status_code == 403
    with httpx.Client(base_url=console.server.url) as anonymous:
        answer = anonymous.get(f"/console/tickets/{console.first}")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")
    with signed_in(console.server.url, "root") as (client, _csrf):
        assert client.get("/console/tickets").status_code == 200
    with console.session() as session:
        ticket = get_ticket_by_number(session=session, number=console.first)
        assert ticket is not None and ticket.assignee == ""


def test_the_list_filters_by_status_priority_and_assignee(console: Console) -> None:
    with signed_in(console.server.url, "agent") as (client, _csrf):
        every = client.get("/console/tickets").text
        open_only = client.get("/console/tickets", params={"status": "open"}).text
        sams = client.get("/console/tickets", params={"assignee": "sam"}).text
        nobodys = client.get("/console/tickets", params={"assignee": "(nobody)"}).text
        other_priority = client.get("/console/tickets", params={"priority": "4"}).text
    first_link, second_link = (f'href="/console/tickets/{n}"' for n in (console.first, console.second))
    assert first_link in every and second_link in every
    assert second_link in open_only and first_link not in open_only
    assert second_link in sams and first_link not in sams
    assert first_link in nobodys and second_link not in nobodys
    assert "No tickets match." in other_priority


def test_list_tickets_filters_on_each_database(session: Session, db_settings: Settings) -> None:
    first = open_ticket(session, db_settings, "epic keeps freezing", thread="2.1", user="U1")
    second = open_ticket(
        session,
        db_settings,
        "the label printer in the lab prints blank",
        thread="2.2",
        user="U2",
        system="Zebra",
    )
    assert first != second
    take_ticket(session=session, settings=db_settings, number=second, agent="sam")
    priority = list_tickets(session=session)[0].priority

    assert [t.number for t in list_tickets(session=session, assignee="sam")] == [second]
    assert [t.number for t in list_tickets(session=session, assignee="")] == [first]
    assert [t.number for t in list_tickets(session=session, status=TicketStatus.NEW)] == [first]
    assert len(list_tickets(session=session, priority=priority)) >= 1
    assert list_tickets(session=session, priority=5) == []
    newest = list_tickets(session=session, limit=1)
    assert [t.number for t in newest] == [second]
    assert [t.number for t in list_tickets(session=session, before_seq=newest[0].seq)] == [first]


def test_an_agent_takes_replies_to_and_resolves_a_ticket_and_the_requester_is_told(console: Console) -> None:
    page = f"/console/tickets/{console.first}"
    with signed_in(console.server.url, "agent") as (client, csrf):
        shown = client.get(page).text
        taken = client.post(f"{page}/take", data={"csrf_token": csrf})
        replied = client.post(
            f"{page}/reply", data={"csrf_token": csrf, "text": "Restarting it, MRN 12345678"}
        )
        resolved = client.post(f"{page}/resolve", data={"csrf_token": csrf, "note": "Back up now."})
        after = client.get(resolved.headers["location"]).text
    assert "epic &lt;b&gt;keeps&lt;/b&gt; freezing" in shown and "<b>keeps</b>" not in shown
    assert [r.status_code for r in (taken, replied, resolved)] == [303, 303, 303]
    assert replied.headers["location"] == f"{page}?done=replied"
    assert '<td id="status">resolved</td>' in after and '<td id="assignee">agent</td>' in after
    with console.session() as session:
        told = [
            m.payload["text"]
            for m in session.exec(select(OutboxMessage).order_by(col(OutboxMessage.created_at))).all()
            if m.topic == "chat.message" and m.payload["reply_to"].get("thread_ts") == "1.1"
        ]
    assert any("agent" in text for text in told)  # who took it
    relayed = [text for text in told if "Restarting it" in text]
    assert len(relayed) == 1 and "MRN [MRN]" in relayed[0] and "12345678" not in relayed[0]
    assert "Back up now." in told[-1]
    assert console.audit() == [
        ("agent", "ticket_resolved", console.first),
        ("agent", "ticket_replied", console.first),
        ("agent", "ticket_taken", console.first),
    ]


def test_a_form_without_its_csrf_token_changes_nothing(console: Console) -> None:
    with signed_in(console.server.url, "agent") as (client, _csrf):
        refused = client.post(f"/console/tickets/{console.first}/reply", data={"text": "hello"})
        forged = client.post(f"/console/tickets/{console.first}/take", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and forged.status_code == 403
    with console.session() as session:
        ticket = get_ticket_by_number(session=session, number=console.first)
        assert ticket is not None and ticket.status is TicketStatus.NEW and ticket.assignee == ""
    assert console.audit() == []


def test_refused_actions_show_why_on_the_page(console: Console) -> None:
    with signed_in(console.server.url, "agent") as (client, csrf):
        empty = client.post(
            f"/console/tickets/{console.first}/reply", data={"csrf_token": csrf, "text": "   "}
        )
        unknown = client.get("/console/tickets/IT-999999")
        unknown_take = client.post("/console/tickets/IT-999999/take", data={"csrf_token": csrf})
    assert empty.status_code == 400 and "The reply is empty" in empty.text
    assert unknown.status_code == 404 and "There is no ticket IT-999999." in unknown.text
    assert unknown_take.status_code == 404
    assert console.audit() == []


def test_the_list_comes_a_page_at_a_time_newest_first(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.console.tickets_pages.PAGE_ROWS", 1)
    first_link, second_link = (f'href="/console/tickets/{n}"' for n in (console.first, console.second))
    with signed_in(console.server.url, "agent") as (client, _csrf):
        newest = client.get("/console/tickets", params={"status": ""}).text
        assert second_link in newest and first_link not in newest
        older = newest.split('<a href="')[-1].split('" id="older"')[0]
        assert "before=" in older and "status=" in older
        page = client.get(older.replace("&amp;", "&")).text
    assert first_link in page and second_link not in page
    assert 'id="older"' not in page and "Newest tickets" in page
