"""Finding 8: correctly signed but malformed Slack bodies gave 500.

Bolt parses the body while the request is built, before any listener runs, and fails on invalid
JSON, a JSON list, a 5,000-deep object or a form whose ``payload`` is not JSON. Now the adapter
reads the body first: such a delivery is a 400 with a log line naming the kind of problem (never the
body), and nothing is stored or posted. Each body here is signed with the right secret and a fresh
timestamp, so only its content is wrong.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.conversations.models import Conversation, Delivery
from bot.interactions.models import Interaction
from bot.main import create_app
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_api import FakeSlackApi
from tests.live_server import LiveServer, serve
from tests.slack_payloads import BOT_TOKEN, SIGNING_SECRET, dm, encode_event, event_body, signed_headers

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MARKER = "MRN 00123456"  # stands for whatever the body held: it must never reach the log

DEEP = ('{"a":' * 5000 + '"' + MARKER + '"' + "}" * 5000).encode()


def form(payload: str) -> bytes:
    return urllib.parse.urlencode({"payload": payload}).encode()


MALFORMED = [
    pytest.param(
        b'{"type": "event_callback", "event": ' + MARKER.encode(), JSON, "invalid_json", id="invalid-json"
    ),
    pytest.param(
        b'[{"type": "event_callback"}, "' + MARKER.encode() + b'"]', JSON, "not_an_object", id="json-list"
    ),
    pytest.param(b'"' + MARKER.encode() + b'"', JSON, "not_an_object", id="json-string"),
    pytest.param(DEEP, JSON, "too_deep", id="5000-deep"),
    pytest.param(b'{"text": "' + MARKER.encode() + b'"', FORM, "invalid_json", id="brace-in-a-form"),
    pytest.param(
        form('{"type": "block_actions", ' + MARKER), FORM, "invalid_payload_json", id="form-payload"
    ),
    pytest.param(form("[1, 2, 3]"), FORM, "not_an_object", id="form-payload-list"),
    pytest.param(form('{"a":' * 3000 + "1" + "}" * 3000), FORM, "too_deep", id="form-payload-deep"),
    pytest.param(
        encode_event({"type": "event_callback", "authorizations": MARKER, "event": MARKER}),
        JSON,
        "wrong_shape",
        id="authorizations-a-string",
    ),
    pytest.param(
        encode_event({"type": "event_callback", "event": [MARKER]}), JSON, "wrong_shape", id="event-a-list"
    ),
    pytest.param(
        form(json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": MARKER})),
        FORM,
        "wrong_shape",
        id="actions-a-string",
    ),
    pytest.param(
        form(json.dumps({"type": "view_submission", "user": {"id": "U1"}, "view": MARKER})),
        FORM,
        "wrong_shape",
        id="view-a-string",
    ),
]


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def server(tmp_path: Path, slack: FakeSlackApi) -> Iterator[LiveServer]:
    settings = sqlite_settings(
        tmp_path, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url
    )
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


def stored(server: LiveServer) -> int:
    with server.app.state.sessions() as session:
        return sum(len(session.exec(select(model)).all()) for model in (Interaction, Conversation, Delivery))


@pytest.mark.parametrize(("body", "content_type", "problem"), MALFORMED)
def test_a_signed_malformed_body_is_a_400_logged_by_kind_with_nothing_written(
    server: LiveServer,
    slack: FakeSlackApi,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    problem: str,
) -> None:
    caplog.set_level(logging.DEBUG)

    response = httpx.post(
        f"{server.url}/slack/events",
        content=body,
        headers=signed_headers(body, content_type=content_type),
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_body"
    assert MARKER not in response.text
    logged = [r.getMessage() for r in caplog.records]
    assert any(line.startswith(f"event=slack_request_malformed problem={problem}") for line in logged)
    assert not any(MARKER in line for line in logged)
    assert stored(server) == 0
    slack.settle(quiet=0.2)
    assert [c.method for c in slack.calls if c.method != "auth.test"] == []


def test_a_well_formed_event_is_still_answered(server: LiveServer, slack: FakeSlackApi) -> None:
    body = encode_event(event_body(dm("epic says my password is wrong")))

    response = httpx.post(
        f"{server.url}/slack/events", content=body, headers=signed_headers(body), timeout=10
    )

    assert response.status_code == 200
    assert slack.wait_for("chat.postMessage")
