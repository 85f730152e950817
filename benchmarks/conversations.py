"""Scripted multi-turn conversations with the whole bot, in the web chat and in Slack.

Each conversation of ``benchmarks/conversations/<split>.jsonl`` is a list of turns (something said,
or a click on "That fixed it" / "Still stuck") with what the bot must do at each turn, and the
ticket the conversation must end with (or none). A conversation is *right* when every turn and the
ticket are as expected. It runs twice, on the shipped knowledge base with the real model:

* **web**: over HTTP against the app (``POST /api/ask`` and ``/api/feedback`` with a conversation id,
  as the web chat sends them);
* **slack**: through ``ConversationFlow`` as the Slack adapter calls it (channel ``slack``, one
  thread per conversation; "Still stuck" is ``on_stuck``).

Turn outcomes (``expect``, any of a list): ``answer``, ``clarify``, ``not_fixed``, ``ask_details``,
``ticket``, ``relayed``, ``withdrawn``, ``not_it``, ``small_talk``, ``resolved``, ``escalate``;
``cites`` / ``not_cites``: a prefix the first article must (not) have; ``aside``: ``set_aside`` or
``ticket_open`` when the answer was given beside a pending or open ticket; ``says``: words the reply
must contain (case-insensitive). The ticket: ``summary_has`` / ``summary_lacks`` (words),
``location`` (exactly), ``patient_waiting`` (true, false or null for "not said"), ``reason``.

Tune on ``--split dev`` (it also runs in CI: tests/integration/test_conversation_set.py); report
``--split test`` only. ``test2`` is a fresh half of 44 conversations, written blind on 2026-12-03
from the articles, the README and this loader alone (without seeing the bot's code or the other
halves' conversations): everyday answers, clarify then a choice, still stuck then a ticket, a new
question after an answer, requests for a person (also in Spanish), withdrawing while details are
awaited, small talk and new questions beside a pending or open ticket, news about the ticket,
not-IT and Spanish questions, and patient details in the messages. Run it only to report, never to tune.

    .venv/bin/python benchmarks/conversations.py --split dev|test|test2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel import SQLModel, select  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.conversations.flow import ConversationFlow, Outcome  # noqa: E402
from bot.core.assistant import Assistant  # noqa: E402
from bot.db import SessionFactory  # noqa: E402
from bot.main import create_app  # noqa: E402
from bot.tickets.models import Ticket  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.encoder import load_encoder  # noqa: E402

SETS = ROOT / "benchmarks" / "conversations"
CHANNELS = ("web", "slack")
_TICKET_STEPS = {"opened": "ticket", "joined": "ticket", "already_open": "ticket"}


def load_conversations(split: str) -> list[dict[str, Any]]:
    """The scripted conversations of one split."""
    with (SETS / f"{split}.jsonl").open(encoding="utf-8") as src:
        return [json.loads(line) for line in src if line.strip()]


@dataclass
class Said:
    """What the bot did with one turn, as either channel reports it."""

    turn: str
    text: str = ""
    first_article: str = ""
    aside: str = ""


@dataclass
class Verdict:
    """One conversation in one channel: right or not, and why not."""

    id: str
    channel: str
    problems: list[str] = field(default_factory=list)

    @property
    def right(self) -> bool:
        """True when every turn and the ticket were as expected."""
        return not self.problems


def check_turn(n: int, expected: dict[str, Any], said: Said) -> list[str]:
    """The ways ``said`` differs from the turn's expectations (empty when it matches)."""
    problems: list[str] = []
    expect = expected.get("expect")
    if expect is not None:
        allowed = [expect] if isinstance(expect, str) else list(expect)
        if said.turn not in allowed:
            problems.append(f"turn {n}: {said.turn} (expected {'/'.join(allowed)})")
    if "cites" in expected and not said.first_article.startswith(expected["cites"]):
        problems.append(f"turn {n}: cites {said.first_article or 'nothing'} (expected {expected['cites']}…)")
    if "not_cites" in expected and said.first_article.startswith(expected["not_cites"]):
        problems.append(f"turn {n}: cites {said.first_article} (must not: {expected['not_cites']}…)")
    if "aside" in expected and said.aside != expected["aside"]:
        problems.append(f"turn {n}: aside {said.aside or 'none'} (expected {expected['aside']})")
    for words in expected.get("says", []):
        if words.lower() not in said.text.lower():
            problems.append(f"turn {n}: reply lacks {words!r}")
    return problems


