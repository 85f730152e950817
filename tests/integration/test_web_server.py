"""The HTTP app over real HTTP: uvicorn on loopback, httpx as the client, SQLite underneath.

These use the fake assistant (deterministic answers); ``test_web_with_assistant.py`` runs the
real one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import Session

from bot.config import Settings
from bot.db import alembic_config, session_factory
from bot.interactions.models import Feedback, Interaction
from bot.interactions.queries import get_interaction, list_interactions
from bot.main import create_app
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

CONTRACT_KEYS = {"decision", "text", "citations", "notice", "actions", "interaction_id"}
CITATION_KEYS = {"article", "title", "section", "score", "url"}

PHI_QUESTION = (
    "Patient John Smith MRN 00123456 DOB 03/04/1950, call back 555-123-4567: epic won't let me log in"
)
PHI_PIECES = ["John", "Smith", "00123456", "03/04/1950", "555-123-4567"]


def post_ask(server: LiveServer, body: object) -> httpx.Response:
    return httpx.post(f"{server.url}/api/ask", json=body, timeout=10)


def row_for(server: LiveServer, interaction_id: str) -> Interaction:
    with session_factory(server.app.state.engine)() as session:
        row = get_interaction(session=session, interaction_id=interaction_id)
    assert row is not None, f"interaction {interaction_id} was not stored"
    return row


def assert_contract(body: dict[str, Any]) -> None:
    assert set(body) == CONTRACT_KEYS
    assert body["decision"] in {"answer", "clarify", "escalate", "outage"}
    assert isinstance(body["text"], str) and body["text"]
    assert isinstance(body["citations"], list)
    for citation in body["citations"]:
        assert isinstance(citation, dict) and set(citation) == CITATION_KEYS
    assert body["notice"] is None or set(body["notice"]) == {"id", "title"}


def test_healthz_reports_the_loaded_index(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "index": {"build": "fake", "model": "fake", "articles": 3, "chunks": 3},
        "database": "ok",
        "spooled": 0,
    }


def test_healthz_is_503_until_an_index_is_loaded(web_settings: Settings) -> None:
    with serve(create_app(web_settings, assistant=FakeAssistant(is_ready=False))) as server:
        response = httpx.get(f"{server.url}/healthz")
        asked = post_ask(server, {"text": "epic is down"})

    assert response.status_code == 503
    assert response.json()["status"] == "starting"
    assert asked.status_code == 200
    assert_contract(asked.json())
    assert "still getting ready" in asked.json()["text"]
    assert "x4357" in asked.json()["text"]


def test_the_index_is_polled_in_the_background(
    live_server: LiveServer, fake_assistant: FakeAssistant
) -> None:
    deadline = time.monotonic() + 5
    while fake_assistant.refreshes < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_assistant.refreshes >= 3


def test_ask_answers_with_the_contract_and_records_the_interaction(live_server: LiveServer) -> None:
    response = post_ask(live_server, {"text": "epic won't let me log in", "user": "web-abc"})

    assert response.status_code == 200
    body = response.json()
    assert_contract(body)
    assert body["decision"] == "answer"
    assert body["citations"][0]["article"] == "ehr/epic-login-problems"
    assert body["actions"] == ["fixed", "stuck"]
    row = row_for(live_server, body["interaction_id"])
    assert row.channel == "web"
    assert row.user_id == "web-abc"
    assert row.decision == "answer"
    assert row.top_article == "ehr/epic-login-problems"
    assert row.top_score == pytest.approx(0.82)
    assert row.citations == [{"article": "ehr/epic-login-problems", "score": 0.82}]


def test_render_html_adds_only_safe_html(live_server: LiveServer) -> None:
    body = post_ask(live_server, {"text": "epic login", "render": "html"}).json()

    assert set(body) == {*CONTRACT_KEYS, "html"}
    assert "<strong>Caps Lock</strong>" in body["html"]
    assert "<b>" not in body["html"]
    assert "&lt;b&gt;raw html stays text&lt;/b&gt;" in body["html"]


def test_choosing_an_article_answers_from_it(live_server: LiveServer) -> None:
    clarify = post_ask(live_server, {"text": "printer broken"}).json()
    assert clarify["decision"] == "clarify"
    assert "choose:printing/label-printer" in clarify["actions"]

    chosen = post_ask(
        live_server, {"text": "Label printer prints blank labels", "article": "printing/label-printer"}
    )

    assert chosen.json()["decision"] == "answer"
    assert [c["article"] for c in chosen.json()["citations"]] == ["printing/label-printer"]


def test_feedback_is_recorded_and_idempotent(live_server: LiveServer) -> None:
    interaction_id = post_ask(live_server, {"text": "epic login"}).json()["interaction_id"]

    first = httpx.post(
        f"{live_server.url}/api/feedback", json={"interaction_id": interaction_id, "helpful": True}
    )
    stored = row_for(live_server, interaction_id)
    second = httpx.post(
        f"{live_server.url}/api/feedback", json={"interaction_id": interaction_id, "helpful": True}
    )
    again = row_for(live_server, interaction_id)

    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["feedback"] == "helpful"
    assert stored.feedback == Feedback.HELPFUL
    assert again.feedback_at == stored.feedback_at


def test_still_stuck_points_to_the_service_desk(live_server: LiveServer) -> None:
    interaction_id = post_ask(live_server, {"text": "epic login"}).json()["interaction_id"]

    response = httpx.post(
        f"{live_server.url}/api/feedback", json={"interaction_id": interaction_id, "helpful": False}
    )

    assert response.status_code == 200
    assert response.json()["message"] == "I've noted that. Call the service desk at x4357 if it's urgent."
    assert row_for(live_server, interaction_id).feedback == Feedback.UNHELPFUL


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"interaction_id": "no-such-id", "helpful": True}, 404),
        ({"interaction_id": "x", "helpful": "yes"}, 422),
        ({"interaction_id": "x\nforged log line", "helpful": True}, 422),
        ({"helpful": True}, 422),
        ([1, 2], 422),
    ],
)
def test_bad_feedback_gets_a_clear_json_error(live_server: LiveServer, body: object, status: int) -> None:
    response = httpx.post(f"{live_server.url}/api/feedback", json=body)

    assert response.status_code == status
    assert set(response.json()) == {"error", "message"}


def test_chat_page_has_the_pieces_people_need(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/")

    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    page = response.text
    assert "itbot — IT help" in page
    assert "Describe the problem, e.g. 'citrix frozen on the wow'" in page
    assert "Please don't paste patient details" in page
    assert '<html lang="en">' in page
    assert 'name="viewport"' in page
    for asset in ("/static/chat.js", "/static/style.css"):
        assert f'"{asset}"' in page
        assert httpx.get(f"{live_server.url}{asset}").status_code == 200


def test_article_page_renders_the_article_safely(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/kb/ehr/epic-login-problems")

    assert response.status_code == 200
    page = response.text
    assert "Can&#39;t log in to Epic" in page
    assert "<strong>Caps Lock</strong>" in page
    assert "<script>alert" not in page
    assert 'href="/kb/ehr/epic-session-timeout"' in page
    assert "Epic" in page and "service-desk" in page


def test_unknown_article_is_a_404_page(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/kb/ehr/no-such-article")

    assert response.status_code == 404
    assert "We couldn't find that page" in response.text


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   \n\t  "},
        {"text": "epic " * 10_000},
        {"text": "epic\x00\x07\x1b[31m won't\u202e start 😡🔥🖥️"},
        {"text": "la impresora no imprime nada, ¿qué hago?"},
        {"text": "\ud83d epic lone surrogate"},
        {"text": 12345},
        {},
        {"text": None, "user": {"name": "x"}, "history": "not a list"},
        ["epic", "login"],
        "just a string",
    ],
    ids=[
        "empty",
        "whitespace",
        "50KB",
        "control-chars-emoji",
        "spanish",
        "lone-surrogate",
        "number",
        "missing-text",
        "odd-fields",
        "list-body",
        "string-body",
    ],
)
def test_odd_questions_get_a_polite_reply(live_server: LiveServer, body: object) -> None:
    response = httpx.post(
        f"{live_server.url}/api/ask",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 200
    assert_contract(response.json())
    assert "Traceback" not in response.text


def test_a_question_that_is_only_an_mrn_never_echoes_it(live_server: LiveServer) -> None:
    response = post_ask(live_server, {"text": "MRN 00123456"})

    assert response.status_code == 200
    assert_contract(response.json())
    assert "00123456" not in response.text
    row = row_for(live_server, response.json()["interaction_id"])
    assert "00123456" not in row.question


@pytest.mark.parametrize("content", [b"this is not json", b'{"text": ', b"\xff\xfe\x00bad utf-8", b""])
def test_a_body_that_is_not_json_is_a_clear_422(live_server: LiveServer, content: bytes) -> None:
    response = httpx.post(
        f"{live_server.url}/api/ask", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_json"
    assert "JSON" in response.json()["message"]


def test_an_oversized_body_is_refused_with_a_friendly_413(live_server: LiveServer) -> None:
    response = post_ask(live_server, {"text": "x" * 70_000})

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert "too long" in response.json()["message"]


def test_an_oversized_chunked_body_is_refused_too(live_server: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    response = httpx.post(
        f"{live_server.url}/api/ask", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413


def test_a_small_chunked_body_is_answered(live_server: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "epic'
        yield b' login"}'

    response = httpx.post(
        f"{live_server.url}/api/ask", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 200
    assert response.json()["decision"] == "answer"


def test_phi_is_stored_scrubbed_and_never_logged(
    live_server: LiveServer, all_logs: pytest.LogCaptureFixture
) -> None:
    response = post_ask(live_server, {"text": PHI_QUESTION, "user": "web-phi"})
    interaction_id = response.json()["interaction_id"]
    httpx.post(f"{live_server.url}/api/feedback", json={"interaction_id": interaction_id, "helpful": False})

    row = row_for(live_server, interaction_id)
    assert response.status_code == 200
    assert "[MRN]" in row.question and "[DOB]" in row.question
    logged = all_logs.text + "\n".join(r.getMessage() for r in all_logs.records)
    assert f"interaction_id={interaction_id}" in logged
    for piece in PHI_PIECES:
        assert piece not in row.question
        assert piece not in response.text
        assert piece not in logged
    # Not even the scrubbed text is logged, except by SQLAlchemy's own DEBUG echo of result rows,
    # which prints what is stored (scrubbed) to whoever turns that logger up on purpose.
    ours = [r for r in all_logs.records if not r.name.startswith("sqlalchemy.engine")]
    assert all("won't let me log in" not in r.getMessage() for r in ours)


def test_the_answer_survives_the_database_being_down(
    live_server: LiveServer, all_logs: pytest.LogCaptureFixture
) -> None:
    with live_server.app.state.engine.begin() as connection:
        connection.execute(text("drop table interaction"))

    response = post_ask(live_server, {"text": PHI_QUESTION})
    feedback = httpx.post(f"{live_server.url}/api/feedback", json={"interaction_id": "abc", "helpful": False})

    assert response.status_code == 200
    assert response.json()["decision"] == "answer"
    assert response.json()["interaction_id"] is None
    assert feedback.status_code == 503
    assert "x4357" in feedback.json()["message"]
    assert "event=record_failed" in all_logs.text
    for piece in PHI_PIECES:
        assert piece not in all_logs.text


def test_a_core_that_raises_still_gets_a_polite_reply(
    live_server: LiveServer, fake_assistant: FakeAssistant, all_logs: pytest.LogCaptureFixture
) -> None:
    fake_assistant.explode = True

    response = post_ask(live_server, {"text": PHI_QUESTION})

    assert response.status_code == 200
    assert_contract(response.json())
    assert response.json()["decision"] == "escalate"
    assert "event=ask_failed error=RuntimeError" in all_logs.text
    with Session(live_server.app.state.engine) as session:
        (row,) = list_interactions(session=session, limit=1)
    assert "[MRN]" in row.question
    for piece in PHI_PIECES:
        assert piece not in all_logs.text
        assert piece not in row.question


def test_a_new_app_migrates_an_empty_database_and_reuses_it(web_settings: Settings) -> None:
    first = create_app(web_settings, assistant=FakeAssistant())
    second = create_app(web_settings, assistant=FakeAssistant())

    with second.state.engine.connect() as connection:
        version = connection.execute(text("select version_num from alembic_version")).scalar_one()
    assert version == ScriptDirectory.from_config(alembic_config(web_settings)).get_current_head()
    first.state.engine.dispose()
    second.state.engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    app = create_app(settings, assistant=FakeAssistant())

    with app.state.engine.connect() as connection:
        assert connection.execute(text("pragma journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("pragma foreign_keys")).scalar_one() == 1
    app.state.engine.dispose()


def test_an_unexpected_error_is_a_short_500_logged_without_its_message(
    live_server: LiveServer, fake_assistant: FakeAssistant, all_logs: pytest.LogCaptureFixture
) -> None:
    fake_assistant.explode = True

    response = httpx.get(f"{live_server.url}/kb/MRN-00123456")

    assert response.status_code == 500
    assert response.json() == {
        "error": "internal",
        "message": "Something went wrong on my side. Please try again.",
    }
    assert "event=unhandled_error error=RuntimeError" in all_logs.text
    assert "looking up MRN-00123456" not in all_logs.text  # the message; the frames show only code


def test_pages_carry_a_strict_content_security_policy(live_server: LiveServer) -> None:
    headers = httpx.get(f"{live_server.url}/").headers

    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
