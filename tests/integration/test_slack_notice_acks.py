""" "Got it" on an upgrade notice in Slack, over real HTTP: the worker posts the notice through the fake
Slack API, two people tap the button (one twice) in signed interactions to ``/slack/events``; the
tapped message shows the count, and IT sees it in ``itbot notice show --json`` and the notices API.
Every other post of the notice (and its reminders) shows the new count after one coalesced edit a
channel, however many taps came (SQLite and PostgreSQL)."""

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
from bot.notices.delivery_models import DispatchKind, DispatchStatus
from bot.notices.delivery_queries import ack_counts, list_dispatch, save_route
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


API_TOKEN = "acks-api-token"
CHANNELS = ("CALL", "CED", "C4W")


def test_after_many_taps_every_post_and_reminder_shows_the_count_after_one_edit_a_channel(
    db_settings: Settings, slack: FakeSlackWorkspace
) -> None:
    settings = db_settings.model_copy(
        update={
            "kb": KB,
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "notice_digest_times": "",
            "notice_reminders": "1h",
            "tickets_api_token": API_TOKEN,
        }
    )
    with serve(create_app(settings, assistant=FakeAssistant())) as server:
        sessions = server.app.state.sessions
        now = utcnow()
        with sessions() as session:
            ensure_seeded(session=session, kb=KB)
            for target in CHANNELS:
                save_route(
                    session=session,
                    channel="slack",
                    target=target,
                    label=target,
                    systems=[],
                    sites=[],
                    digest=False,
                )
            notice = open_notice(
                session=session,
                new=NewNotice(
                    kind=NoticeKind.UPGRADE,
                    title="Epic upgrade tonight",
                    systems=["Epic"],
                    starts_at=now + timedelta(minutes=61),
                    ends_at=now + timedelta(hours=3),
                ),
                now=now,
            )
            session.commit()
            notice_id = notice.id
        assert notice_id is not None
        # The worker's clock runs two minutes ahead: the 1h reminder is due, and so is each refresh.
        worker = NoticeDispatcher(
            settings,
            open_session=sessions,
            senders={"slack": SlackNoticeSender(make_notice_client(settings))},
            clock=lambda: utcnow() + timedelta(minutes=2),
        )
        while worker.run_once():
            pass
        posts = {c.body["channel"]: str(c.response["ts"]) for c in slack.of("chat.postMessage")[:3]}
        reminders = {c.body["channel"]: str(c.response["ts"]) for c in slack.of("chat.postMessage")[3:]}
        assert set(posts) == set(reminders) == set(CHANNELS)
        first = slack.of("chat.postMessage")[0].body
        tapped = {"channel": "CALL", "text": first["text"], "blocks": first["blocks"]}

        with httpx.Client(timeout=10) as http:
            for n in range(30):
                answer = post_interaction(
                    http,
                    server.url,
                    block_action(tapped, ACTION_NOTICE_ACK, user=f"UNURSE{n}", message_ts=posts["CALL"]),
                )
                assert answer.status_code == 200
        slack.wait_for("chat.update", count=30)
        deadline = time.monotonic() + 10
        while True:
            with sessions() as session:
                count = ack_counts(session=session, notice_ids=[notice_id]).get(notice_id)
                refreshes = [
                    r
                    for r in list_dispatch(
                        session=session, notice_id=notice_id, status=DispatchStatus.PENDING
                    )
                    if r.kind is DispatchKind.REFRESH
                ]
            if count == 30 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert count == 30
        assert sorted(r.target for r in refreshes) == sorted(CHANNELS)

        before = len(slack.calls)
        while worker.run_once():
            pass

        edits = [c.body for c in slack.calls[before:] if c.method == "chat.update"]
        assert sorted((e["channel"], e["ts"]) for e in edits) == sorted(
            [(ch, posts[ch]) for ch in CHANNELS] + [(ch, reminders[ch]) for ch in CHANNELS]
        )
        assert all("30 people got it" in str(e["blocks"]) for e in edits)
        shown = httpx.get(
            f"{server.url}/api/notices/{notice_id}",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            timeout=10,
        ).json()
        listed = httpx.get(
            f"{server.url}/api/notices", headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10
        ).json()
        assert shown["acknowledged"] == 30
        assert sorted(shown["posted_in"]) == sorted(f"slack:{ch}" for ch in CHANNELS)
        assert (
            listed["data"][0]["acknowledged"] == 30 and listed["data"][0]["posted_in"] == shown["posted_in"]
        )

        # One more tap after the refreshes queues one more edit a channel, not one a tap.
        with httpx.Client(timeout=10) as http:
            post_interaction(
                http,
                server.url,
                block_action(tapped, ACTION_NOTICE_ACK, user="ULATE", message_ts=posts["CALL"]),
            )
        slack.wait_for("chat.update", count=30 + len(edits) + 1)
        time.sleep(0.2)
        before = len(slack.calls)
        while worker.run_once():
            pass
        later = [c.body for c in slack.calls[before:] if c.method == "chat.update"]
        assert len(later) == 6 and all("31 people got it" in str(e["blocks"]) for e in later)