def check_ticket(expected: dict[str, Any] | None, tickets: list[Ticket]) -> list[str]:
    """The ways the conversation's tickets differ from the expected one (or from none)."""
    if expected is None:
        return [f"ticket {t.number} opened (expected none): {t.summary!r}" for t in tickets]
    if len(tickets) != 1:
        return [f"{len(tickets)} tickets (expected 1)"]
    ticket = tickets[0]
    problems: list[str] = []
    summary = ticket.summary.lower()
    problems += [
        f"summary {ticket.summary!r} lacks {w!r}" for w in expected.get("summary_has", []) if w not in summary
    ]
    problems += [
        f"summary {ticket.summary!r} has {w!r}" for w in expected.get("summary_lacks", []) if w in summary
    ]
    if "location" in expected and ticket.location.lower() != expected["location"].lower():
        problems.append(f"location {ticket.location!r} (expected {expected['location']!r})")
    if "patient_waiting" in expected and ticket.patient_waiting != expected["patient_waiting"]:
        problems.append(
            f"patient waiting {ticket.patient_waiting!r} (expected {expected['patient_waiting']!r})"
        )
    if "reason" in expected and ticket.reason != expected["reason"]:
        problems.append(f"reason {ticket.reason!r} (expected {expected['reason']!r})")
    return problems


def _said_of(outcome: Outcome) -> Said:
    reply = outcome.reply
    first = reply.citations[0].article if reply is not None and reply.citations else ""
    return Said(outcome.turn, reply.text if reply is not None else "", first, outcome.aside)


def _said_of_json(body: dict[str, Any]) -> Said:
    citations = body.get("citations") or []
    first = citations[0]["article"] if citations else ""
    return Said(str(body.get("turn")), str(body.get("text", "")), first, str(body.get("aside") or ""))


def _tickets(sessions: SessionFactory, channel: str) -> list[Ticket]:
    with sessions() as session:
        return list(session.exec(select(Ticket).where(Ticket.channel == channel)).all())


def empty_tables(sessions: SessionFactory) -> None:
    """Delete every row, so each conversation starts alone (no ticket of another to fold into)."""
    with sessions() as session:
        for table in reversed(SQLModel.metadata.sorted_tables):
            session.execute(table.delete())
        session.commit()


def run_slack(flow: ConversationFlow, sessions: SessionFactory, conversation: dict[str, Any]) -> Verdict:
    """One conversation through the flow as the Slack adapter drives it."""
    verdict = Verdict(conversation["id"], "slack")
    thread = f"C0UNIT:{conversation['id']}"
    reply_to = {"channel": "C0UNIT", "thread_ts": conversation["id"]}
    for n, turn in enumerate(conversation["turns"], 1):
        if "click" in turn:
            if turn["click"] == "fixed":
                with sessions() as session:
                    flow.remember_event(session, thread, "U0NURSE", "fixed")
                said = Said("fixed")
            else:
                said = _said_of(flow.on_stuck(thread_key=thread, user="U0NURSE", reply_to=reply_to))
        else:
            outcome = flow.on_message(thread_key=thread, user="U0NURSE", text=turn["say"], reply_to=reply_to)
            said = _said_of(outcome)
        verdict.problems += check_turn(n, turn, said)
    verdict.problems += check_ticket(conversation.get("ticket"), _tickets(sessions, "slack"))
    return verdict


