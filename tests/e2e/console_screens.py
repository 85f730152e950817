"""Screenshots of every console page at desktop width, in Debian's chromium (not a test).

    .venv/bin/python -m tests.e2e.console_screens /work/wt/screens

Serves itbot over the shipped knowledge base with the real model in a temporary home, stores a
month of made-up questions (the unanswered ones worded as in ``benchmarks/gaps/labelled.jsonl``),
two tickets, an outage notice and a curator's draft, signs in as an admin and saves one PNG a page:
login, home, articles, editor, drafts, draft review, gaps, analytics, tickets, ticket, notices,
notice, audit, users. Existing files of the same names are overwritten.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bot.config import Settings
from bot.core.assistant import Assistant
from bot.db import create_db_engine, init_db, session_factory
from bot.interactions.models import Feedback, Interaction, utcnow
from bot.interactions.queries import insert_interactions
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice
from bot.notices.models import NoticeKind
from bot.notices.registry import ensure_seeded
from bot.tickets.models import TicketCreate
from bot.tickets.queries import create_ticket
from indexer.build import build_index
from indexer.encoder import load_encoder
from tests.console_client import PASSWORD, add_user, console_settings, signed_in
from tests.databases import sqlite_settings
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import serve

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = "printing/office-printer-offline"
ANSWERED = [
    "printing/office-printer-offline",
    "ehr/epic-session-timeout",
    "access/account-locked-out",
    "network/guest-wifi",
]


def _seed(settings: Settings, rng: random.Random) -> tuple[str, str]:
    """A month of questions, two tickets and an outage; the first ticket's number and the notice id."""
    texts = [
        json.loads(line)["text"]
        for line in (ROOT / "benchmarks" / "gaps" / "labelled.jsonl").read_text().splitlines()
        if line.strip()
    ][:80]
    now = utcnow()
    engine = create_db_engine(settings)
    init_db(settings, engine=engine)
    with session_factory(engine)() as session:
        rows = []
        for _ in range(1500):
            at = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            decision = rng.choices(("answer", "clarify", "escalate", "outage"), (70, 10, 17, 3))[0]
            article = rng.choice(ANSWERED) if decision == "answer" else None
            feedback = Feedback.NONE
            if article:
                feedback = rng.choices((Feedback.HELPFUL, Feedback.UNHELPFUL, Feedback.NONE), (3, 1, 6))[0]
            rows.append(
                Interaction(
                    channel=rng.choice(("slack", "slack", "teams", "web")),
                    user_id=f"U{rng.randrange(300):04d}",
                    question=rng.choice(texts)
                    if decision in ("clarify", "escalate")
                    else "how do I fix this",
                    decision=decision,
                    top_article=article,
                    citations=[{"article": article, "score": 0.7}] if article else [],
                    latency_ms=rng.randrange(20, 300),
                    created_at=at,
                    feedback=feedback,
                    feedback_at=at + timedelta(minutes=3) if feedback is not Feedback.NONE else None,
                )
            )
        insert_interactions(session=session, rows=rows)
        numbers = []
        for summary, who in (
            ("Label printer on 4 West prints blank labels", "U0001"),
            ("Pyxis won't read my finger", "U0002"),
        ):
            ticket = create_ticket(
                session=session, data=TicketCreate(summary=summary, requester=who, channel="slack")
            )
            numbers.append(ticket.number)
        session.commit()
        ensure_seeded(session=session, kb=settings.kb)
        notice = open_notice(
            session=session,
            new=NewNotice(
                kind=NoticeKind.OUTAGE,
                title="Epic is slow on all units",
                systems=["Epic"],
                body="We are looking into it.",
            ),
            now=now,
        )
        session.commit()
        notice_id = str(notice.id)
    engine.dispose()
    return numbers[0], notice_id


def _edit_form(page: str) -> dict[str, str]:
    """The editor's form fields as the page filled them (what a browser would post back)."""
    fields = dict(re.findall(r'<input (?:type="hidden" )?name="(\w+)" value="([^"]*)"', page))
    body = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', page, re.S)
    assert body is not None
    values = {k: html.unescape(v) for k, v in fields.items()}
    values["body"] = html.unescape(body.group(1))
    return values


def _shot(page: Page, folder: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(folder / f"console-{name}.png"), full_page=True)


def main() -> None:
    """Write one PNG per console page into the folder given."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        settings = console_settings(sqlite_settings(Path(home), kb=(ROOT / "knowledge").resolve()))
        kb_copy = Path(home) / "kb"
        shutil.copytree(settings.kb, kb_copy)
        settings = settings.model_copy(update={"kb": kb_copy})
        ticket, notice = _seed(settings, random.Random(5))
        add_user(settings, "admin", "admin")
        add_user(settings, "cora", "curator")
        encoder = load_encoder(settings.model, cache_dir=settings.models_dir, max_tokens=settings.max_tokens)
        build_index(settings.kb, settings.index_root, encoder)
        app = create_app(settings, assistant=Assistant(settings, encoder=encoder))
        with serve(app) as server, sync_playwright() as playwright:
            with signed_in(server.url, "cora") as (client, _csrf):
                form = _edit_form(client.get(f"/console/articles/{ARTICLE}").text)
                form["body"] += "\n## If the printer shows error E-47\n\nCall the service desk on 4357.\n"
                saved = client.post(f"/console/articles/{ARTICLE}", data=form)
                draft = saved.headers.get("location", "/console/drafts")
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 900}, device_scale_factor=1)
            page.goto(f"{server.url}/console/analytics?start=2026-01-01")
            _shot(page, args.folder, "login")
            page.fill("input[name=name]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{server.url}/console")
            _shot(page, args.folder, "home")
            pages = [
                ("articles", "/console/articles"),
                ("editor", f"/console/articles/{ARTICLE}"),
                ("drafts", "/console/drafts"),
                ("draft", draft),
                ("gaps", "/console/gaps"),
                ("analytics", "/console/analytics"),
                ("tickets", "/console/tickets"),
                ("ticket", f"/console/tickets/{ticket}"),
                ("notices", "/console/notices"),
                ("notice", f"/console/notices/{notice}"),
                ("audit", "/console/audit"),
                ("users", "/console/users"),
            ]
            for name, path in pages:
                page.goto(f"{server.url}{path}")
                if name == "analytics":
                    page.wait_for_timeout(1500)  # the charts animate in
                _shot(page, args.folder, name)
            browser.close()


if __name__ == "__main__":
    main()
