"""Finding 4: no escalation is lost when the database is down; the worker opens each once.

PostgreSQL is reached through a proxy the test can cut (its port closed, open connections dropped)
and restore. On the web and in Slack, every way of reaching IT ("talk to a human", the bot having no
answer, "Still stuck", the answer to the follow-up question when the database died after the
question) is kept in the spool, scrubbed, and the person is told IT has it. When the database is back
the worker opens exactly one ticket per escalation, however often it runs, and tells the person the
number in their thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.channels.slack.client import make_client
from bot.channels.slack.sender import SlackChatSender
from bot.channels.web.sender import WebChatSender
from bot.config import Settings
from bot.conversations.models import Conversation
from bot.main import create_app
from bot.tickets.models import Ticket
from bot.tickets.replies import kept_text
from bot.tickets.spool import pending_files
from bot.tickets.worker import run_worker
from tests.databases import private_schema, require_postgres, sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.database import SwitchableProxy
from tests.fakes.slack_api import Call, FakeSlackApi
from tests.live_server import LiveServer, serve
from tests.slack_payloads import (
    BOT_TOKEN,
    SIGNING_SECRET,
    block_action,
    dm,
    event_body,
    mention,
    post_event,
    post_interaction,
)

pytestmark = pytest.mark.postgres

MRN = "00482913"
CONVERSATION = "web-" + "4e" * 16
USER = "web-nurse0004"
UNANSWERABLE = "the badge reader on my wow beeps red"
DETAILS = f"4 West room 12, yes a patient is waiting, MRN {MRN}"
KEPT = kept_text("x4357")


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def proxy() -> Iterator[SwitchableProxy]:
    target = make_url(require_postgres())
    with SwitchableProxy(target.host or "127.0.0.1", target.port or 5432) as switch:
        yield switch


@pytest.fixture
def settings(tmp_path: Path, proxy: SwitchableProxy, slack: FakeSlackApi) -> Iterator[Settings]:
    """PostgreSQL (a private schema) through the proxy; Slack is the fake."""
    with private_schema(require_postgres()) as url:
        proxied = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        yield sqlite_settings(
            tmp_path,
            database_url=proxied,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            db_retry_seconds=0,  # the test restores the database and goes on at once
        )


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def say(http: httpx.Client, server: LiveServer, words: str) -> dict[str, Any]:
    body = {"text": words, "user": USER, "conversation": CONVERSATION}
    response = http.post(f"{server.url}/api/ask", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def run_workers_twice(settings: Settings, server: LiveServer) -> None:
    """The worker, as ``itbot worker --once``, twice (a restart, or a second worker, changes nothing)."""
    senders = {
        "web": WebChatSender(server.app.state.sessions),
        "slack": SlackChatSender(make_client(settings)),
    }
    for _ in range(2):
        run_worker(settings, senders=senders, once=True)


def tickets(server: LiveServer) -> list[Ticket]:
    with server.app.state.sessions() as session:
        return list(session.exec(select(Ticket)).all())


def the_kept_file(settings: Settings) -> str:
    [kept] = pending_files(settings)
    text = kept.read_text(encoding="utf-8")
    assert MRN not in text and "[MRN]" in text
    return text


def it_messages(http: httpx.Client, server: LiveServer) -> list[dict[str, Any]]:
    response = http.get(f"{server.url}/api/conversations/{CONVERSATION}/messages")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["messages"]
    return found


def assert_one_ticket_told_on_the_web(http: httpx.Client, server: LiveServer, settings: Settings) -> Ticket:
    run_workers_twice(settings, server)
    [ticket] = tickets(server)
    assert pending_files(settings) == []
    with server.app.state.sessions() as session:
        stored = session.exec(select(Conversation).where(Conversation.thread_key == CONVERSATION)).one()
    assert ticket.conversation_id == stored.id and ticket.channel == "web"
    [told] = it_messages(http, server)
    assert ticket.number in told["html"]
    return ticket


# -- web ---------------------------------------------------------------------------------------------


def test_web_talk_to_a_human_with_the_database_down_is_kept_then_opened_once(
    http: httpx.Client, server: LiveServer, settings: Settings, proxy: SwitchableProxy
) -> None:
    proxy.cut()

    reply = say(http, server, f"epic is down for MRN {MRN}, can I talk to a human")

    assert reply["escalation"] == "kept" and reply["text"] == KEPT
    assert "human" in the_kept_file(settings)
    proxy.restore()
    assert_one_ticket_told_on_the_web(http, server, settings)


def test_web_no_answer_with_the_database_down_is_kept_then_opened_once(
    http: httpx.Client, server: LiveServer, settings: Settings, proxy: SwitchableProxy
) -> None:
    proxy.cut()

    reply = say(http, server, f"{UNANSWERABLE} for MRN {MRN}")

    assert reply["decision"] == "escalate" and reply["escalation"] == "kept"
    assert KEPT in reply["text"]
    assert "badge reader" in the_kept_file(settings)
    proxy.restore()
    assert_one_ticket_told_on_the_web(http, server, settings)


def test_web_details_answered_after_the_database_died_are_kept_with_the_request(
    http: httpx.Client, server: LiveServer, settings: Settings, proxy: SwitchableProxy
) -> None:
    asked = say(http, server, UNANSWERABLE)
    assert asked["escalation"] == "ask_details"
    proxy.cut()

    reply = say(http, server, DETAILS)

    assert reply["escalation"] == "kept" and reply["text"] == KEPT
    assert "4 West room 12" in the_kept_file(settings)
    proxy.restore()
    ticket = assert_one_ticket_told_on_the_web(http, server, settings)
    assert ticket.location and "4 West" in ticket.location and ticket.patient_waiting


def test_web_still_stuck_with_the_database_down_is_kept_then_opened_once(
    http: httpx.Client, server: LiveServer, settings: Settings, proxy: SwitchableProxy
) -> None:
    answered = say(http, server, f"epic won't let me log in on 4 West wow 12, MRN {MRN}, patient waiting")
    proxy.cut()

    clicked = http.post(
        f"{server.url}/api/feedback",
        json={
            "interaction_id": answered["interaction_id"],
            "helpful": False,
            "conversation": CONVERSATION,
            "user": USER,
        },
    )

    assert clicked.status_code == 200, clicked.text
    assert clicked.json()["escalation"] == "kept" and clicked.json()["reply"]["text"] == KEPT
    the_kept_file(settings)
    proxy.restore()
    assert_one_ticket_told_on_the_web(http, server, settings)


# -- Slack -------------------------------------------------------------------------------------------


def posted_text(call: Call) -> str:
    return str(call.body.get("text")) + str(call.body.get("blocks"))


def assert_one_ticket_told_in_slack(
    slack: FakeSlackApi, server: LiveServer, settings: Settings, channel: str
) -> None:
    before = len(slack.of("chat.postMessage"))
    run_workers_twice(settings, server)
    [ticket] = tickets(server)
    assert ticket.channel == "slack" and pending_files(settings) == []
    told = slack.wait_for("chat.postMessage", count=before + 1)[before:]
    assert [c for c in told if c.body.get("channel") == channel and ticket.number in posted_text(c)]


def test_slack_dm_talk_to_a_human_with_the_database_down_is_kept_then_opened_once(
    http: httpx.Client, server: LiveServer, settings: Settings, proxy: SwitchableProxy, slack: FakeSlackApi
) -> None:
    proxy.cut()

    post_event(http, server.url, event_body(dm(f"epic down for MRN {MRN}, talk to a human please")))

    [said] = slack.wait_for("chat.postMessage")
    assert "IT has your request" in posted_text(said) and "escalation failed" not in posted_text(said)
    the_kept_file(settings)
    proxy.restore()
    assert_one_ticket_told_in_slack(slack, server, settings, "DNURSE1")


def test_slack_dm_details_answered_after_the_database_died_are_kept_with_the_request(
    http: httpx.Client, server: LiveServer, settings: Settings, proxy: SwitchableProxy, slack: FakeSlackApi
) -> None:
    post_event(http, server.url, event_body(dm(UNANSWERABLE)))
    assert "which unit or room" in posted_text(slack.wait_for("chat.postMessage")[0])
    proxy.cut()

    post_event(http, server.url, event_body(dm(DETAILS)))

    said = slack.wait_for("chat.postMessage", count=2)[1]
    assert "IT has your request" in posted_text(said)
    assert "4 West room 12" in the_kept_file(settings)
    proxy.restore()
    assert_one_ticket_told_in_slack(slack, server, settings, "DNURSE1")


def test_slack_still_stuck_button_with_the_database_down_is_kept_then_opened_once(
    http: httpx.Client, server: LiveServer, settings: Settings, proxy: SwitchableProxy, slack: FakeSlackApi
) -> None:
    root = mention(f"epic keeps logging me out on 5 North wow 7, MRN {MRN}, patient waiting")
    post_event(http, server.url, event_body(root))
    answer = slack.wait_for("chat.postMessage")[0].body
    proxy.cut()

    post_interaction(http, server.url, block_action(answer, "itbot_stuck"))

    said = slack.wait_for("chat.postMessage", count=2)[1]
    assert said.body.get("thread_ts") == root["ts"] and "IT has your request" in posted_text(said)
    the_kept_file(settings)
    proxy.restore()
    assert_one_ticket_told_in_slack(slack, server, settings, str(root["channel"]))
