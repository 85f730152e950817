"""An outage notice in Slack, over real HTTP with the fake Slack Web API: "is epic down?" gets the
notice with a "Tell me when it's fixed" button; clicking it subscribes the person, and resolving
the notice tells them in their thread through the outbox worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.channels.slack.blocks import ACTION_NOTIFY
from bot.channels.slack.client import make_client
from bot.channels.slack.sender import SlackChatSender
from bot.config import Settings
from bot.interactions.models import utcnow
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice, resolve_notice
from bot.notices.models import NoticeKind, NoticeSubscriber
from bot.notices.registry import ensure_seeded
from bot.tickets.worker import run_worker
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_api import FakeSlackApi
from tests.live_server import LiveServer, serve
from tests.slack_payloads import (
    BOT_TOKEN,
    SIGNING_SECRET,
    block_action,
    event_body,
    mention,
    post_event,
    post_interaction,
)

KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def slack_settings(tmp_path: Path, slack: FakeSlackApi) -> Settings:
    return sqlite_settings(
        tmp_path,
        kb=KB,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
    )


@pytest.fixture
def server(slack_settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(slack_settings, assistant=FakeAssistant())) as live:
        yield live


def test_the_notify_button_subscribes_and_resolving_tells_the_thread(
    server: LiveServer, slack: FakeSlackApi, slack_settings: Settings
) -> None:
    with server.app.state.sessions() as session:
        ensure_seeded(session=session, kb=KB)
        notice = open_notice(
            session=session,
            new=NewNotice(kind=NoticeKind.OUTAGE, title="Epic is slow on all units", systems=["Epic"]),
            now=utcnow(),
        )
        session.commit()
        notice_id = notice.id
    assert notice_id is not None
    root = mention("is epic down?")

    with httpx.Client(timeout=10) as http:
        post_event(http, server.url, event_body(root))
        posted = slack.wait_for("chat.postMessage")[0].body
        assert "Known issue" in str(posted["blocks"]) and "Tell me when it's fixed" in str(posted["blocks"])
        clicked = post_interaction(http, server.url, block_action(posted, ACTION_NOTIFY))

    assert clicked.status_code == 200
    assert "will be told here" in str(slack.wait_for("chat.update")[0].body["blocks"])
    deadline = time.monotonic() + 5
    while True:
        with server.app.state.sessions() as session:
            subscribers = list(session.exec(select(NoticeSubscriber)))
        if subscribers or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert [(s.notice_id, s.user, s.reply_to["thread_ts"]) for s in subscribers] == [
        (notice_id, "UNURSE1", root["ts"])
    ]

    with server.app.state.sessions() as session:
        resolve_notice(session=session, notice_id=notice_id, now=utcnow(), body="Back to normal.")
        session.commit()
    run_worker(slack_settings, senders={"slack": SlackChatSender(make_client(slack_settings))}, once=True)

    told = slack.wait_for("chat.postMessage", count=2)[1].body
    assert told["channel"] == root["channel"] and told["thread_ts"] == root["ts"]
    assert "Fixed" in str(told["blocks"]) and "Back to normal." in str(told["blocks"])
