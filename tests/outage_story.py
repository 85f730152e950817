"""An outage from monitoring's alert to its resolution, over real HTTP with the fake Slack workspace
and the real worker (``itbot worker --once``): the source of the transcript in the issue notes, and
what ``tests/integration/test_outage_story.py`` checks step by step.

1. Alertmanager posts to ``/api/alerts``: a draft outage, posted to IT's triage channel (twice the
   same alert: still one draft).
2. An IT agent clicks "Confirm and post": the worker posts the notice to the channels routed for
   Epic (#all-staff and #ed; not #radiology, which takes PACS notices only).
3. A nurse asks the bot in her unit's channel "is epic down?": the outage answer, with "Tell me when
   it's fixed"; she taps it.
4. IT posts an update through the notices API: each post is edited in place and gets a thread line.
5. The alert resolves: the notice goes to monitoring (edit + thread line), and IT is offered
   "Resolve" in the triage thread.
6. IT clicks "Resolve": each post is edited to "Resolved" with a thread line, and the nurse is told
   in her thread.

    .venv/bin/python -m tests.outage_story FILE     (writes the transcript to FILE, and prints it)

It replaces the two earlier demos (``tests.alert_transcript``: alert to resolution without the
routed posts; ``tests.notice_transcript``: delivery without the alert and the nurse).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.channels.cli.main import cmd_worker
from bot.channels.slack.blocks import ACTION_NOTIFY
from bot.channels.slack.notice_blocks import ACTION_DRAFT_CONFIRM, ACTION_NOTICE_RESOLVE
from bot.config import Settings
from bot.main import create_app
from bot.notices.delivery_queries import save_route
from bot.notices.registry import ensure_seeded
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_api import Call
from tests.fakes.slack_workspace import FakeSlackWorkspace
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

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = "CITTRIAGE"
NURSE_CHANNEL = "C4WEST"
NURSE = "UNURSE1"
AGENT = "UAGENT"
API_TOKEN = "story-api-token"
PUBLIC_URL = "https://itbot.hospital.example"
# channel id -> (label, systems, sites) of the routes IT configured
ROUTES: dict[str, tuple[str, list[str], list[str]]] = {
    "CALL": ("#all-staff", [], []),
    "CED": ("#ed", [], ["ED"]),
    "CRAD": ("#radiology", ["PACS"], []),
}
LABELS = {TRIAGE: "#it-triage", NURSE_CHANNEL: "#4-west", **{c: r[0] for c, r in ROUTES.items()}}
HIDDEN = ("auth.test", "users.info", "conversations.history", "conversations.replies")


def alert(status: str) -> dict[str, Any]:
    """Alertmanager's webhook (version 4) for Epic's login latency."""
    labels = {"alertname": "EpicLoginSlow", "system": "Epic", "severity": "critical"}
    return {
        "version": "4",
        "groupKey": '{}:{alertname="EpicLoginSlow"}',
        "status": status,
        "receiver": "itbot",
        "groupLabels": {"alertname": "EpicLoginSlow"},
        "commonLabels": labels,
        "commonAnnotations": {
            "summary": "Epic logins failing on all units",
            "description": "Hyperspace login errors above 20% for 5 minutes.",
        },
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": "Epic logins failing on all units"},
                "startsAt": "2026-12-04T09:12:00Z",
                "fingerprint": "5e1a0c",
            }
        ],
    }


@dataclass
class Story:
    """What happened: the notice, the nurse's question, each step's first call, every call."""

    notice_id: int = 0
    nurse_ts: str = ""
    steps: list[tuple[int, str]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)

    def between(self, first: str, last: str | None = None) -> list[Call]:
        """The calls from the step whose text starts with ``first`` to the one with ``last``."""
        start = next(at for at, what in self.steps if what.startswith(first))
        end = next((at for at, what in self.steps if last and what.startswith(last)), len(self.calls))
        return self.calls[start:end]


def run_story(base: Settings, slack: FakeSlackWorkspace) -> Story:
    """Play the outage against a server on ``base``'s database and the fake ``slack``."""
    settings = base.model_copy(
        update={
            "kb": ROOT / "knowledge",
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "slack_triage_channel": TRIAGE,
            "tickets_api_token": API_TOKEN,
            "public_url": PUBLIC_URL,
            "notice_digest_times": "",
            "notice_timezone": "UTC",
        }
    )
    story = Story()
    auth = {"Authorization": f"Bearer {API_TOKEN}"}

    def step(what: str) -> None:
        story.steps.append((len(slack.calls), what))

    with serve(create_app(settings, assistant=FakeAssistant())) as live, httpx.Client(timeout=10) as http:
        with live.app.state.sessions() as session:
            ensure_seeded(session=session, kb=settings.kb)
            for target, (label, systems, sites) in ROUTES.items():
                save_route(
                    session=session,
                    channel="slack",
                    target=target,
                    label=label,
                    systems=systems,
                    sites=sites,
                    digest=False,
                )
            session.commit()

        def post_alert(status: str) -> None:
            answered = http.post(f"{live.url}/api/alerts", json=alert(status), headers=auth)
            body = answered.json()
            story.answers.setdefault(f"alert_{status}", []).append(body)
            step(f">>> Alertmanager: POST /api/alerts ({status}) -> {answered.status_code} {body['action']}")
            if body.get("notice"):
                story.notice_id = int(body["notice"]["id"])

        def worker() -> None:
            step(">>> the worker runs (itbot worker --once)")
            for _ in range(3):
                before = len(slack.calls)
                err = io.StringIO()
                if cmd_worker(settings, argparse.Namespace(once=True), io.StringIO(), err) != 0:
                    raise RuntimeError(f"the worker failed: {err.getvalue()}")
                if len(slack.calls) == before:
                    break

        def click(post: Call, action_id: str, user: str, label: str) -> None:
            posted = {**post.body, "ts": post.response["ts"]}
            step(f">>> {user} clicks {label}")
            before = len(slack.calls)
            answered = post_interaction(
                http, live.url, block_action(posted, action_id, user=user, message_ts=posted["ts"])
            )
            if answered.status_code != 200:
                raise RuntimeError(f"the click got {answered.status_code}")
            _wait_quiet(slack, before)

        def last_post(channel: str) -> Call:
            return [c for c in slack.of("chat.postMessage") if c.body.get("channel") == channel][-1]

        post_alert("firing")
        post_alert("firing")
        worker()
        click(last_post(TRIAGE), ACTION_DRAFT_CONFIRM, AGENT, "Confirm and post")
        worker()
        question = mention("is epic down? it won't let me log in", user=NURSE, channel=NURSE_CHANNEL)
        story.nurse_ts = str(question["ts"])
        step(f">>> {NURSE} in {NURSE_CHANNEL} (#4-west): {question['text']}")
        before = len(slack.calls)
        post_event(http, live.url, event_body(question))
        _wait_quiet(slack, before)
        click(last_post(NURSE_CHANNEL), ACTION_NOTIFY, NURSE, "Tell me when it's fixed")
        update = {
            "status": "identified",
            "body": "A failed login server; traffic moved to the standby. Use downtime forms meanwhile.",
            "next_update": "+30m",
            "author": "Dana (IT)",
        }
        answered = http.post(f"{live.url}/api/notices/{story.notice_id}/update", json=update, headers=auth)
        step(f">>> IT: POST /api/notices/{story.notice_id}/update (identified) -> {answered.status_code}")
        worker()
        post_alert("resolved")
        worker()
        click(last_post(TRIAGE), ACTION_NOTICE_RESOLVE, AGENT, "Resolve")
        worker()
        story.answers["final"] = http.get(f"{live.url}/api/notices/{story.notice_id}", headers=auth).json()
    story.calls = list(slack.calls)
    return story


