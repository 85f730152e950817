"""Attack-run finding: patient identifiers disguised so that the scrubber missed them were stored
verbatim in the database and forwarded to ServiceNow — an MRN with spaces inside ("MRN 004 829 14",
"MRN 0048 2924", half of which was kept), an MRN split by a zero-width space, "Mrs.Oberholtzer"
written without a space, an MRN spelled out in words, and "j.doe.rt2 at hospital dot org".

Each evasion goes through the two doors IT and staff use: ``itbot scrub`` (a separate process,
reading standard input) and the web chat (``POST /api/ask`` in a conversation that escalates to a
ticket, forwarded to a fake ServiceNow by the outbox worker). Afterwards no table row, outbox
payload, request to the service desk, log record or answer holds any of them, on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text

from bot.channels.web.sender import WebChatSender
from bot.config import Settings
from bot.main import create_app
from bot.tickets.worker import run_worker
from tests.databases import postgres_settings, sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.itsm import FakeServiceNow
from tests.live_server import LiveServer, serve

ROOT = Path(__file__).resolve().parents[2]
ZWSP = "\u200b"

# (what a person typed, the identifiers in it that must never be stored or forwarded)
EVASIONS: list[tuple[str, list[str]]] = [
    ("MRN 004 829 14 can't be found", ["00482914"]),
    ("MRN 0048 2924 shows someone else", ["00482924"]),
    (f"MRN 0048{ZWSP}2913 wristband is blank", ["00482913"]),
    ("Mrs.Oberholtzer is still waiting", ["Oberholtzer"]),
    ("MRN is zero zero four eight two nine one five", ["zero zero four eight two nine one five"]),
    ("send it to j.doe.rt2 at hospital dot org", ["j.doe.rt2", "j.doe.rt2 at hospital dot org"]),
]
CONVERSATION = "web-" + "5e" * 16
USER = "web-nurse0042"


def hidden_or_spaced(value: str) -> re.Pattern[str]:
    """``value``'s letters and digits in order, whatever spaces, punctuation or invisible
    characters were put between them (an identifier counts as leaked in any of those forms)."""
    between = r"[\W_]{0,3}"
    return re.compile(between.join(re.escape(ch) for ch in value if ch.isalnum()), re.IGNORECASE)


def leaked(found: str) -> list[str]:
    """The identifiers of ``EVASIONS`` that ``found`` still holds."""
    return [secret for _, secrets in EVASIONS for secret in secrets if hidden_or_spaced(secret).search(found)]


def test_itbot_scrub_prints_none_of_the_evasions() -> None:
    lines = [message for message, _ in EVASIONS]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}

    done = subprocess.run(
        [sys.executable, "-m", "bot.channels.cli.main", "scrub"],
        input="\n".join(lines) + "\n",
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    assert len(printed) == len(lines)
    assert leaked(done.stdout) == []
    assert printed[0] == "MRN [MRN] can't be found"
    assert printed[3] == "Mrs.[NAME] is still waiting"
    assert printed[5] == "send it to [EMAIL]"


@pytest.fixture
def desk() -> Iterator[FakeServiceNow]:
    with FakeServiceNow(username="itbot", password="s3cret") as fake:
        yield fake


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, desk: FakeServiceNow) -> Iterator[Settings]:
    """The server's settings on one database, forwarding tickets to the fake ServiceNow."""
    itsm = {
        "itsm_kind": "servicenow",
        "itsm_url": desk.url,
        "itsm_username": "itbot",
        "itsm_password": "s3cret",
    }
    if request.param == "sqlite":
        yield sqlite_settings(tmp_path).model_copy(update=itsm)
    else:
        with postgres_settings(tmp_path) as on_postgres:
            yield on_postgres.model_copy(update=itsm)


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


def say(server: LiveServer, words: str) -> dict[str, Any]:
    body = {"text": words, "user": USER, "conversation": CONVERSATION}
    response = httpx.post(f"{server.url}/api/ask", json=body, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_web_chat_stores_and_forwards_none_of_the_evasions(
    server: LiveServer, settings: Settings, desk: FakeServiceNow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    messages = [message for message, _ in EVASIONS]

    # The fake assistant cannot answer these, so the first message asks for details, the second
    # opens a ticket with the conversation, and the rest are relayed to the ticket.
    answers = [say(server, "the badge reader beeps red; " + messages[0])]
    answers.append(say(server, "4 West; " + " ".join(messages[1:3])))
    answers += [say(server, message) for message in messages[3:]]
    engine = server.app.state.engine
    senders = {"web": WebChatSender(server.app.state.sessions)}
    while run_worker(settings, senders=senders, once=True, engine=engine):
        pass  # deliver everything, the service desk's incident and its later notes included

    with engine.connect() as connection:
        rows = "\n".join(
            str(tuple(row))
            for table in inspect(connection).get_table_names()
            for row in connection.execute(text(f'select * from "{table}"'))
        )
    forwarded = "\n".join(json.dumps(request.body) for request in desk.requests)
    logged = "\n".join(f"{record.getMessage()} {record.args!r}" for record in caplog.records)
    found = {
        where: leaked(what)
        for where, what in (
            ("rows", rows),
            ("service desk", forwarded),
            ("logs", logged),
            ("answers", json.dumps(answers)),
        )
    }

    assert found == {"rows": [], "service desk": [], "logs": [], "answers": []}
    # The path really ran: a ticket reached the service desk with the placeholders in it.
    assert answers[1]["escalation"] == "opened", answers[1]
    assert desk.requests
    assert "[MRN]" in forwarded
    assert all(placeholder in rows for placeholder in ("[MRN]", "[NAME]", "[EMAIL]"))
