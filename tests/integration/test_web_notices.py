"""The web chat's "Tell me when it's fixed" over real HTTP: an outage reply offers it, ``POST
/api/notify`` subscribes the conversation, and the worker's web sender brings "Fixed" into it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.channels.senders import chat_senders
from bot.config import Settings
from bot.conversations.queries import get_conversation
from bot.interactions.models import utcnow
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice, resolve_notice
from bot.notices.models import NoticeKind
from bot.notices.registry import ensure_seeded
from bot.tickets.worker import run_worker
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

KB = Path(__file__).resolve().parents[2] / "knowledge"
CONVERSATION = "web-" + "b" * 32


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return sqlite_settings(tmp_path, kb=KB)


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[LiveServer, int]]:
    app = create_app(settings, assistant=FakeAssistant())
    with serve(app) as live:
        with app.state.sessions() as session:
            ensure_seeded(session=session, kb=KB)
            notice = open_notice(
                session=session,
                new=NewNotice(kind=NoticeKind.OUTAGE, title="Epic is slow on all units", systems=["Epic"]),
                now=utcnow(),
            )
            session.commit()
            notice_id = notice.id
        assert notice_id is not None
        yield live, notice_id


def post(live: LiveServer, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{live.url}{path}", json=body, timeout=10)


def test_notify_subscribes_the_conversation_and_the_fix_arrives_in_it(
    server: tuple[LiveServer, int], settings: Settings
) -> None:
    live, notice_id = server
    asked = post(live, "/api/ask", {"text": "is epic down?", "conversation": CONVERSATION}).json()
    assert asked["decision"] == "outage" and f"notify:{notice_id}" in asked["actions"]

    first = post(live, "/api/notify", {"notice": notice_id, "conversation": CONVERSATION})
    again = post(live, "/api/notify", {"notice": notice_id, "conversation": CONVERSATION})
    assert first.status_code == again.status_code == 200 and "tell you" in first.json()["message"]

    with live.app.state.sessions() as session:
        resolve_notice(session=session, notice_id=notice_id, now=utcnow(), body="Back to normal.")
        session.commit()
    run_worker(settings, senders=chat_senders(settings), once=True)

    with live.app.state.sessions() as session:
        conversation = get_conversation(session=session, channel="web", thread_key=CONVERSATION)
        assert conversation is not None
        it_turns = [t for t in conversation.turns if "Back to normal." in str(t)]
    assert len(it_turns) == 1


def test_notify_refuses_unknown_ended_and_malformed_requests(server: tuple[LiveServer, int]) -> None:
    live, notice_id = server
    assert post(live, "/api/notify", {"notice": 999, "conversation": CONVERSATION}).status_code == 404
    assert post(live, "/api/notify", {"notice": "x", "conversation": CONVERSATION}).status_code == 422
    assert post(live, "/api/notify", {"notice": notice_id, "conversation": "nope"}).status_code == 422
    with live.app.state.sessions() as session:
        resolve_notice(session=session, notice_id=notice_id, now=utcnow())
        session.commit()
    ended = post(live, "/api/notify", {"notice": notice_id, "conversation": CONVERSATION})
    assert ended.status_code == 409 and "already resolved" in ended.json()["message"]
