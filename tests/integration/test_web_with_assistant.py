"""The HTTP app with the real ``Assistant`` over a tiny knowledge folder, served by uvicorn.

Most tests use the hashing encoder (fast, deterministic; policy thresholds lowered to suit its
scores). The ``model`` test loads the packaged embedding model and indexes the tiny folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.core.assistant import Assistant
from bot.core.policy import PolicyParams
from bot.db import session_factory
from bot.interactions.queries import get_interaction
from bot.main import create_app
from indexer.build import build_index
from indexer.encoder import HashingEncoder, load_encoder
from tests.databases import sqlite_settings
from tests.live_server import LiveServer, serve
from tests.tiny_kb import write_tiny_kb

CONTRACT_KEYS = {"decision", "text", "citations", "notice", "actions", "interaction_id"}
HASHING_POLICY = PolicyParams(
    answer_score=0.3, answer_margin=0.02, clarify_score=0.2, min_known_share=0.0, answer_confidence=0.0
)
PHI_QUESTION = "Patient John Smith MRN 00123456 DOB 03/04/1950: epic password refused at login"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = sqlite_settings(tmp_path)
    write_tiny_kb(settings.kb)
    return settings


def hashing_assistant(settings: Settings) -> Assistant:
    return Assistant(settings, encoder=HashingEncoder(), policy=HASHING_POLICY)


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    build_index(settings.kb, settings.index_root, HashingEncoder())
    with serve(create_app(settings, assistant=hashing_assistant(settings))) as live:
        yield live


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_healthz_summarises_the_live_index(server: LiveServer) -> None:
    assert wait_for(lambda: httpx.get(f"{server.url}/healthz").status_code == 200)

    body = httpx.get(f"{server.url}/healthz").json()

    assert body["status"] == "ok"
    assert body["index"]["model"] == "hashing-384"
    assert body["index"]["articles"] == 4


def test_a_question_is_answered_from_the_knowledge_folder(server: LiveServer) -> None:
    response = httpx.post(
        f"{server.url}/api/ask", json={"text": "epic won't let me log in, password refused"}
    )

    body = response.json()
    assert response.status_code == 200
    assert set(body) == CONTRACT_KEYS
    assert body["decision"] == "answer"
    assert body["citations"][0]["article"] == "ehr/epic-login-problems"
    assert body["citations"][0]["url"] == "/kb/ehr/epic-login-problems"
    assert body["interaction_id"]


def test_the_cited_article_has_a_page(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/kb/citrix/citrix-frozen")

    assert response.status_code == 200
    assert "Citrix is frozen or shows a black screen" in response.text
    assert "Ctrl+Alt+Break" in response.text
    assert httpx.get(f"{server.url}/kb/citrix/nope").status_code == 404


def test_phi_reaches_neither_the_row_nor_the_reply_nor_the_log(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")

    response = httpx.post(f"{server.url}/api/ask", json={"text": PHI_QUESTION})

    with session_factory(server.app.state.engine)() as session:
        row = get_interaction(session=session, interaction_id=response.json()["interaction_id"])
    assert row is not None
    assert "[MRN]" in row.question
    for piece in ("John", "Smith", "00123456", "03/04/1950"):
        assert piece not in row.question
        assert piece not in response.text
        assert piece not in caplog.text


def test_a_new_index_is_picked_up_without_a_restart(server: LiveServer, settings: Settings) -> None:
    assert httpx.get(f"{server.url}/kb/network/vpn-wont-connect").status_code == 404

    write_tiny_kb(settings.kb, extra=True)
    build_index(settings.kb, settings.index_root, HashingEncoder())

    assert wait_for(lambda: httpx.get(f"{server.url}/kb/network/vpn-wont-connect").status_code == 200)
    assert httpx.get(f"{server.url}/healthz").json()["index"]["articles"] == 5


def test_healthz_turns_ok_once_the_first_index_is_built(settings: Settings) -> None:
    with serve(create_app(settings, assistant=hashing_assistant(settings))) as live:
        before = httpx.get(f"{live.url}/healthz")
        asked = httpx.post(f"{live.url}/api/ask", json={"text": "citrix frozen"})
        build_index(settings.kb, settings.index_root, HashingEncoder())
        ready = wait_for(lambda: httpx.get(f"{live.url}/healthz").status_code == 200)

    assert before.status_code == 503
    assert asked.status_code == 200
    assert asked.json()["decision"] == "escalate"
    assert ready


@pytest.mark.model
def test_the_real_model_answers_through_the_web_api(settings: Settings) -> None:
    encoder = load_encoder(settings.model, cache_dir=settings.models_dir, max_tokens=settings.max_tokens)
    build_index(settings.kb, settings.index_root, encoder)
    with serve(create_app(settings, assistant=Assistant(settings, encoder=encoder))) as live:
        health = httpx.get(f"{live.url}/healthz", timeout=30)
        response = httpx.post(f"{live.url}/api/ask", json={"text": "citrix frozen on the wow"}, timeout=30)

    assert health.status_code == 200
    assert health.json()["index"]["model"] == encoder.name
    body = response.json()
    assert set(body) == CONTRACT_KEYS
    assert body["decision"] == "answer"
    assert body["citations"][0]["article"] == "citrix/citrix-frozen"