def run_web(client: TestClient, sessions: SessionFactory, conversation: dict[str, Any]) -> Verdict:
    """One conversation over HTTP, as the web chat sends it."""
    verdict = Verdict(conversation["id"], "web")
    conversation_id = f"web-{uuid.uuid4().hex}"
    last_interaction: str | None = None
    for n, turn in enumerate(conversation["turns"], 1):
        if "click" in turn:
            body = {
                "interaction_id": last_interaction,
                "helpful": turn["click"] == "fixed",
                "conversation": conversation_id,
            }
            answer = client.post("/api/feedback", json=body).json()
            if turn["click"] == "fixed":
                said = Said("fixed")
            else:
                step = str(answer.get("escalation"))
                reply = answer.get("reply") or {}
                said = Said(_TICKET_STEPS.get(step, step), str(reply.get("text", "")))
        else:
            answer = client.post(
                "/api/ask", json={"text": turn["say"], "conversation": conversation_id}
            ).json()
            said = _said_of_json(answer)
            last_interaction = answer.get("interaction_id") or last_interaction
        verdict.problems += check_turn(n, turn, said)
    verdict.problems += check_ticket(conversation.get("ticket"), _tickets(sessions, "web"))
    return verdict


@contextmanager
def bot_on_shipped_kb(home: Path) -> Iterator[tuple[TestClient, ConversationFlow, SessionFactory]]:
    """The app (over HTTP) and a Slack flow on the shipped knowledge base, one SQLite database."""
    settings = Settings(
        home=home,
        kb=ROOT / "knowledge",
        asks_per_minute_per_address=1_000_000,
        asks_per_minute_per_conversation=1_000_000,
        escalations_per_hour_per_conversation=1_000_000,
        escalations_per_hour_per_address=1_000_000,
    )
    encoder = load_encoder(settings.model, cache_dir=settings.models_dir, max_tokens=settings.max_tokens)
    build_index(settings.kb, settings.index_root, encoder)
    assistant = Assistant(settings, encoder=encoder)
    app = create_app(settings, assistant=assistant)
    sessions: SessionFactory = app.state.sessions
    flow = ConversationFlow(settings, assistant, sessions, channel="slack")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, flow, sessions


def run(split: str) -> list[Verdict]:
    """Every conversation of ``split`` in both channels, each on empty tables."""
    conversations = load_conversations(split)
    verdicts: list[Verdict] = []
    with tempfile.TemporaryDirectory() as home, bot_on_shipped_kb(Path(home)) as (client, flow, sessions):
        for conversation in conversations:
            empty_tables(sessions)
            verdicts.append(run_web(client, sessions, conversation))
            empty_tables(sessions)
            verdicts.append(run_slack(flow, sessions, conversation))
    return verdicts


def main() -> None:
    """Print the share of conversations fully right per channel, and what went wrong."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=("dev", "test", "test2"))
    args = parser.parse_args()
    started = time.perf_counter()
    verdicts = run(args.split)
    conversations = load_conversations(args.split)
    situations = {c["id"]: c.get("situation", "") for c in conversations}
    print(f"# Scripted conversations, split {args.split} ({len(conversations)} conversations)")
    print(f"# command: .venv/bin/python benchmarks/conversations.py --split {args.split}\n")
    print("| channel | conversations | fully right | share |")
    print("|---|---:|---:|---:|")
    for channel in CHANNELS:
        mine = [v for v in verdicts if v.channel == channel]
        right = sum(v.right for v in mine)
        print(f"| {channel} | {len(mine)} | {right} | {right / max(1, len(mine)):.1%} |")
    both = Counter(v.id for v in verdicts if v.right)
    whole = sum(1 for c in conversations if both[c["id"]] == len(CHANNELS))
    print(f"| both | {len(conversations)} | {whole} | {whole / max(1, len(conversations)):.1%} |")
    wrong = [v for v in verdicts if not v.right]
    if wrong:
        print("\nNot right:")
        for v in wrong:
            print(f"- {v.id} ({v.channel}, {situations[v.id]}): " + "; ".join(v.problems))
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
