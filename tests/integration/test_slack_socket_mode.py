"""Socket Mode: the same handlers over a WebSocket (no public URL), against fake Slack endpoints."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlmodel import select

from bot.channels.slack.app import build_slack_app
from bot.channels.slack.socket_mode import serve_socket_mode
from bot.db import create_db_engine, init_db, session_factory
from bot.interactions.models import Interaction
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_socket import FakeSocketMode
from tests.slack_payloads import BOT_TOKEN, dm, event_body


def test_a_dm_over_socket_mode_is_acknowledged_on_the_socket_and_answered_once(tmp_path: Path) -> None:
    with FakeSocketMode() as socket, FakeSlackApi(socket_url="") as slack:
        slack.socket_url = socket.url
        settings = sqlite_settings(
            tmp_path, slack_bot_token=BOT_TOKEN, slack_app_token="xapp-test", slack_api_url=slack.api_url
        )
        engine = create_db_engine(settings)
        init_db(settings, engine=engine)
        sessions = session_factory(engine)
        runtime = build_slack_app(settings, assistant=FakeAssistant(), sessions=sessions)
        stop = threading.Event()
        worker = threading.Thread(target=serve_socket_mode, args=(settings, runtime, stop), daemon=True)
        worker.start()
        try:
            socket.wait_connected()
            body = event_body(dm("epic says my password is wrong"))
            first = socket.push(body)
            socket.wait_ack(first)
            second = socket.push(body)  # Slack redelivers when an ack is late
            socket.wait_ack(second)

            [posted] = slack.wait_for("chat.postMessage")
            assert posted.body["channel"] == "DNURSE1"
            assert "Caps Lock" in str(posted.body["blocks"])
            slack.settle()
            assert len(slack.of("chat.postMessage")) == 1
            with sessions() as session:
                assert len(session.exec(select(Interaction)).all()) == 1
        finally:
            stop.set()
            worker.join(timeout=10)
            engine.dispose()
