"""Slack over real HTTP: signed deliveries into ``/slack/events`` of a live server, replies recorded by
a fake Slack Web API. The assistant is the deterministic fake ("epic" answers, "print" clarifies)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.channels.slack.client import make_client
from bot.channels.slack.sender import SlackChatSender
from bot.config import Settings
from bot.conversations.models import Conversation, Delivery
from bot.interactions.models import Feedback, Interaction
from bot.main import create_app
from bot.tickets.outbox_models import OutboxMessage
from bot.tickets.worker import run_worker
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_api import BOT_ID, BOT_USER_ID, FakeSlackApi
from tests.live_server import LiveServer, serve
from tests.slack_payloads import (
    BOT_TOKEN,
    SIGNING_SECRET,
    block_action,
    channel_message,
    dm,
    encode_event,
    event_body,
    mention,
    next_ts,
    post_command,
    post_event,
    post_interaction,
    signed_headers,
    slash_command,
)


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    """The fake Slack Web API."""
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def slack_settings(tmp_path: Path, slack: FakeSlackApi) -> Settings:
    """Settings with Slack on, pointed at the fake."""
    return sqlite_settings(
        tmp_path,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        public_url="https://itbot.hospital.example",
    )


@pytest.fixture
def server(slack_settings: Settings) -> Iterator[LiveServer]:
    """The whole app with Slack on, served on a loopback port."""
    with serve(create_app(slack_settings, assistant=FakeAssistant())) as live:
        yield live


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def rows(server: LiveServer, model: type) -> list:  # type: ignore[type-arg]
    with server.app.state.sessions() as session:
        return list(session.exec(select(model)).all())


def test_a_direct_message_is_answered_with_the_steps_the_source_and_feedback_buttons(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    response = post_event(http, server.url, event_body(dm("epic says my password is wrong")))

    assert response.status_code == 200
    posted = slack.wait_for("chat.postMessage")[0].body
    assert posted["channel"] == "DNURSE1"
    assert "thread_ts" not in posted or posted["thread_ts"] is None
    text = str(posted["blocks"])
    assert "*Caps Lock*" in text
    assert "Source: <https://itbot.hospital.example/kb/ehr/epic-login-problems|Can't log in to Epic" in text
    buttons = [e["text"]["text"] for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["That fixed it", "Still stuck"]
    [interaction] = rows(server, Interaction)
    assert interaction.channel == "slack" and interaction.user_id == "UNURSE1"
    assert interaction.decision == "answer"


def test_a_mention_in_a_channel_is_answered_in_a_thread_on_that_message(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    event = mention("epic keeps logging me out")
    post_event(http, server.url, event_body(event))

    posted = slack.wait_for("chat.postMessage")[0].body
    assert posted["channel"] == "C4WEST"
    assert posted["thread_ts"] == event["ts"]


def test_a_follow_up_in_the_thread_is_answered_without_a_mention_and_carries_the_earlier_question(
    slack_settings: Settings, slack: FakeSlackApi, http: httpx.Client
) -> None:
    assistant = FakeAssistant()
    with serve(create_app(slack_settings, assistant=assistant)) as live:
        root = mention("epic keeps logging me out")
        post_event(http, live.url, event_body(root))
        slack.wait_for("chat.postMessage")
        follow_up = channel_message("what about on the wow?", thread_ts=root["ts"])
        post_event(http, live.url, event_body(follow_up))

        second = slack.wait_for("chat.postMessage", count=2)[1].body
        assert second["thread_ts"] == root["ts"]
        follow_up_question = assistant.questions[-1]
        assert follow_up_question.text == "what about on the wow?"
        first = follow_up_question.history[0]
        assert (first.role, first.text) == ("user", "epic keeps logging me out")
        assert follow_up_question.history[1].articles == ("ehr/epic-login-problems",)
        [conversation] = rows(live, Conversation)
        roles = [t["role"] for t in conversation.turns]
        assert roles[:4] == ["user", "bot", "user", "bot"]


def test_a_message_in_a_thread_the_bot_is_not_in_is_ignored(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    post_event(http, server.url, event_body(channel_message("epic is down?", thread_ts=next_ts())))
    post_event(http, server.url, event_body(channel_message("epic is down for everyone")))

    slack.settle()
    assert slack.of("chat.postMessage") == []


@pytest.mark.parametrize(
    "event",
    [
        dm("epic help", user=BOT_USER_ID),
        {**dm("epic help"), "bot_id": BOT_ID},
        {**dm("epic help"), "subtype": "message_changed"},
        {**dm("epic help"), "subtype": "channel_join"},
        {**dm("epic help"), "subtype": "bot_message", "user": "UOTHERBOT"},
        {**dm("epic help"), "subtype": "message_deleted"},
    ],
    ids=["self", "bot", "edit", "join", "bot-message", "delete"],
)
def test_bots_the_bot_itself_edits_and_joins_are_ignored(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client, event: dict[str, object]
) -> None:
    response = post_event(http, server.url, event_body(event))

    assert response.status_code == 200
    slack.settle()
    assert slack.of("chat.postMessage") == []


def test_a_mention_in_a_thread_the_bot_is_in_is_answered_once_although_slack_sends_two_events(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    root = mention("epic keeps logging me out")
    post_event(http, server.url, event_body(root))
    slack.wait_for("chat.postMessage")
    ts = next_ts()
    text = f"<@{BOT_USER_ID}> what about on the wow"
    post_event(http, server.url, event_body({**mention("x", ts=ts, thread_ts=root["ts"]), "text": text}))
    post_event(http, server.url, event_body(channel_message(text, ts=ts, thread_ts=root["ts"])))

    slack.settle()
    assert len(slack.of("chat.postMessage")) == 2


def test_the_same_event_delivered_three_times_is_answered_once(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    body = event_body(dm("epic says my password is wrong"))
    statuses = [
        post_event(http, server.url, body, **({"x-slack-retry-num": str(n)} if n else {})).status_code
        for n in range(3)
    ]

    assert statuses == [200, 200, 200]
    slack.wait_for("chat.postMessage")  # the answer comes after the ack; on a loaded machine, late
    slack.settle()
    assert len(slack.of("chat.postMessage")) == 1
    assert len(rows(server, Interaction)) == 1


def test_a_rate_limited_post_is_retried_after_retry_after_and_then_succeeds(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    post_event(http, server.url, event_body(dm("epic says my password is wrong")))

    attempts = slack.wait_for("chat.postMessage", count=2, timeout=15)
    assert attempts[1].at - attempts[0].at >= 1.0
    slack.settle()
    assert len(slack.of("chat.postMessage")) == 2


def test_a_post_that_keeps_failing_is_logged_with_ids_and_never_the_message(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client, all_logs: pytest.LogCaptureFixture
) -> None:
    slack.fail_next("chat.postMessage", status=500, error="internal_error", retry_after=None, times=10)
    post_event(http, server.url, event_body(dm("epic password for pt John Smith MRN 12345678")))

    slack.wait_for("chat.postMessage", count=3, timeout=15)
    deadline = time.monotonic() + 10
    while not any("slack_post_failed" in r.getMessage() for r in all_logs.records):
        assert time.monotonic() < deadline, "the failure was not logged"
        time.sleep(0.02)
    failure = next(r.getMessage() for r in all_logs.records if "slack_post_failed" in r.getMessage())
    assert "channel=DNURSE1" in failure and "interaction_id=" in failure
    everything = "\n".join(r.getMessage() for r in all_logs.records)
    for secret in ("John", "Smith", "12345678"):
        assert secret not in everything


def test_a_post_that_keeps_failing_is_delivered_by_the_worker_once_slack_is_back(
    server: LiveServer, slack_settings: Settings, slack: FakeSlackApi, http: httpx.Client
) -> None:
    slack.fail_next("chat.postMessage", status=500, error="internal_error", retry_after=None, times=3)
    post_event(http, server.url, event_body(dm("epic says my password is wrong")))
    slack.wait_for("chat.postMessage", count=3, timeout=15)
    deadline = time.monotonic() + 10
    while not rows(server, OutboxMessage):
        assert time.monotonic() < deadline, "the failed post was not queued"
        time.sleep(0.02)

    run_worker(slack_settings, senders={"slack": SlackChatSender(make_client(slack_settings))}, once=True)

    delivered = slack.of("chat.postMessage")[3]
    assert delivered.body["channel"] == "DNURSE1"
    assert "Caps Lock" in str(delivered.body["blocks"])


def test_that_fixed_it_records_the_feedback_and_replaces_the_buttons(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    post_event(http, server.url, event_body(dm("epic says my password is wrong")))
    posted = slack.wait_for("chat.postMessage")[0].body

    response = post_interaction(http, server.url, block_action(posted, "itbot_fixed"))

    assert response.status_code == 200
    update = slack.wait_for("chat.update")[0].body
    assert not [b for b in update["blocks"] if b["type"] == "actions"]
    assert "said this fixed it" in str(update["blocks"])
    deadline = time.monotonic() + 5
    while rows(server, Interaction)[0].feedback is not Feedback.HELPFUL:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_still_stuck_records_unhelpful_and_answers_in_the_thread(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    root = mention("epic keeps logging me out")
    post_event(http, server.url, event_body(root))
    posted = slack.wait_for("chat.postMessage")[0].body

    post_interaction(http, server.url, block_action(posted, "itbot_stuck"))

    follow = slack.wait_for("chat.postMessage", count=2)[1].body
    assert follow["thread_ts"] == root["ts"]
    assert rows(server, Interaction)[0].feedback is Feedback.UNHELPFUL


def test_a_clarify_choice_answers_from_that_article_in_the_thread(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    root = mention("the printer is not printing")
    post_event(http, server.url, event_body(root))
    posted = slack.wait_for("chat.postMessage")[0].body
    buttons = [e for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == [
        "Printer shows offline",
        "Label printer prints blank labels",
        "Still stuck",
    ]

    post_interaction(http, server.url, block_action(posted, buttons[1]["action_id"]))

    answer = slack.wait_for("chat.postMessage", count=2)[1].body
    assert answer["thread_ts"] == root["ts"]
    assert "Recalibrate the labels" in str(answer["blocks"])
    update = slack.wait_for("chat.update")[0].body
    assert "picked *Label printer prints blank labels*" in str(update["blocks"])


def test_the_slash_command_answers_only_the_person_who_asked(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    command = slash_command("epic password", response_url=slack.response_url())
    response = post_command(http, server.url, command)

    assert response.status_code == 200
    [reply] = slack.wait_for("response_url")
    assert reply.body["response_type"] == "ephemeral"
    assert "Caps Lock" in str(reply.body["blocks"])
    assert slack.of("chat.postMessage") == []


def test_opening_the_app_home_publishes_how_to_use_the_bot(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    post_event(http, server.url, event_body({"type": "app_home_opened", "user": "UNURSE1", "tab": "home"}))

    [publish] = slack.wait_for("views.publish")
    assert publish.body["user_id"] == "UNURSE1"
    assert "Please don't paste patient details" in str(publish.body["view"])


@pytest.mark.parametrize(
    "headers",
    [
        {"x-slack-signature": "v0=" + "0" * 64},
        {"x-slack-request-timestamp": str(int(time.time()) - 6 * 60)},
        {"x-slack-request-timestamp": "not-a-number"},
        {"x-slack-request-timestamp": ""},
        {"x-slack-signature": ""},
    ],
    ids=["forged", "old", "malformed-timestamp", "missing-timestamp", "missing-signature"],
)
def test_requests_that_are_not_from_slack_get_401_and_change_nothing(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client, headers: dict[str, str]
) -> None:
    body = encode_event(event_body(dm("epic says my password is wrong")))
    signed = signed_headers(body)
    if headers.get("x-slack-request-timestamp", "x").isdigit():
        stale = headers["x-slack-request-timestamp"]
        signed = signed_headers(body, timestamp=int(stale))
    else:
        signed.update(headers)
    signed = {k: v for k, v in signed.items() if v}

    response = http.post(f"{server.url}/slack/events", content=body, headers=signed)

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    slack.settle()
    assert slack.calls == []
    assert rows(server, Delivery) == [] and rows(server, Interaction) == []


def test_a_body_over_the_limit_is_refused(server: LiveServer, http: httpx.Client) -> None:
    body = b'{"type":"event_callback","x":"' + b"a" * 70_000 + b'"}'

    response = http.post(f"{server.url}/slack/events", content=body, headers=signed_headers(body))

    assert response.status_code == 413


def test_slack_events_is_404_when_slack_is_not_configured(tmp_path: Path, http: httpx.Client) -> None:
    with serve(create_app(sqlite_settings(tmp_path), assistant=FakeAssistant())) as live:
        body = encode_event(event_body(dm("epic")))
        response = http.post(f"{live.url}/slack/events", content=body, headers=signed_headers(body))

    assert response.status_code == 404


def test_a_choice_on_a_slash_command_answer_is_answered_only_to_that_person(
    server: LiveServer, slack: FakeSlackApi, http: httpx.Client
) -> None:
    post_command(
        http, server.url, slash_command("printer not printing", response_url=slack.response_url("cmd"))
    )
    [answer] = slack.wait_for("response_url")
    choose = next(
        e
        for b in answer.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "choose" in e["action_id"]
    )
    click = block_action({**answer.body, "channel": "C4WEST"}, choose["action_id"])
    click.pop("message")
    click["container"] = {"type": "message", "message_ts": "1", "channel_id": "C4WEST", "is_ephemeral": True}
    click["response_url"] = slack.response_url("click")

    post_interaction(http, server.url, click)

    replies = slack.wait_for("response_url", count=2)
    assert replies[1].body["response_type"] == "ephemeral"
    assert "Turn the printer off and on" in str(replies[1].body["blocks"])
    slack.settle()
    assert slack.of("chat.postMessage") == [] and slack.of("chat.update") == []
