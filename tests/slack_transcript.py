"""Print two Slack conversations as the fake Slack Web API recorded them (not a test; a demo and the
source of the transcripts in the issue notes):

1. a DM: a question, a follow-up in the same conversation, a clarify choice, "That fixed it";
2. an escalation from question to resolution: no article fits ("Still stuck"), the follow-up
   question, the ticket, its post in IT's triage channel, "Take it", an agent's reply, the
   requester's answer, "Resolve".

It indexes ``knowledge/`` with the real model into a temporary folder, serves the real app with
uvicorn on a loopback port, sends signed events to ``/slack/events``, and runs the outbox worker.

    HF_HUB_OFFLINE=1 .venv/bin/python -m tests.slack_transcript
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bot.channels.slack.client import make_client
from bot.channels.slack.sender import SlackChatSender
from bot.core.assistant import Assistant
from bot.main import create_app
from bot.tickets.worker import run_worker
from indexer.build import build_index
from indexer.encoder import load_encoder
from tests.databases import sqlite_settings
from tests.fakes.slack_api import Call, FakeSlackApi
from tests.live_server import serve
from tests.slack_payloads import (
    BOT_TOKEN,
    SIGNING_SECRET,
    block_action,
    channel_message,
    dm,
    event_body,
    post_event,
    post_interaction,
)

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = "CITTRIAGE"


def render(call: Call) -> str:
    """One recorded call as a few readable lines."""
    body = call.body
    where = body.get("channel", body.get("user_id", ""))
    thread = f" (thread {body['thread_ts']})" if body.get("thread_ts") else ""
    if call.method == "reactions.add":
        return f"[{call.method}] :{body.get('name')}: on {where} {body.get('timestamp')}"
    lines = [
        f"[{call.method}] → {where}{thread}"
        + (f"  ts={call.response.get('ts')}" if call.response.get("ts") else "")
    ]
    for block in body.get("blocks") or []:
        if block.get("type") == "section":
            lines += ["    " + line for line in block["text"]["text"].splitlines()]
        elif block.get("type") == "context":
            lines += ["    · " + e.get("text", "") for e in block["elements"]]
        elif block.get("type") == "actions":
            lines.append("    " + "  ".join(f"[{e['text']['text']}]" for e in block["elements"]))
    return "\n".join(lines)


def wait_quiet(slack: FakeSlackApi, before: int) -> None:
    """Wait for the bot's answer to what was just sent (a call after the first ``before``), then quiet."""
    deadline = time.monotonic() + 15
    while len(slack.calls) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    slack.settle(quiet=0.4)


def main() -> None:
    """Run both conversations and print what Slack received."""
    with tempfile.TemporaryDirectory() as tmp, FakeSlackApi() as slack, httpx.Client(timeout=10) as http:
        home = Path(tmp)
        settings = sqlite_settings(
            home,
            kb=ROOT / "knowledge",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            slack_triage_channel=TRIAGE,
            public_url="https://itbot.hospital.example",
        )
        encoder = load_encoder(
            settings.model, cache_dir=ROOT / "var" / "bench" / "models", max_tokens=settings.max_tokens
        )
        build_index(settings.kb, settings.index_root, encoder)
        with serve(create_app(settings, assistant=Assistant(settings, encoder=encoder))) as live:

            def say(event: dict[str, Any]) -> None:
                print(f"\n>>> {event['user']} in {event['channel']}: {event['text']}")
                before = len(slack.calls)
                post_event(http, live.url, event_body(event))
                wait_quiet(slack, before)

            def click(post: Call, action_id: str, user: str) -> None:
                posted = {**post.body, "ts": post.response["ts"]}
                print(f"\n>>> {user} clicks {action_id}")
                before = len(slack.calls)
                post_interaction(
                    http, live.url, block_action(posted, action_id, user=user, message_ts=posted["ts"])
                )
                wait_quiet(slack, before)

            def worker() -> None:
                before = len(slack.calls)
                if run_worker(settings, senders={"slack": SlackChatSender(make_client(settings))}, once=True):
                    wait_quiet(slack, before)

            start = 0
            print("=" * 100)
            print("1. A DM conversation")
            say(dm("epic keeps logging me out every few minutes", user="UNURSE1", channel="DNURSE1"))
            say(dm("what about on the wow?", user="UNURSE1", channel="DNURSE1"))
            say(dm("printer not printing", user="UNURSE1", channel="DNURSE1"))
            last = slack.of("chat.postMessage")[-1]
            choices = [
                e["action_id"] for b in last.body["blocks"] if b["type"] == "actions" for e in b["elements"]
            ]
            if choices and choices[0].startswith("itbot_choose_"):
                click(last, choices[0], "UNURSE1")
            answer = slack.of("chat.postMessage")[-1]
            if any(
                e["action_id"] == "itbot_fixed"
                for b in answer.body["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
            ):
                click(answer, "itbot_fixed", "UNURSE1")
            print()
            for call in slack.calls[start:]:
                if call.method != "auth.test":
                    print(render(call))
            start = len(slack.calls)

            print("\n" + "=" * 100)
            print("2. An escalation, from question to resolution")
            say(dm("the fax machine on 6 south keeps jamming", user="UCLERK2", channel="DCLERK2"))
            click(slack.of("chat.postMessage")[-1], "itbot_stuck", "UCLERK2")
            say(
                dm(
                    "6 South nurses station, Brother fax, no patient waiting",
                    user="UCLERK2",
                    channel="DCLERK2",
                )
            )
            worker()
            triage = next(c for c in slack.of("chat.postMessage") if c.body.get("channel") == TRIAGE)
            click(triage, "itbot_ticket_take", "UAGENT")
            worker()
            say(
                channel_message(
                    "Is the green light on the fax blinking?",
                    user="UAGENT",
                    channel=TRIAGE,
                    thread_ts=triage.response["ts"],
                )
            )
            worker()
            say(dm("yes it blinks green", user="UCLERK2", channel="DCLERK2"))
            worker()
            click(triage, "itbot_ticket_resolve", "UAGENT")
            worker()
            print()
            for call in slack.calls[start:]:
                if call.method not in ("auth.test", "users.info"):
                    print(render(call))
        print(
            "\n(transcript recorded by tests/fakes/slack_api.py; command: "
            "HF_HUB_OFFLINE=1 .venv/bin/python -m tests.slack_transcript)"
        )


if __name__ == "__main__":
    main()
