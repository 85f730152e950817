"""Finding 6: cross-site posts opened tickets, and nothing limited the rate.

A page on another site could POST ``text/plain`` "talk to a human …" to ``/api/ask`` (a "simple"
request: the browser sends it without asking first) and open a critical ticket that was forwarded
to the service desk. Now every state-changing web route takes only JSON (415 otherwise) and, when
the browser says where the request comes from, only from the server's own origin (403 otherwise);
requests are limited per client address and per conversation, and tickets per hour (429 with
``Retry-After``). Each test runs the whole app under uvicorn on a loopback port.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.conversations.models import Conversation
from bot.interactions.models import Feedback, Interaction
from bot.tickets.models import Ticket, TicketStatus
from tests.live_server import LiveServer
from tests.security.web_app import TOKEN, server_with

CONVERSATION = "web-" + "ab" * 16
OTHER_CONVERSATION = "web-" + "cd" * 16
# One message that opens a ticket at once: a person asked for, and nothing left to ask.
HUMAN_NOW = "talk to a human: epic is down on 4 West room 12, yes a patient is waiting"
EVIL = "https://evil.example"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """The app with its default limits."""
    with server_with(tmp_path) as live:
        yield live


def stored(server: LiveServer) -> dict[str, int]:
    """How many tickets, interactions and conversations the server's database holds."""
    with server.app.state.sessions() as session:
        return {
            "tickets": len(session.exec(select(Ticket)).all()),
            "interactions": len(session.exec(select(Interaction)).all()),
            "conversations": len(session.exec(select(Conversation)).all()),
        }


NOTHING = {"tickets": 0, "interactions": 0, "conversations": 0}


def post(server: LiveServer, path: str, body: object, **headers: str) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{server.url}{path}", content=raw, headers=headers, timeout=10)


def ask(
    server: LiveServer, text: str, conversation: str | None = CONVERSATION, **headers: str
) -> httpx.Response:
    body: dict[str, Any] = {"text": text}
    if conversation is not None:
        body["conversation"] = conversation
    return post(server, "/api/ask", body, **{"content-type": "application/json", **headers})


def test_a_cross_site_text_plain_post_opens_no_ticket(server: LiveServer) -> None:
    # What a form or fetch(no-cors) on another site sends, the attack as it was run.
    response = post(
        server,
        "/api/ask",
        {"text": HUMAN_NOW, "conversation": CONVERSATION},
        **{"content-type": "text/plain;charset=UTF-8", "origin": EVIL, "sec-fetch-site": "cross-site"},
    )

    assert response.status_code == 403
    assert response.json()["error"] == "cross_site"
    assert stored(server) == NOTHING


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_body_that_is_not_declared_json_is_a_415_and_changes_nothing(
    server: LiveServer, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = {"text": HUMAN_NOW, "conversation": CONVERSATION}

    response = post(server, "/api/ask", body, **headers)

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert stored(server) == NOTHING


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": EVIL},
        {"origin": "null"},
        {"origin": "http://127.0.0.1.evil.example"},
        {"sec-fetch-site": "cross-site"},
    ],
    ids=["other-site", "null", "lookalike", "sec-fetch-site-only"],
)
def test_json_from_another_site_is_a_403_and_changes_nothing(
    server: LiveServer, headers: dict[str, str]
) -> None:
    response = ask(server, HUMAN_NOW, **headers)

    assert response.status_code == 403
    assert stored(server) == NOTHING


def test_feedback_from_another_site_is_refused(server: LiveServer) -> None:
    answered = ask(server, "epic login fails").json()
    body = {"interaction_id": answered["interaction_id"], "helpful": False, "conversation": CONVERSATION}

    cross = post(server, "/api/feedback", body, **{"content-type": "application/json", "origin": EVIL})
    plain = post(server, "/api/feedback", body, **{"content-type": "text/plain"})

    assert (cross.status_code, plain.status_code) == (403, 415)
    assert stored(server)["tickets"] == 0
    with server.app.state.sessions() as session:
        row = session.get(Interaction, answered["interaction_id"])
        assert row is not None and row.feedback is Feedback.NONE and row.feedback_at is None


def test_the_tickets_api_refuses_cross_site_and_non_json_writes_even_with_the_token(
    server: LiveServer,
) -> None:
    number = ask(server, HUMAN_NOW).json()["ticket"]["number"]
    auth = {"authorization": f"Bearer {TOKEN}"}
    reply = {"text": "On our way.", "agent": "Dana"}

    cross = post(
        server,
        f"/api/tickets/{number}/reply",
        reply,
        **auth,
        origin=EVIL,
        **{"content-type": "application/json"},
    )
    plain = post(server, f"/api/tickets/{number}/reply", reply, **auth, **{"content-type": "text/plain"})
    fine = post(server, f"/api/tickets/{number}/reply", reply, **auth, **{"content-type": "application/json"})

    assert (cross.status_code, plain.status_code, fine.status_code) == (403, 415, 200)


def test_same_origin_json_is_answered(server: LiveServer) -> None:
    page_origin = server.url  # the chat page's own origin, as the browser sends it

    response = ask(server, HUMAN_NOW, origin=page_origin, **{"sec-fetch-site": "same-origin"})

    assert response.status_code == 200
    assert response.json()["escalation"] == "opened"
    assert stored(server)["tickets"] == 1


