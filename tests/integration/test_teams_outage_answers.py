"""Outage answers in Teams, end to end over real HTTP (SQLite and PostgreSQL): a question about an
active outage gets the notice with "Tell me when it's fixed"; a click subscribes the person and marks
the card; when IT resolves the notice, the worker tells each subscriber in their own Teams chat or
channel thread, once, through the Teams chat sender."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.channels.senders import chat_senders
from bot.config import Settings
from bot.interactions.models import utcnow
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice, resolve_notice
from bot.notices.models import NoticeKind, NoticeSubscriber
from bot.notices.registry import ensure_seeded
from bot.tickets.worker import run_worker
from tests.fakes.assistant import FakeAssistant
from tests.fakes.teams import FakeTeams
from tests.integration.test_teams_server import teams_options
from tests.live_server import LiveServer, serve
from tests.teams_payloads import button_data, channel_post, click, personal, post_activity

KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with FakeTeams() as fake:
        yield fake


@pytest.fixture
def settings(db_settings: Settings, teams: FakeTeams) -> Settings:
    return db_settings.model_copy(update={**teams_options(teams), "kb": KB})


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        with live.app.state.sessions() as session:
            ensure_seeded(session=session, kb=KB)
            session.commit()
        yield live


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def from_doctor(activity: dict[str, Any]) -> dict[str, Any]:
    """``activity`` as sent by another person (a subscription is one a person and notice)."""
    return {**activity, "from": {"id": "29:doctor-1", "name": "A Doctor", "aadObjectId": "aad-doctor-1"}}


def open_outage(server: LiveServer) -> int:
    with server.app.state.sessions() as session:
        notice = open_notice(
            session=session,
            new=NewNotice(kind=NoticeKind.OUTAGE, title="Epic is slow on all units", systems=["Epic"]),
            now=utcnow(),
        )
        session.commit()
        assert notice.id is not None
        return notice.id


def test_tell_me_when_its_fixed_subscribes_and_the_worker_tells_each_person_where_they_asked(
    server: LiveServer, settings: Settings, teams: FakeTeams, http: httpx.Client
) -> None:
    notice_id = open_outage(server)
    asked = personal(teams, "is epic down?")
    post_activity(http, server.url, teams, asked)
    [answer] = teams.wait_for("reply")
    assert "Epic is slow on all units" in answer.card_text
    assert "Tell me when it's fixed" in answer.buttons

    root = from_doctor(channel_post(teams, "epic is down for us too"))
    post_activity(http, server.url, teams, root)
    in_thread = teams.wait_for("reply", count=2)[1]
    assert "Tell me when it's fixed" in in_thread.buttons

    for card, like in ((answer, asked), (in_thread, root)):
        data = button_data(card, "Tell me when it's fixed")
        for _ in range(2):  # twice: still one subscription
            tap = {**click(teams, card, data, like=like), "from": like["from"]}
            post_activity(http, server.url, teams, tap)
    for card in (answer, in_thread):
        posted_id = card.posted_id
        [marked, *_] = teams.wait_for("update", where=lambda u: u.activity_id == posted_id)  # noqa: B023
        assert "You'll be told here when it's fixed" in marked.card_text and marked.buttons == []
    with server.app.state.sessions() as session:
        subscribers = session.exec(select(NoticeSubscriber)).all()
        assert sorted(s.reply_to["conversation"] for s in subscribers) == sorted(
            [asked["conversation"]["id"], root["conversation"]["id"]]
        )
        assert {s.channel for s in subscribers} == {"teams"}

        resolve_notice(session=session, notice_id=notice_id, now=utcnow(), body="Storage replaced.")
        session.commit()
    assert teams.of("send") == []

    run_worker(settings, senders=chat_senders(settings), once=True)
    run_worker(settings, senders=chat_senders(settings), once=True)  # nothing twice

    told = teams.wait_for("send", count=2)
    teams.settle(quiet=0.3)
    assert len(teams.of("send")) == 2
    assert sorted(t.conversation for t in told) == sorted(
        [asked["conversation"]["id"], root["conversation"]["id"]]
    )
    for message in told:
        assert "Fixed:" in message.card_text and "Epic is slow on all units" in message.card_text
        assert "Storage replaced." in message.card_text


def test_a_click_after_the_outage_ended_says_so_and_subscribes_nobody(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    notice_id = open_outage(server)
    asked = personal(teams, "is epic down?")
    post_activity(http, server.url, teams, asked)
    [answer] = teams.wait_for("reply")
    with server.app.state.sessions() as session:
        resolve_notice(session=session, notice_id=notice_id, now=utcnow())
        session.commit()

    data = button_data(answer, "Tell me when it's fixed")
    post_activity(http, server.url, teams, click(teams, answer, data, like=asked))

    said = teams.wait_for("reply", count=2)[1]
    assert "already resolved" in said.card_text
    with server.app.state.sessions() as session:
        assert session.exec(select(NoticeSubscriber)).all() == []
