"""The tickets JSON API over real HTTP (uvicorn on loopback, httpx): bearer token, list, show, reply,
take, resolve; bad input is a JSON 422 and a dead database a JSON 503, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.conversations.models import Turn
from bot.conversations.queries import add_turns
from bot.db import session_factory
from bot.main import create_app
from bot.tickets.actions import set_status
from bot.tickets.escalation import finish_escalation, start_escalation
from bot.tickets.models import TicketStatus
from bot.tickets.outbox_models import OutboxMessage
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    """The app's settings: SQLite, the tickets API on, a service desk to forward to."""
    return sqlite_settings(tmp_path, tickets_api_token=TOKEN, itsm_kind="webhook")


def open_ticket(
    server: LiveServer, words: str, *, thread: str, user: str, details: str = "4 West, no"
) -> str:
    sessions = server.app.state.sessions
    with sessions() as session:
        conv = add_turns(
            session=session,
            channel="slack",
            thread_key=thread,
            user_id=user,
            turns=[Turn(role="user", text=words)],
        )
        step = start_escalation(
            session=session,
            settings=server.app.state.settings,
            conversation=conv,
            requester=user,
            channel="slack",
            reply_to={"channel": "C1", "thread_ts": thread},
            reason="stuck",
            articles=[],
            systems=["Epic"],
        )
        if step.kind == "ask_details":
            session.expire_all()
            step = finish_escalation(
                session=session, settings=server.app.state.settings, conversation=conv, details=details
            )
    assert step.ticket_number is not None
    return step.ticket_number


def call(server: LiveServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("headers", AUTH)
    return httpx.request(method, f"{server.url}{path}", timeout=10, **kwargs)


@pytest.fixture
def server_off(tmp_path: Path) -> Iterator[LiveServer]:
    """The app with no tickets API token configured."""
    with serve(create_app(sqlite_settings(tmp_path / "off"), assistant=FakeAssistant())) as server:
        yield server


def test_without_a_configured_token_the_api_is_off(server_off: LiveServer) -> None:
    response = call(server_off, "GET", "/api/tickets")

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Not Found"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong", "no-scheme", "basic"],
)
def test_a_missing_or_wrong_token_is_401(live_server: LiveServer, headers: dict[str, str]) -> None:
    response = call(live_server, "GET", "/api/tickets", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "message": "A valid bearer token is required."}
    assert response.headers["www-authenticate"] == "Bearer"


def test_the_token_is_checked_before_the_body_is_read(live_server: LiveServer) -> None:
    response = call(live_server, "POST", "/api/tickets/IT-000001/reply", headers={}, content=b"{not json")

    assert response.status_code == 401


def test_list_and_show(live_server: LiveServer) -> None:
    first = open_ticket(live_server, "epic keeps freezing", thread="100.1", user="U1")
    second = open_ticket(live_server, "epic password reset link broken", thread="100.2", user="U2")

    listed = call(live_server, "GET", "/api/tickets")
    shown = call(live_server, "GET", "/api/tickets/it-1")

    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 2 and [t["number"] for t in body["data"]] == [second, first]
    assert {"number", "status", "priority", "priority_label", "summary", "affected_count"} <= set(
        body["data"][0]
    )
    assert shown.status_code == 200
    detail = shown.json()
    assert detail["number"] == first and detail["location"] == "4 West"
    assert [e["kind"] for e in detail["events"]] == ["created", "details"]
    assert detail["reporters"][0]["requester"] == "U1" and "reply_to" not in detail["reporters"][0]
    assert detail["transcript"][0]["text"] == "epic keeps freezing"


def test_filters(live_server: LiveServer) -> None:
    open_ticket(live_server, "epic keeps freezing", thread="100.1", user="U1")

    assert call(live_server, "GET", "/api/tickets?status=new").json()["count"] == 1
    assert call(live_server, "GET", "/api/tickets?status=resolved").json()["count"] == 0
    assert call(live_server, "GET", "/api/tickets?failed=true").json()["count"] == 0