def test_json_without_origin_is_answered_as_from_curl_or_the_cli(server: LiveServer) -> None:
    response = ask(server, "epic login fails", conversation=None)

    assert response.status_code == 200
    assert response.json()["decision"] == "answer"


def test_an_origin_listed_in_allowed_origins_is_answered(tmp_path: Path) -> None:
    with server_with(
        tmp_path, allowed_origins="https://intranet.example.org, https://portal.example.org"
    ) as live:
        assert ask(live, "epic login fails", origin="https://portal.example.org").status_code == 200
        assert ask(live, "epic login fails", origin=EVIL).status_code == 403


def test_with_a_public_url_only_that_origin_is_the_servers_own(tmp_path: Path) -> None:
    with server_with(tmp_path, public_url="https://itbot.hospital.example/") as live:
        assert ask(live, "epic login fails", origin="https://itbot.hospital.example").status_code == 200
        # The Host header is no longer the measure: a page whose origin matches it is refused.
        assert ask(live, "epic login fails", origin=live.url).status_code == 403


def test_slack_events_are_not_subject_to_the_browser_rules(server: LiveServer) -> None:
    # A form body without Slack configured: the route answers its own 404, not 415 or 403.
    response = post(
        server, "/slack/events", b"payload=%7B%7D", **{"content-type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 404
    assert response.json()["error"] == "slack_off"


# -- rate limits ----------------------------------------------------------------------------------


def test_a_conversation_over_its_limit_gets_429_with_retry_after(tmp_path: Path) -> None:
    with server_with(tmp_path, asks_per_minute_per_conversation=3) as live:
        answered = [ask(live, "epic login fails").status_code for _ in range(3)]

        refused = ask(live, "epic login fails")
        elsewhere = ask(live, "epic login fails", conversation=OTHER_CONVERSATION)

        assert answered == [200, 200, 200]
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["error"] == "rate_limited"
        assert "wait" in refused.json()["message"]
        assert elsewhere.status_code == 200
        assert stored(live)["interactions"] == 4


def test_an_address_over_its_limit_gets_429_whatever_the_conversation(tmp_path: Path) -> None:
    with server_with(tmp_path, asks_per_minute_per_address=2) as live:
        first = ask(live, "epic login fails", conversation=CONVERSATION)
        second = ask(live, "epic login fails", conversation=OTHER_CONVERSATION)
        third = ask(live, "epic login fails", conversation=None)

        assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
        assert int(third.headers["retry-after"]) >= 1


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(tmp_path: Path) -> None:
    with server_with(tmp_path / "plain", asks_per_minute_per_address=1) as live:
        first = ask(live, "epic login fails", conversation=None, **{"x-forwarded-for": "10.0.0.1"})
        spoofed = ask(live, "epic login fails", conversation=None, **{"x-forwarded-for": "10.0.0.2"})
        assert (first.status_code, spoofed.status_code) == (200, 429)
    with server_with(
        tmp_path / "proxied", asks_per_minute_per_address=1, trusted_proxies="127.0.0.0/8"
    ) as live:
        first = ask(live, "epic login fails", conversation=None, **{"x-forwarded-for": "10.0.0.1"})
        other = ask(live, "epic login fails", conversation=None, **{"x-forwarded-for": "10.0.0.2"})
        again = ask(live, "epic login fails", conversation=None, **{"x-forwarded-for": "9.9.9.9, 10.0.0.1"})
        assert (first.status_code, other.status_code, again.status_code) == (200, 200, 429)


def test_a_conversation_that_opened_its_tickets_for_the_hour_opens_no_more(tmp_path: Path) -> None:
    with server_with(tmp_path, escalations_per_hour_per_conversation=1) as live:
        answered = ask(live, "epic login fails").json()
        opened = ask(live, HUMAN_NOW)
        assert opened.json()["escalation"] == "opened"
        with live.app.state.sessions() as session:
            ticket = session.exec(select(Ticket)).one()
            ticket.status = TicketStatus.RESOLVED
            session.add(ticket)
            session.commit()

        again = ask(live, HUMAN_NOW)

        assert again.status_code == 429
        assert again.json()["error"] == "too_many_tickets"
        assert "x4357" in again.json()["message"]
        assert int(again.headers["retry-after"]) > 60
        assert stored(live)["tickets"] == 1
        # "That fixed it" can open no ticket, so it is still recorded.
        fixed = {"interaction_id": answered["interaction_id"], "helpful": True, "conversation": CONVERSATION}
        assert post(live, "/api/feedback", fixed, **{"content-type": "application/json"}).status_code == 200


def test_an_address_that_opened_its_tickets_for_the_hour_opens_no_more(tmp_path: Path) -> None:
    with server_with(tmp_path, escalations_per_hour_per_address=1) as live:
        assert ask(live, HUMAN_NOW, conversation=CONVERSATION).json()["escalation"] == "opened"

        again = ask(live, HUMAN_NOW, conversation=OTHER_CONVERSATION)
        # Without a conversation no ticket can open, so the bot still answers.
        plain = ask(live, "epic login fails", conversation=None)

        assert again.status_code == 429
        assert plain.status_code == 200
        assert stored(live)["tickets"] == 1