def _wait_quiet(slack: FakeSlackWorkspace, before: int) -> None:
    """Wait for the bot's first call after ``before`` calls, then until it is quiet."""
    deadline = time.monotonic() + 15
    while len(slack.calls) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    slack.settle(quiet=0.4)


def render(call: Call) -> str:
    """One recorded call: method, channel, thread, and the text Slack shows."""
    body = call.body
    channel = str(body.get("channel", ""))
    where = f"{channel} ({LABELS.get(channel, '?')})" if channel else "(response_url)"
    thread = f" thread={body['thread_ts']}" if body.get("thread_ts") else ""
    ts = f" ts={body['ts']}" if call.method == "chat.update" else ""
    if call.method == "chat.postMessage":
        ts = f" -> ts={call.response.get('ts')}"
    lines = [f"[{call.method}] {where}{thread}{ts}"]
    for block in body.get("blocks") or []:
        if block.get("type") == "section":
            lines += ["    " + line for line in block["text"]["text"].splitlines()]
        elif block.get("type") == "actions":
            lines.append("    " + "  ".join(f"[{e['text']['text']}]" for e in block["elements"]))
        elif block.get("type") == "context":
            lines += ["    · " + e.get("text", "") for e in block["elements"]]
    if not body.get("blocks") and body.get("text"):
        lines += ["    " + line for line in str(body["text"]).splitlines()]
    return "\n".join(lines)


def transcript(story: Story) -> str:
    """The story as text: each step (>>>), then the calls it caused."""
    lines: list[str] = []
    for index, call in enumerate([*story.calls, None]):
        for at, what in story.steps:
            if at == index:
                lines += ["", what]
        if call is not None and call.method not in HIDDEN:
            lines.append(render(call))
    routes = ", ".join(
        f"{c} {label} (systems: {', '.join(s) or 'all'}; sites: {', '.join(t) or 'all'})"
        for c, (label, s, t) in ROUTES.items()
    )
    return "\n".join(
        [
            "An Epic outage from Alertmanager's alert to its resolution, as the fake Slack Web API recorded",
            "it: [method] channel, thread, then the text and buttons Slack shows; >>> what happened.",
            f"Routes: {routes}. Triage: {TRIAGE}. The nurse asks in {NURSE_CHANNEL}.",
            *lines,
            "",
            "(recorded by tests/fakes/slack_workspace.py;",
            " command: .venv/bin/python -m tests.outage_story outage_story.txt)",
        ]
    )


def main(argv: list[str]) -> int:
    """Play the story on SQLite in a temporary folder and write its transcript to ``argv[0]``."""
    if len(argv) != 1:
        print("usage: python -m tests.outage_story FILE", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as home, FakeSlackWorkspace() as slack:
        story = run_story(sqlite_settings(Path(home)), slack)
    text = transcript(story)
    Path(argv[0]).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
