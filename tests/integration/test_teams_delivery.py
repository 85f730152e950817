"""Teams delivery semantics, end to end over real HTTP: a redelivered activity is answered once; a
connector answering 429 or 500 is tried again with back-off, then the reply is left to the outbox
and the worker delivers it; an escalation opens a ticket and IT's reply (through the tickets API)
arrives proactively from the worker, in the same conversation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.channels.teams.sender import TeamsChatSender
from bot.config import Settings
from bot.main import create_app
from bot.tickets.models import Ticket, TicketStatus
from bot.tickets.outbox_models import OutboxMessage
from bot.tickets.worker import run_worker
from tests.databases import postgres_settings, sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.teams import FakeTeams
from tests.integration.test_teams_server import teams_options
from tests.live_server import LiveServer, serve
from tests.teams_payloads import channel_post, personal, post_activity

API_TOKEN = "tickets-api-token"


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with FakeTeams() as fake:
        yield fake


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, teams: FakeTeams) -> Iterator[Settings]:
    options = {**teams_options(teams), "tickets_api_token": API_TOKEN}
    if request.param == "sqlite":
        yield sqlite_settings(tmp_path, **options)
    else:
        with postgres_settings(tmp_path, **options) as pg:
            yield pg


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def deliver_outbox(settings: Settings) -> int:
    """Run the worker once with the Teams sender, as ``itbot worker`` would."""
    return run_worker(settings, senders={"teams": TeamsChatSender.from_settings(settings)}, once=True)


def tickets(server: LiveServer) -> list[Ticket]:
    with server.app.state.sessions() as session:
        return list(session.exec(select(Ticket)).all())


def test_an_activity_delivered_three_times_is_answered_once(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    activity = personal(teams, "epic keeps logging me out")
    statuses = [post_activity(http, server.url, teams, activity).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    teams.wait_for("reply")
    teams.settle(quiet=0.5)
    assert len(teams.posts()) == 1


def warm_and_hold_claims(
    server: LiveServer, teams: FakeTeams, http: httpx.Client, monkeypatch: pytest.MonkeyPatch, only: str = ""
) -> threading.Event:
    """Answer one message first (keys and the bot's token fetched, so later replies take
    milliseconds), then make claims (of activity ``only``, or every one) wait until the returned
    event is set."""
    post_activity(http, server.url, teams, personal(teams, "hello", chat="a:warm-up"))
    teams.wait_for("reply")
    runtime = server.app.state.teams
    free = threading.Event()
    real_claim = runtime.claim

    def held_claim(conversation_id: str, activity_id: str) -> bool:
        if not only or activity_id == only:
            free.wait(timeout=30)
        return bool(real_claim(conversation_id, activity_id))

    monkeypatch.setattr(runtime, "claim", held_claim)
    return free


def test_the_acknowledgement_waits_for_no_database_work(
    server: LiveServer, teams: FakeTeams, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_free = warm_and_hold_claims(server, teams, http, monkeypatch)
    activity = personal(teams, "epic keeps logging me out")

    acknowledged = post_activity(http, server.url, teams, activity)  # answered while the claim waits
    again = post_activity(http, server.url, teams, activity)
    assert (acknowledged.status_code, again.status_code) == (200, 200)
    time.sleep(1.0)
    assert len(teams.posts()) == 1  # the warm-up's only
    database_free.set()
    teams.wait_for("reply", count=2)
    teams.settle(quiet=0.5)
    assert len(teams.posts()) == 2


def test_messages_of_one_chat_are_answered_in_the_order_they_were_sent(
    server: LiveServer, teams: FakeTeams, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = personal(teams, "epic keeps logging me out")
    second = personal(teams, "the printer on 4 west is offline")
    first_free = warm_and_hold_claims(server, teams, http, monkeypatch, only=first["id"])

    post_activity(http, server.url, teams, first)
    post_activity(http, server.url, teams, second)
    time.sleep(1.0)
    assert [p for p in teams.posts() if p.conversation == first["conversation"]["id"]] == []

    first_free.set()
    replies = teams.wait_for("reply", count=3)[1:]
    assert [r.activity_id for r in replies] == [first["id"], second["id"]]


def test_a_claim_slowed_by_a_busy_server_is_waited_for_so_a_redelivery_is_not_answered_twice(
    server: LiveServer, teams: FakeTeams, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = server.app.state.teams
    real_claim = runtime.claim

    def slow_claim(conversation_id: str, activity_id: str) -> bool:
        time.sleep(1.5)  # longer than a claim ever takes on an idle server, well inside the wait
        return bool(real_claim(conversation_id, activity_id))

    monkeypatch.setattr(runtime, "claim", slow_claim)
    activity = personal(teams, "epic keeps logging me out")
    for _ in range(2):
        assert post_activity(http, server.url, teams, activity).status_code == 200

    teams.wait_for("reply")
    teams.settle(quiet=2.0)
    assert len(teams.posts()) == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_with_several_server_processes_each_activity_connection_is_closed_once_acknowledged(
    workers: int, tmp_path: Path, teams: FakeTeams, http: httpx.Client
) -> None:
    settings = sqlite_settings(tmp_path, **teams_options(teams), serve_workers=workers)
    with serve(create_app(settings, assistant=FakeAssistant())) as server:
        response = post_activity(http, server.url, teams, personal(teams, "epic keeps logging me out"))
        teams.wait_for("reply")

    assert response.status_code == 200
    closes = response.headers.get("connection") == "close"
    assert closes is (workers > 1)  # so whichever process is free accepts the next activity


def test_a_rate_limited_connector_is_tried_again_and_the_reply_arrives_once(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    teams.fail_next(status=429, times=1, retry_after=0.2)
    teams.fail_next(status=503, times=1)
    post_activity(http, server.url, teams, personal(teams, "epic keeps logging me out"))

    [reply] = teams.wait_for("reply")
    teams.settle(quiet=0.5)
    assert "Caps Lock" in reply.card_text and len(teams.posts()) == 1


def test_a_connector_that_keeps_failing_leaves_the_reply_to_the_outbox_and_the_worker_delivers_it(
    server: LiveServer, settings: Settings, teams: FakeTeams, http: httpx.Client
) -> None:
    teams.fail_next(status=500, times=3)
    activity = personal(teams, "epic keeps logging me out")
    post_activity(http, server.url, teams, activity)

    deadline = time.monotonic() + 10
    while True:
        with server.app.state.sessions() as session:
            queued = session.exec(select(OutboxMessage)).all()
        if queued or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [m.payload["channel"] for m in queued] == ["teams"]
    assert teams.posts() == []

    assert deliver_outbox(settings) == 1
    [sent] = teams.wait_for("send")
    assert sent.conversation == activity["conversation"]["id"]
    assert "Caps Lock" in sent.card_text


def test_a_ticket_opened_in_teams_gets_its_number_and_it_replies_arrive_from_the_worker(
    server: LiveServer, settings: Settings, teams: FakeTeams, http: httpx.Client
) -> None:
    root = channel_post(teams, "the badge reader on my wow beeps red")
    post_activity(http, server.url, teams, root)
    [asked] = teams.wait_for("reply")
    assert "I couldn't find an article" in asked.card_text
    details = channel_post(teams, "4 West room 12, WOW 7, no patient waiting", root=root["id"], mention=False)
    post_activity(http, server.url, teams, details)
    opened = teams.wait_for("reply", count=2)[1]
    [ticket] = tickets(server)
    assert ticket.number in opened.card_text
    assert ticket.channel == "teams" and ticket.reply_to["conversation"] == root["conversation"]["id"]

    reply = http.post(
        f"{server.url}/api/tickets/{ticket.number}/reply",
        json={"text": "Please dock the WOW and log off and on.", "agent": "sam"},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert reply.status_code == 200, reply.text
    deliver_outbox(settings)

    [relayed] = teams.wait_for("send", where=lambda c: "dock the WOW" in c.card_text)
    assert relayed.conversation == root["conversation"]["id"]  # in the thread it was asked in
    assert ticket.number in relayed.card_text

    # The person answers in the thread: it goes to the ticket, and the bot says so.
    still = channel_post(teams, "still beeps red after docking", root=root["id"], mention=False)
    post_activity(http, server.url, teams, still)
    noted = teams.wait_for("reply", count=3)[2]
    assert f"Sent to IT on ticket **{ticket.number}**" in noted.card_text

    resolved = http.post(
        f"{server.url}/api/tickets/{ticket.number}/resolve",
        json={"agent": "sam", "note": "Reader replaced."},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert resolved.status_code == 200, resolved.text
    assert tickets(server)[0].status is TicketStatus.RESOLVED
    deliver_outbox(settings)
    teams.wait_for("send", where=lambda c: "resolved" in c.card_text.lower())
