""" "Got it" on an upgrade notice in Slack, over real HTTP: the worker posts the notice through the fake
Slack API, two people tap the button (one twice) in signed interactions to ``/slack/events``; the
tapped message shows the count, and IT sees it in ``itbot notice show --json``."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.channels.cli import notices as cli_notices
from bot.channels.cli.main import build_parser
from bot.channels.slack.notice_post_blocks import ACTION_NOTICE_ACK
from bot.channels.slack.notice_sender import SlackNoticeSender, make_notice_client
from bot.config import Settings
from bot.interactions.models import utcnow
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice
from bot.notices.delivery_queries import ack_counts, save_route
from bot.notices.dispatcher import NoticeDispatcher
from bot.notices.models import NoticeKind
from bot.notices.registry import ensure_seeded
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_workspace import FakeSlackWorkspace
from tests.live_server import LiveServer, serve
from tests.slack_payloads import BOT_TOKEN, SIGNING_SECRET, block_action, post_interaction

KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def slack() -> Iterator[FakeSlackWorkspace]:
    with FakeSlackWorkspace() as fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, slack: FakeSlackWorkspace) -> Settings:
    return sqlite_settings(
        tmp_path,
        kb=KB,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        notice_digest_times="",
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


def test_got_it_counts_each_person_once_on_the_message_and_for_it(
    server: LiveServer, slack: FakeSlackWorkspace, settings: Settings
) -> None:
    sessions = server.app.state.sessions
    with sessions() as session:
        ensure_seeded(session=session, kb=KB)
        save_route(
            session=session,
            channel="slack",
            target="CALL",
            label="#all-staff",
            systems=[],
            sites=[],
            digest=True,
        )
        notice = open_notice(
            session=session,
            new=NewNotice(
                kind=NoticeKind.UPGRADE,
                title="Epic upgrade Saturday",
                systems=["Epic"],
                starts_at=utcnow() + timedelta(days=3),
                ends_at=utcnow() + timedelta(days=3, hours=2),
                staff_changes="New login screen.",
            ),
            now=utcnow(),
        )
        session.commit()
        notice_id = notice.id
    assert notice_id is not None
    NoticeDispatcher(
        settings, open_session=sessions, senders={"slack": SlackNoticeSender(make_notice_client(settings))}
    ).run_once()
    posted_call = slack.wait_for("chat.postMessage")[0]
    posted = {**posted_call.body, "channel": "CALL"}
    ts = str(posted_call.response["ts"])

    with httpx.Client(timeout=10) as http:
        for user in ("UNURSE1", "UNURSE2", "UNURSE1"):
            answer = post_interaction(
                http, server.url, block_action(posted, ACTION_NOTICE_ACK, user=user, message_ts=ts)
            )
            assert answer.status_code == 200
    edits = slack.wait_for("chat.update", count=3)

    deadline = time.monotonic() + 5
    while True:
        with sessions() as session:
            counts = ack_counts(session=session, notice_ids=[notice_id])
        if counts.get(notice_id) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert counts == {notice_id: 2}
    assert all(e.body["ts"] == ts and e.body["channel"] == "CALL" for e in edits)
    assert "2 people got it" in str(edits[-1].body["blocks"])
    out = io.StringIO()
    args = build_parser().parse_args(["notice", "show", str(notice_id), "--json"])
    assert cli_notices.run(settings, args, out, io.StringIO()) == 0
    shown = json.loads(out.getvalue())
    assert shown["acknowledged"] == 2 and shown["posted_in"] == ["slack:CALL"]
