"""Print an outage from monitoring's alert to its resolution, as the fake Slack Web API recorded it
(not a test; a demo and the source of the transcript in the issue notes): an Alertmanager alert, the
draft in IT's triage channel, Confirm, a nurse asking and tapping "Tell me when it's fixed", the
alert resolving (the notice goes to monitoring and IT is offered Resolve), Resolve, the nurse told.

It serves the real app with uvicorn on a loopback port (the fake assistant: the outage answer comes
before the assistant is asked), posts to ``/api/alerts`` and signed events to ``/slack/events``, and
runs the outbox worker between steps.

    .venv/bin/python -m tests.alert_transcript [FILE]   (FILE: also write the transcript there)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bot.channels.slack.client import make_client
from bot.channels.slack.sender import SlackChatSender
from bot.main import create_app
from bot.tickets.worker import run_worker
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_api import Call, FakeSlackApi
from tests.live_server import serve
from tests.slack_payloads import (
    BOT_TOKEN,
    SIGNING_SECRET,
    block_action,
    event_body,
    mention,
    post_event,
    post_interaction,
)
from tests.slack_transcript import render, wait_quiet

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = "CITTRIAGE"
TOKEN = "transcript-token"


def alert(status: str) -> dict[str, Any]:
    """Alertmanager's webhook (version 4) for Epic's login latency."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="EpicLoginSlow"}',
        "status": status,
        "receiver": "itbot",
        "groupLabels": {"alertname": "EpicLoginSlow"},
        "commonLabels": {"alertname": "EpicLoginSlow", "system": "Epic", "severity": "warning"},
        "commonAnnotations": {
            "summary": "Epic logins slow on all units",
            "description": "Hyperspace login p95 above 8 s for 10 minutes.",
        },
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "EpicLoginSlow", "system": "Epic", "severity": "warning"},
                "annotations": {"summary": "Epic logins slow on all units"},
                "startsAt": "2026-12-04T09:12:00Z",
                "fingerprint": "5e1a0c",
            }
        ],
    }


def main() -> None:
    """Run the outage and print what Slack received."""
    with tempfile.TemporaryDirectory() as tmp, FakeSlackApi() as slack, httpx.Client(timeout=10) as http:
        settings = sqlite_settings(
            Path(tmp),
            kb=ROOT / "knowledge",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            slack_triage_channel=TRIAGE,
            tickets_api_token=TOKEN,
            public_url="https://itbot.hospital.example",
        )
        steps: list[tuple[int, str]] = []  # (calls recorded before it, what happened)

        def step(what: str) -> None:
            steps.append((len(slack.calls), what))
            print(what)

        with serve(create_app(settings, assistant=FakeAssistant())) as live:

            def post_alert(status: str) -> None:
                answered = http.post(
                    f"{live.url}/api/alerts", json=alert(status), headers={"Authorization": f"Bearer {TOKEN}"}
                )
                action = answered.json()["action"]
                step(f">>> Alertmanager: POST /api/alerts ({status}) -> {answered.status_code} {action}")

            def worker() -> None:
                before = len(slack.calls)
                step(">>> the outbox worker runs")
                if run_worker(settings, senders={"slack": SlackChatSender(make_client(settings))}, once=True):
                    wait_quiet(slack, before)

            def click(post: Call, action_id: str, user: str) -> None:
                posted = {**post.body, "ts": post.response["ts"]}
                step(f">>> {user} clicks {action_id}")
                before = len(slack.calls)
                post_interaction(
                    http, live.url, block_action(posted, action_id, user=user, message_ts=posted["ts"])
                )
                wait_quiet(slack, before)

            def last_to(channel: str) -> Call:
                return [c for c in slack.of("chat.postMessage") if c.body.get("channel") == channel][-1]

            post_alert("firing")
            post_alert("firing")  # Alertmanager repeats itself: still one draft
            worker()
            click(last_to(TRIAGE), "itbot_draft_confirm", "UAGENT")
            event = mention("is epic down? it won't let me log in", user="UNURSE1", channel="C4WEST")
            step(f">>> UNURSE1 in C4WEST: {event['text']}")
            before = len(slack.calls)
            post_event(http, live.url, event_body(event))
            wait_quiet(slack, before)
            click(last_to("C4WEST"), "itbot_notify", "UNURSE1")
            time.sleep(0.2)
            post_alert("resolved")
            worker()
            click(last_to(TRIAGE), "itbot_notice_resolve", "UAGENT")
            worker()
            lines: list[str] = []
            for index, call in enumerate([*slack.calls, None]):
                lines += (
                    ["", *(what for at, what in steps if at == index)]
                    if any(at == index for at, _ in steps)
                    else []
                )
                if call is not None and call.method not in ("auth.test", "users.info"):
                    lines.append(render(call))
        text = "\n".join(
            [
                "An outage from Alertmanager's alert to its resolution, as the fake Slack Web API",
                "recorded it (method -> channel, then the message's text and buttons; >>> what happened):",
                "",
                *lines,
                "",
                "(recorded by tests/fakes/slack_api.py; command: .venv/bin/python -m tests.alert_transcript)",
            ]
        )
        print("\n" + text)
        if len(sys.argv) > 1:
            Path(sys.argv[1]).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
