"""Print a personal Teams chat as the fake Bot Connector recorded it (not a test; a demo and the
source of the transcript in the issue notes): a question, "That fixed it", a question with choices
and a pick, then one no article answers: the follow-up question, the ticket, IT's reply (through
the tickets API) posted by the worker, the person's answer relayed, and the resolution.

It indexes ``knowledge/`` with the real model into a temporary folder, serves the real app with
uvicorn on a loopback port, posts signed activities to ``/api/messages``, and runs the outbox worker.

    HF_HUB_OFFLINE=1 .venv/bin/python -m tests.teams_transcript
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx

from bot.channels.teams.sender import TeamsChatSender
from bot.core.assistant import Assistant
from bot.main import create_app
from bot.tickets.worker import run_worker
from indexer.build import build_index
from indexer.encoder import load_encoder
from tests.databases import sqlite_settings
from tests.fakes.teams import ConnectorCall, FakeTeams
from tests.integration.test_teams_server import teams_options
from tests.live_server import serve
from tests.teams_payloads import button_data, click, personal, post_activity

ROOT = Path(__file__).resolve().parents[1]
API_TOKEN = "transcript-token"


def show(call: ConnectorCall) -> None:
    where = {"reply": "replies", "send": "posts (proactive)", "update": "updates its card"}[call.verb]
    print(f"<<< itbot {where}:")
    for line in call.card_text.splitlines():
        print(f"    {line}")
    if call.buttons:
        print(f"    [{'] ['.join(call.buttons)}]")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeTeams() as teams, httpx.Client(timeout=10) as http:
        settings = sqlite_settings(
            Path(tmp), kb=ROOT / "knowledge", tickets_api_token=API_TOKEN, **teams_options(teams)
        )
        encoder = load_encoder(
            settings.model, cache_dir=ROOT / "var" / "bench" / "models", max_tokens=settings.max_tokens
        )
        build_index(settings.kb, settings.index_root, encoder)
        with serve(create_app(settings, assistant=Assistant(settings, encoder=encoder))) as live:

            def expect(before: int, count: int) -> list[ConnectorCall]:
                calls = teams.wait_for(count=before + count, timeout=30)[before:]
                teams.settle(quiet=0.5)
                for call in teams.of()[before:]:
                    show(call)
                return calls

            def say(text: str) -> tuple[dict[str, Any], list[ConnectorCall]]:
                activity = personal(teams, text)
                print(f"\n>>> nurse: {text}")
                before = len(teams.of())
                post_activity(http, live.url, teams, activity)
                return activity, expect(before, 1)

            def press(
                activity: dict[str, Any], card: ConnectorCall, title: str, count: int = 1
            ) -> list[ConnectorCall]:
                print(f"\n>>> nurse clicks [{title}]")
                before = len(teams.of())
                post_activity(
                    http, live.url, teams, click(teams, card, button_data(card, title), like=activity)
                )
                return expect(before, count)

            def worker() -> None:
                before = len(teams.of())
                run_worker(settings, senders={"teams": TeamsChatSender.from_settings(settings)}, once=True)
                teams.settle(quiet=0.5)
                for call in teams.of()[before:]:
                    show(call)

            def it(path: str, body: dict[str, str], what: str) -> None:
                print(f"\n>>> IT ({what})")
                headers = {"Authorization": f"Bearer {API_TOKEN}"}
                http.post(f"{live.url}/api/tickets/{path}", json=body, headers=headers).raise_for_status()
                worker()

            asked, [answer] = say("epic keeps logging me out")
            if "That fixed it" not in answer.buttons:  # a choice first: pick the first article
                answer = next(
                    c for c in press(asked, answer, answer.buttons[0], count=2) if c.verb == "reply"
                )
            press(asked, answer, "That fixed it")
            asked, [reply] = say("the badge tap-in on the wow beeps red and won't let me in")
            if "Still stuck" in reply.buttons:
                press(asked, reply, "Still stuck", count=2)
            say("4 West room 12, WOW 7, no patient waiting")
            with live.app.state.sessions() as session:
                from sqlmodel import select

                from bot.tickets.models import Ticket

                [ticket] = session.exec(select(Ticket)).all()
            it(
                f"{ticket.number}/reply",
                {"text": "Please dock the WOW and log off and on.", "agent": "sam"},
                "replies",
            )
            say("still beeps red after docking")
            it(f"{ticket.number}/resolve", {"agent": "sam", "note": "Badge reader replaced."}, "resolves")


if __name__ == "__main__":
    main()
