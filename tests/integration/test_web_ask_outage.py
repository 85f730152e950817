"""``POST /api/ask`` without a conversation (the stateless contract path) checks the active notices
first, like ``itbot ask``: a matching question gets ``decision: outage`` with the notice; an unrelated
one, a draft from monitoring and a resolved notice do not. SQLite and PostgreSQL, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.interactions.models import utcnow
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice, resolve_notice
from bot.notices.alerts import parse_alert
from bot.notices.intake import take_alert
from bot.notices.models import NoticeKind
from bot.notices.registry import ensure_seeded
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def server(db_settings: Settings) -> Iterator[LiveServer]:
    settings = db_settings.model_copy(update={"kb": KB})
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        with live.app.state.sessions() as session:
            ensure_seeded(session=session, kb=KB)
            session.commit()
        yield live


def ask(server: LiveServer, text: str) -> dict[str, object]:
    answered = httpx.post(f"{server.url}/api/ask", json={"text": text}, timeout=10)
    assert answered.status_code == 200
    body: dict[str, object] = answered.json()
    return body


def test_a_question_about_an_active_outage_gets_the_notice_without_a_conversation(server: LiveServer) -> None:
    with server.app.state.sessions() as session:
        notice = open_notice(
            session=session,
            new=NewNotice(kind=NoticeKind.OUTAGE, title="Epic is slow on all units", systems=["Epic"]),
            now=utcnow(),
        )
        session.commit()
        notice_id = notice.id

    matched = ask(server, "is epic down?")
    unrelated = ask(server, "printer jam on 4 west")

    assert matched["decision"] == "outage"
    shown = matched["notice"]
    assert isinstance(shown, dict) and shown["id"] == notice_id and shown["status"] == "investigating"
    assert matched["interaction_id"]
    assert unrelated["decision"] != "outage" and unrelated["notice"] is None

    with server.app.state.sessions() as session:
        resolve_notice(session=session, notice_id=notice_id or 0, now=utcnow())
        session.commit()
    assert ask(server, "is epic down?")["decision"] != "outage"


def test_a_draft_from_monitoring_answers_nobody(server: LiveServer) -> None:
    with server.app.state.sessions() as session:
        take_alert(
            session=session,
            settings=server.app.state.settings,
            alert=parse_alert({"system": "Epic", "summary": "Epic login slow"}),
            now=utcnow(),
        )
        session.commit()

    assert ask(server, "is epic down?")["decision"] != "outage"
