"""Monitoring's alerts over real HTTP (``POST /api/alerts``), on SQLite and PostgreSQL, with the fake
Slack Web API: an alert keeps a draft outage nobody is told about; the triage channel gets it with
Confirm / Discard; Confirm makes it the notice ``itbot ask --json`` answers with; Discard ends it
unseen; the same alert again is still one draft; Alertmanager's webhook works the same; a resolved
alert asks IT instead of resolving anything; bad input is refused with a sentence and writes nothing."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

import bot.core.assistant
import indexer.encoder
from bot.channels.cli.main import EXIT_OK, main
from bot.channels.slack.client import make_client
from bot.channels.slack.notice_blocks import ACTION_DRAFT_CONFIRM, ACTION_DRAFT_DISCARD, ACTION_NOTICE_RESOLVE
from bot.channels.slack.sender import SlackChatSender
from bot.config import Settings
from bot.core.models import Question
from bot.main import create_app
from bot.notices.answers import ActiveNoticesCache, outage_reply
from bot.notices.models import Notice
from bot.tickets.worker import run_worker
from indexer.encoder import HashingEncoder
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_api import Call, FakeSlackApi
from tests.live_server import LiveServer, serve
from tests.slack_payloads import BOT_TOKEN, SIGNING_SECRET, block_action, post_interaction
from tests.tiny_kb import write_tiny_kb

KB = Path(__file__).resolve().parents[2] / "knowledge"
TOKEN = "alerts-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TRIAGE = "CITTRIAGE"
EPIC_ALERT = {
    "system": "Epic",
    "summary": "Epic login p95 above 8 s",
    "status": "firing",
    "severity": "critical",
    "source": "zabbix",
    "fingerprint": "epic-login-p95",
    "description": "Hyperspace logins slow on every unit.",
}


def alertmanager(status: str = "firing") -> dict[str, Any]:
    """An Alertmanager webhook (version 4) for a group of two Citrix alerts."""
    labels = {"alertname": "CitrixStoreFrontDown", "system": "Citrix", "severity": "critical"}
    alert: dict[str, Any] = {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "Citrix StoreFront not answering", "description": "Probe failed."},
        "startsAt": "2026-12-04T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "a1b2c3",
    }
    second = {**alert, "labels": {**labels, "instance": "sf2"}, "fingerprint": "d4e5f6"}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="CitrixStoreFrontDown"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "itbot",
        "groupLabels": {"alertname": "CitrixStoreFrontDown"},
        "commonLabels": {"alertname": "CitrixStoreFrontDown", "system": "Citrix"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert, second],
    }


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def settings(db_settings: Settings, slack: FakeSlackApi) -> Settings:
    return db_settings.model_copy(
        update={
            "kb": KB,
            "tickets_api_token": TOKEN,
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "slack_triage_channel": TRIAGE,
        }
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


def send(server: LiveServer, body: Any, *, raw: bytes | None = None, auth: bool = True) -> httpx.Response:
    headers = {"content-type": "application/json", **(AUTH if auth else {})}
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(f"{server.url}/api/alerts", content=content, headers=headers, timeout=10)


def notices(server: LiveServer) -> list[Notice]:
    with server.app.state.sessions() as session:
        return list(session.exec(select(Notice).order_by(Notice.id)))  # type: ignore[arg-type]


def deliver(settings: Settings) -> None:
    """One pass of the outbox worker: what was queued for Slack is posted to the fake."""
    run_worker(settings, senders={"slack": SlackChatSender(make_client(settings))}, once=True)


def triage_post(slack: FakeSlackApi, count: int = 1) -> Call:
    return slack.wait_for("chat.postMessage", count=count, where=lambda c: c.body.get("channel") == TRIAGE)[
        -1
    ]


def click(server: LiveServer, post: Call, action_id: str) -> None:
    posted = {**post.body, "ts": post.response["ts"]}
    payload = block_action(posted, action_id, user="UAGENT", message_ts=posted["ts"])
    with httpx.Client(timeout=10) as http:
        assert post_interaction(http, server.url, payload).status_code == 200


def answers_outage(server: LiveServer, text: str) -> bool:
    with server.app.state.sessions() as session:
        reply = outage_reply(session, Question(text=text, channel="web"), kb=KB, cache=ActiveNoticesCache())
    return reply is not None


def test_an_alert_keeps_a_draft_that_nobody_is_told_about(server: LiveServer, slack: FakeSlackApi) -> None:
    created = send(server, EPIC_ALERT)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["action"] == "created"
    assert body["notice"]["status"] == "draft" and body["notice"]["systems"] == ["Epic"]
    assert body["notice"]["impact"] == "down" and body["notice"]["alert_source"] == "zabbix"
    assert not answers_outage(server, "is epic down?")
    board = httpx.get(f"{server.url}/api/status", timeout=10).json()
    assert board["active"] == [] and board["recent"] == []
    assert all(s["state"] == "operational" for s in board["systems"])
    slack.settle(quiet=0.2)
    assert slack.of("chat.postMessage") == []  # the worker posts it, to IT only


def test_the_same_alert_again_is_still_one_draft(server: LiveServer) -> None:
    first = send(server, EPIC_ALERT)
    again = [send(server, EPIC_ALERT) for _ in range(3)]

    assert first.status_code == 201
    assert [r.status_code for r in again] == [200, 200, 200]
    assert {r.json()["action"] for r in again} == {"unchanged"}
    assert len(notices(server)) == 1


def test_confirm_in_the_triage_channel_makes_it_the_notice_itbot_ask_answers_with(
    server: LiveServer,
    slack: FakeSlackApi,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    notice_id = send(server, EPIC_ALERT).json()["notice"]["id"]
    deliver(settings)
    post = triage_post(slack)
    assert (
        "Draft outage from zabbix" in str(post.body["blocks"]) and "Nobody has been told" in post.body["text"]
    )
    buttons = [
        e["text"]["text"] for b in post.body["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["Confirm and post", "Discard"]

    click(server, post, ACTION_DRAFT_CONFIRM)

    updated = slack.wait_for("chat.update")[0].body
    assert updated["channel"] == TRIAGE and updated["ts"] == post.response["ts"]
    assert "confirmed notice" in str(updated["blocks"]) and "actions" not in str(updated["blocks"])
    [notice] = notices(server)
    assert notice.status.value == "investigating" and notice.id == notice_id
    assert answers_outage(server, "is epic down?")
    # The contract: `itbot ask --json` on the same database answers with the confirmed notice.
    cli_on(settings, tmp_path, monkeypatch)
    monkeypatch.setattr(sys, "stdin", io.StringIO("is epic down?\nprinter jam on 4 west\n"))
    assert main(["ask", "--json", "-"]) == EXIT_OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert lines[0]["decision"] == "outage" and lines[0]["notice"]["id"] == notice_id
    assert lines[1]["decision"] != "outage"


def test_a_second_confirm_is_told_to_the_clicker_and_changes_nothing(
    server: LiveServer, slack: FakeSlackApi, settings: Settings
) -> None:
    send(server, EPIC_ALERT)
    deliver(settings)
    post = triage_post(slack)
    click(server, post, ACTION_DRAFT_CONFIRM)
    slack.wait_for("chat.update")

    click(server, post, ACTION_DRAFT_CONFIRM)

    told = slack.wait_for("chat.postEphemeral")[0].body
    assert told["user"] == "UAGENT" and "already investigating" in told["text"]
    assert len(slack.of("chat.update")) == 1


def test_discard_ends_the_draft_unseen(server: LiveServer, slack: FakeSlackApi, settings: Settings) -> None:
    send(server, EPIC_ALERT)
    deliver(settings)

    click(server, triage_post(slack), ACTION_DRAFT_DISCARD)

    assert "discarded the draft" in str(slack.wait_for("chat.update")[0].body["blocks"])
    [notice] = notices(server)
    assert notice.status.value == "discarded" and notice.alert_key is None
    assert not answers_outage(server, "is epic down?")
    assert httpx.get(f"{server.url}/api/status", timeout=10).json()["recent"] == []
    # The same alert firing later is a new draft, not the discarded one.
    assert send(server, EPIC_ALERT).json()["action"] == "created"
    assert len(notices(server)) == 2


def test_an_alertmanager_group_is_one_draft_and_its_resolve_asks_it_to_resolve(
    server: LiveServer, slack: FakeSlackApi, settings: Settings
) -> None:
    created = send(server, alertmanager())
    assert created.status_code == 201, created.text
    notice = created.json()["notice"]
    assert notice["systems"] == ["Citrix Workspace"] and notice["alert_source"] == "alertmanager"
    assert notice["title"] == "Citrix StoreFront not answering (+1 more)"
    assert send(server, alertmanager()).json()["action"] == "unchanged"
    deliver(settings)
    draft_post = triage_post(slack)
    click(server, draft_post, ACTION_DRAFT_CONFIRM)
    slack.wait_for("chat.update")

    recovered = send(server, alertmanager("resolved"))

    assert recovered.status_code == 200 and recovered.json()["action"] == "monitoring"
    [row] = notices(server)
    assert row.status.value == "monitoring" and row.closed_at is None  # not silently resolved
    deliver(settings)
    line = triage_post(slack, count=2)
    assert line.body.get("thread_ts") == draft_post.response["ts"]
    assert "recovered" in line.body["text"]
    click(server, line, ACTION_NOTICE_RESOLVE)
    assert "resolved notice" in str(slack.wait_for("chat.update", count=2)[1].body["blocks"])
    assert notices(server)[0].status.value == "resolved"


def test_a_draft_whose_alert_resolves_stays_a_draft_and_asks_to_discard(
    server: LiveServer, slack: FakeSlackApi, settings: Settings
) -> None:
    send(server, EPIC_ALERT)
    deliver(settings)

    recovered = send(server, {**EPIC_ALERT, "status": "resolved"})

    assert recovered.json()["action"] == "recovered"
    assert notices(server)[0].status.value == "draft"
    deliver(settings)
    line = triage_post(slack, count=2)
    buttons = [
        e["text"]["text"] for b in line.body["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "recovered" in line.body["text"] and buttons == ["Discard"]
    assert send(server, {**EPIC_ALERT, "status": "resolved"}).json()["action"] == "unchanged"
    assert send(server, {**EPIC_ALERT, "status": "firing"}).json()["action"] == "updated"


@pytest.mark.parametrize(
    ("raw", "status", "error", "says"),
    [
        (b"system=Epic&summary=slow", 400, "invalid_json", "not JSON"),
        (b'{"summary": "slow"}', 422, "invalid_alert", "lacks system"),
        (b'{"system": "Epic"}', 422, "invalid_alert", "lacks summary"),
        (b'{"system": "Epic", "summary": "x", "status": "maybe"}', 422, "invalid_alert", "firing"),
        (b'{"system": "Epicc", "summary": "slow"}', 422, "unknown_system", "Did you mean 'Epic'?"),
        (b'{"groupKey": "g", "alerts": []}', 422, "invalid_alert", "non-empty"),
        (b'{"groupKey": "g", "alerts": [{"labels": {}}]}', 422, "invalid_alert", '"system" label'),
        (b"[1, 2]", 422, "invalid_alert", "JSON object"),
    ],
)
def test_bad_alerts_are_refused_with_a_sentence_and_write_nothing(
    server: LiveServer, raw: bytes, status: int, error: str, says: str
) -> None:
    answered = send(server, None, raw=raw)

    assert answered.status_code == status
    assert answered.json()["error"] == error and says in answered.json()["message"]
    assert notices(server) == []


def test_without_the_token_alerts_are_401(server: LiveServer) -> None:
    assert send(server, EPIC_ALERT, auth=False).status_code == 401
    assert notices(server) == []


def cli_on(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``itbot`` on the server's database, with a tiny indexed knowledge folder and the hashing encoder."""
    for name in list(os.environ):
        if name.startswith(("ITBOT_", "SLACK_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    kb = write_tiny_kb(tmp_path / "tiny-kb")
    monkeypatch.setenv("ITBOT_HOME", str(tmp_path / "cli-home"))
    monkeypatch.setenv("ITBOT_KB", str(kb))
    monkeypatch.setenv("DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("ITBOT_MODEL", "all-MiniLM-L6-v2")
    monkeypatch.setattr(indexer.encoder, "load_encoder", lambda *_a, **_k: HashingEncoder())
    monkeypatch.setattr(bot.core.assistant, "load_encoder", lambda *_a, **_k: HashingEncoder())
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert main(["index"]) == EXIT_OK
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