def test_reply_take_and_resolve(live_server: LiveServer) -> None:
    number = open_ticket(live_server, "epic keeps freezing", thread="100.1", user="U1")

    replied = call(
        live_server,
        "POST",
        f"/api/tickets/{number}/reply",
        json={"text": "On it, pt Okonkwo?", "agent": "Dana"},
    )
    taken = call(live_server, "POST", f"/api/tickets/{number}/take", json={"agent": "Dana"})
    resolved = call(
        live_server, "POST", f"/api/tickets/{number}/resolve", json={"note": "Restarted the server."}
    )

    assert replied.status_code == 200 and replied.json()["text"] == "On it, pt [NAME]?"
    assert (
        taken.status_code == 200 and taken.json()["assignee"] == "Dana" and taken.json()["status"] == "open"
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    with live_server.app.state.sessions() as session:
        topics = [m.topic for m in session.exec(select(OutboxMessage)).all()]
    assert topics.count("chat.message") == 3 and topics.count("ticket.comment") == 1


def test_resolve_needs_no_body(live_server: LiveServer) -> None:
    number = open_ticket(live_server, "epic keeps freezing", thread="100.1", user="U1")

    assert call(live_server, "POST", f"/api/tickets/{number}/resolve").status_code == 200


def test_an_unknown_ticket_is_404_and_a_closed_one_409(live_server: LiveServer) -> None:
    number = open_ticket(live_server, "epic keeps freezing", thread="100.1", user="U1")
    with live_server.app.state.sessions() as session:
        set_status(
            session=session,
            settings=live_server.app.state.settings,
            number=number,
            status=TicketStatus.CLOSED,
        )

    unknown = call(live_server, "GET", "/api/tickets/IT-999999")
    closed = call(live_server, "POST", f"/api/tickets/{number}/take", json={"agent": "Dana"})

    assert unknown.status_code == 404 and unknown.json() == {
        "error": "not_found",
        "message": "There is no ticket IT-999999.",
    }
    assert closed.status_code == 409 and closed.json()["error"] == "closed"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/tickets/IT-000001/reply", b"{not json"),
        ("POST", "/api/tickets/IT-000001/reply", b'{"agent": "Dana"}'),
        ("POST", "/api/tickets/IT-000001/reply", b'{"text": "", "agent": "Dana"}'),
        ("POST", "/api/tickets/IT-000001/reply", b'{"text": "hi", "agent": ""}'),
        ("POST", "/api/tickets/IT-000001/take", b"[]"),
        ("GET", "/api/tickets?status=lost", b""),
        ("GET", "/api/tickets?failed=maybe", b""),
    ],
)
def test_bad_input_is_a_json_422(live_server: LiveServer, method: str, path: str, body: bytes) -> None:
    open_ticket(live_server, "epic keeps freezing", thread="100.1", user="U1")

    response = call(
        live_server, method, path, content=body, headers={**AUTH, "content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_a_reply_with_only_whitespace_is_refused(live_server: LiveServer) -> None:
    number = open_ticket(live_server, "epic keeps freezing", thread="100.1", user="U1")

    response = call(
        live_server, "POST", f"/api/tickets/{number}/reply", json={"text": "   ", "agent": "Dana"}
    )

    assert response.status_code == 422


def test_a_dead_database_is_a_503_not_a_500(live_server: LiveServer, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    live_server.app.state.sessions = session_factory(create_engine(f"sqlite:///{blocker / 'x.db'}"))

    response = call(live_server, "GET", "/api/tickets")

    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"


def test_a_failed_request_leaves_the_next_one_unaffected(live_server: LiveServer) -> None:
    # A failed action rolls back its session; the next request works on a clean one.
    number = open_ticket(live_server, "epic keeps freezing", thread="100.1", user="U1")
    assert call(live_server, "POST", "/api/tickets/IT-000404/take", json={"agent": "Dana"}).status_code == 404

    assert call(live_server, "POST", f"/api/tickets/{number}/take", json={"agent": "Dana"}).status_code == 200
    with Session(live_server.app.state.engine) as session:
        assert (
            session.exec(select(OutboxMessage).where(OutboxMessage.topic == "ticket.status")).first()
            is not None
        )
