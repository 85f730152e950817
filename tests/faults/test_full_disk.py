"""Finding 7: a full disk never costs the person their reply.

SQLite's ``PRAGMA max_page_count`` caps the database file at the pages it already has, so every write
that needs a new page fails exactly as on a full disk ("database or disk is full"). Conversation asks
(the web chat's) then still answer 200: the person gets the answer, or the fallback sentence, and the
failure is logged by id only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.config import Settings
from bot.conversations.models import Turn
from bot.conversations.queries import add_turns
from bot.db import create_db_engine, init_db
from bot.main import create_app
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

CONVERSATION = "web-" + "7d" * 16
PHI = "MRN 00482913"


def fill_the_disk(engine: Engine) -> None:
    """From now on no connection of ``engine`` may grow the file: every new page is 'disk full'.

    The file is vacuumed first: free pages a migration left behind (a table rebuilt) would otherwise
    take the first writes without growing it."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM"))
        pages = int(connection.execute(text("PRAGMA page_count")).scalar_one())

    def cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    event.listen(engine, "connect", cap)
    engine.dispose()  # pooled connections reconnect with the cap


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return sqlite_settings(tmp_path)


@pytest.fixture
def full_server(settings: Settings) -> Iterator[LiveServer]:
    app = create_app(settings, assistant=FakeAssistant())
    fill_the_disk(app.state.engine)
    fill_the_disk(app.state.recorder_engine)
    with serve(app) as live:
        yield live


def ask(server: LiveServer, words: str) -> httpx.Response:
    body = {"text": words, "user": "web-nurse0007", "conversation": CONVERSATION}
    return httpx.post(f"{server.url}/api/ask", json=body, timeout=30)


def test_adding_turns_on_a_full_disk_raises_a_database_error_not_a_runtime_error(settings: Settings) -> None:
    engine = create_db_engine(settings)
    init_db(settings, engine=engine)
    fill_the_disk(engine)
    turn = Turn(role="user", text="x" * 20_000)

    with Session(engine) as session, pytest.raises(OperationalError, match="full"):
        add_turns(session=session, channel="web", thread_key=CONVERSATION, user_id="u", turns=[turn])
    engine.dispose()


def test_a_conversation_ask_on_a_full_disk_still_gets_its_answer(
    full_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    response = ask(full_server, f"epic won't let me log in, {PHI}, " + "it just says no " * 400)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "answer" and "Caps Lock" in body["text"]
    assert body["conversation"] == CONVERSATION and body["interaction_id"] is None
    assert "event=conversation_remember_failed error=OperationalError" in caplog.text
    assert "00482913" not in caplog.text


def test_an_escalation_on_a_full_disk_gets_a_reply_not_a_500(full_server: LiveServer) -> None:
    response = ask(full_server, "the badge reader on my wow beeps red " + "and beeps " * 400)

    assert response.status_code == 200, response.text
    assert response.json()["decision"] == "escalate"
    assert "x4357" in response.json()["text"]
