"""Escalation in Slack, end to end over real HTTP: the bot can't answer (or the person is still stuck,
or asks for a human), asks one follow-up, opens a ticket, posts it to IT's triage channel through the
outbox worker, relays an agent's reply to the requester's thread and back, and tells the requester
when it is resolved. The assistant is the deterministic fake (it escalates anything not about "epic"
or "print"); everything Slack sees is recorded by the fake Slack Web API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.channels.slack.client import make_client
from bot.channels.slack.sender import SlackChatSender
from bot.config import Settings
from bot.main import create_app
from bot.tickets.models import Ticket, TicketStatus
from bot.tickets.outbox_models import OutboxMessage
from bot.tickets.worker import run_worker
from tests.databases import postgres_settings, sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_api import Call, FakeSlackApi
from tests.live_server import LiveServer, serve
from tests.slack_payloads import (
    BOT_TOKEN,
    SIGNING_SECRET,
    block_action,
    channel_message,
    dm,
    event_body,
    mention,
    post_event,
    post_interaction,
)

TRIAGE = "CTRIAGE"


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, slack: FakeSlackApi) -> Iterator[Settings]:
    options: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "slack_triage_channel": TRIAGE,
        "public_url": "https://itbot.hospital.example",
    }
    if request.param == "sqlite":
        yield sqlite_settings(tmp_path, **options)
    else:
        with postgres_settings(tmp_path, **options) as pg:
            yield pg


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def deliver_outbox(settings: Settings) -> int:
    """Run the worker once with the Slack sender, as ``itbot worker`` would."""
    return run_worker(settings, senders={"slack": SlackChatSender(make_client(settings))}, once=True)


def tickets(server: LiveServer) -> list[Ticket]:
    with server.app.state.sessions() as session:
        return list(session.exec(select(Ticket)).all())


def blocks_text(call: Call) -> str:
    return str(call.body.get("blocks"))


def posts_to(slack: FakeSlackApi, channel: str) -> list[Call]:
    return [c for c in slack.of("chat.postMessage") if c.body.get("channel") == channel]


def test_an_unanswerable_dm_asks_one_follow_up_then_opens_a_ticket_with_its_number(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    post_event(http, server.url, event_body(dm("the badge reader on my wow beeps red")))
    asked = slack.wait_for("chat.postMessage")[0]
    assert "I couldn't find an article" in blocks_text(asked)
    assert "which unit or room" in blocks_text(asked)
    assert tickets(server) == []

    post_event(http, server.url, event_body(dm("4 West room 12, yes a patient is waiting")))

    opened = slack.wait_for("chat.postMessage", count=2)[1]
    [ticket] = tickets(server)
    assert ticket.number in blocks_text(opened)
    assert ticket.requester == "UNURSE1" and ticket.channel == "slack"
    assert ticket.location and "4 West" in ticket.location
    with server.app.state.sessions() as session:
        topics = sorted(m.topic for m in session.exec(select(OutboxMessage)).all())
    assert topics == ["chat.triage_opened", "ticket.created"]


def test_still_stuck_clicked_three_times_and_retried_by_slack_opens_one_ticket(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    root = mention("epic keeps logging me out on 5 North wow 7, patient waiting")
    post_event(http, server.url, event_body(root))
    answer = slack.wait_for("chat.postMessage")[0].body
    click = block_action(answer, "itbot_stuck")

    for _ in range(3):  # the same click delivered three times
        post_interaction(http, server.url, click)
    for _ in range(2):  # and two more clicks
        post_interaction(http, server.url, block_action(answer, "itbot_stuck"))
    slack.settle(quiet=0.5)

    assert len(tickets(server)) == 1
    replies = [c for c in slack.of("chat.postMessage") if c.body.get("thread_ts") == root["ts"]]
    assert [c for c in replies if tickets(server)[0].number in blocks_text(c)]


def test_talk_to_a_human_escalates_without_asking_the_bot(
    settings: Settings, slack: FakeSlackApi, http: httpx.Client
) -> None:
    assistant = FakeAssistant()
    with serve(create_app(settings, assistant=assistant)) as live:
        post_event(http, live.url, event_body(dm("can I talk to a human please")))

        asked = slack.wait_for("chat.postMessage")[0]
        assert "I'll pass this to IT" in blocks_text(asked)
        assert assistant.asked_texts == []


def test_a_ticket_goes_to_triage_and_replies_travel_both_ways_until_it_is_resolved(
    server: LiveServer, settings: Settings, slack: FakeSlackApi, http: httpx.Client
) -> None:
    post_event(http, server.url, event_body(dm("the badge reader on my wow beeps red")))
    slack.wait_for("chat.postMessage")
    post_event(http, server.url, event_body(dm("4 West room 12, WOW 7, no patient waiting")))
    slack.wait_for("chat.postMessage", count=2)
    [ticket] = tickets(server)

    deliver_outbox(settings)
    [triage_post] = posts_to(slack, TRIAGE)
    assert ticket.number in blocks_text(triage_post)
    buttons = [
        e["action_id"] for b in triage_post.body["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["itbot_ticket_take", "itbot_ticket_reply", "itbot_ticket_resolve"]
    assert not triage_post.body.get("thread_ts")  # the post starts the ticket's triage thread
    post_ts = triage_post.response["ts"]

    # An agent answers in the ticket's triage thread: it reaches the requester's DM.
    agent_message = channel_message(
        "Please dock the WOW and log off and on.", user="UAGENT", channel=TRIAGE, thread_ts=post_ts
    )
    post_event(http, server.url, event_body(agent_message))
    slack.wait_for("reactions.add", where=lambda c: c.body.get("channel") == TRIAGE)
    deliver_outbox(settings)
    to_requester = [c for c in posts_to(slack, "DNURSE1") if "dock the WOW" in blocks_text(c)]
    assert len(to_requester) == 1

    # The requester answers in their DM: it goes to the ticket (a reaction), not to the bot.
    post_event(http, server.url, event_body(dm("still beeps red after docking")))
    slack.wait_for("reactions.add", where=lambda c: c.body.get("channel") == "DNURSE1")
    deliver_outbox(settings)
    relayed = [c for c in posts_to(slack, TRIAGE) if "still beeps red" in blocks_text(c)]
    assert len(relayed) == 1 and relayed[0].body["thread_ts"] == post_ts

    # IT resolves it from the triage post: the requester is told.
    post_interaction(http, server.url, _triage_click(triage_post, post_ts, "itbot_ticket_resolve"))
    _wait_status(server, TicketStatus.RESOLVED)
    deliver_outbox(settings)
    told = [c for c in posts_to(slack, "DNURSE1") if "resolved" in blocks_text(c).lower()]
    assert len(told) == 1


def test_the_reply_button_opens_a_modal_whose_text_reaches_the_requester(
    server: LiveServer, settings: Settings, slack: FakeSlackApi, http: httpx.Client
) -> None:
    post_event(http, server.url, event_body(dm("talk to a human: the label printer on 3 East, ZD621")))
    slack.wait_for("chat.postMessage")
    post_event(http, server.url, event_body(dm("no patient waiting")))
    slack.wait_for("chat.postMessage", count=2)
    deliver_outbox(settings)
    [triage_post] = posts_to(slack, TRIAGE)
    post_ts = triage_post.response["ts"]

    post_interaction(http, server.url, _triage_click(triage_post, post_ts, "itbot_ticket_reply"))
    [opened] = slack.wait_for("views.open")
    view = opened.body["view"]
    submission = {
        "type": "view_submission",
        "team": {"id": "T0HOSPITAL"},
        "user": {"id": "UAGENT"},
        "trigger_id": "trig-view-1",
        "view": {
            **view,
            "id": "V1",
            "state": {
                "values": {"itbot_ticket_reply_text": {"itbot_ticket_reply_text": {"value": "On my way."}}}
            },
        },
    }
    response = post_interaction(http, server.url, submission)

    assert response.status_code == 200
    deliver_outbox(settings)
    assert [c for c in posts_to(slack, "DNURSE1") if "On my way." in blocks_text(c)]


def _triage_click(post: Call, post_ts: str, action_id: str) -> dict[str, Any]:
    posted = {**post.body, "ts": post_ts}
    return block_action(posted, action_id, user="UAGENT", message_ts=post_ts)


def _wait_status(server: LiveServer, status: TicketStatus, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while tickets(server)[0].status is not status:
        assert time.monotonic() < deadline, f"ticket never became {status}"
        time.sleep(0.02)


def test_a_ticket_takes_its_articles_from_answers_not_from_unpicked_choices(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    clarify_root = mention("printer trouble on 4 West, no patient waiting", channel="C4WEST")
    post_event(http, server.url, event_body(clarify_root))
    choices = slack.wait_for("chat.postMessage")[0].body
    post_interaction(http, server.url, block_action(choices, "itbot_stuck"))
    slack.wait_for("chat.postMessage", count=2)  # the follow-up question
    details = channel_message(
        "the HP printer by the nurses station", channel="C4WEST", thread_ts=clarify_root["ts"]
    )
    post_event(http, server.url, event_body(details))
    slack.wait_for("chat.postMessage", count=3)
    answer_root = mention("epic password trouble on 5 North, no patient waiting", channel="C5NORTH")
    post_event(http, server.url, event_body(answer_root))
    answer = slack.wait_for("chat.postMessage", where=lambda c: c.body.get("channel") == "C5NORTH")[0].body
    post_interaction(http, server.url, block_action(answer, "itbot_stuck"))
    slack.settle(quiet=0.5)

    by_channel = {t.reply_to.get("channel"): t for t in tickets(server)}
    assert by_channel["C4WEST"].articles == []
    assert by_channel["C5NORTH"].articles == ["ehr/epic-login-problems"]
