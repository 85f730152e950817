"""Outage-aware answers on real databases: a question about an active notice gets the notice
(``decision: outage``) before the assistant is asked, through ``outage_reply``, the conversation
flow, ``POST /api/ask`` and ``itbot ask``; resolved notices, future ones and unrelated questions do
not; and the cache of active notices follows changes."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

import bot.core.assistant
import indexer.encoder
from bot.channels.cli.main import EXIT_OK, main
from bot.config import Settings
from bot.conversations.flow import ConversationFlow
from bot.core.models import Decision, Question
from bot.db import session_factory
from bot.interactions.models import utcnow
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice, resolve_notice
from bot.notices.answers import ActiveNoticesCache, outage_reply
from bot.notices.models import Notice, NoticeKind, NoticeStatus
from bot.notices.queries import create_notice
from bot.notices.registry import ensure_seeded
from indexer.encoder import HashingEncoder
from tests.fakes.assistant import FakeAssistant
from tests.live_server import serve
from tests.tiny_kb import write_tiny_kb

KB = Path(__file__).resolve().parents[2] / "knowledge"
MRN = "00482913"


@pytest.fixture
def seeded(session: Session) -> Session:
    ensure_seeded(session=session, kb=KB)
    session.commit()
    return session


def post_outage(session: Session, *, title: str = "Epic is slow on all units", **extra: Any) -> int:
    new = NewNotice(
        kind=NoticeKind.OUTAGE,
        title=title,
        systems=["Epic"],
        body="Screens are slow to load. Use BCA reports if a screen does not load.",
        next_update_at=utcnow() + timedelta(minutes=30),
        **extra,
    )
    notice = open_notice(session=session, new=new, now=utcnow())
    session.commit()
    assert notice.id is not None
    return notice.id


def ask(session: Session, text: str, cache: ActiveNoticesCache | None = None) -> Any:
    return outage_reply(
        session, Question(text=text, channel="web"), kb=KB, cache=cache or ActiveNoticesCache()
    )


def test_a_question_about_an_active_outage_gets_the_notice(seeded: Session) -> None:
    notice_id = post_outage(seeded)

    reply = ask(seeded, "is epic down?")

    assert reply is not None and reply.decision is Decision.OUTAGE
    body = reply.to_json()
    assert body["decision"] == "outage"
    assert {"id", "kind", "title", "status", "systems", "body", "next_update"} <= set(body["notice"])
    assert (body["notice"]["id"], body["notice"]["status"]) == (notice_id, "investigating")
    assert body["notice"]["next_update"] is not None and "Next update" in body["text"]
    assert body["actions"] == [f"notify:{notice_id}"]


def test_an_unrelated_question_during_the_outage_gets_no_notice(seeded: Session) -> None:
    post_outage(seeded)
    assert ask(seeded, "printer jam on 4 west") is None


def test_a_resolved_or_future_notice_gives_no_outage_reply(seeded: Session) -> None:
    notice_id = post_outage(seeded)
    resolve_notice(session=seeded, notice_id=notice_id, now=utcnow())
    now = utcnow()
    open_notice(
        session=seeded,
        new=NewNotice(
            kind=NoticeKind.UPGRADE,
            title="Epic upgrade",
            systems=["Epic"],
            starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=1, hours=2),
        ),
        now=now,
    )
    seeded.commit()

    assert ask(seeded, "is epic down?") is None


def test_an_upgrade_under_way_answers_with_its_window_what_changes_and_the_procedure_link(
    seeded: Session,
) -> None:
    now = utcnow()
    open_notice(
        session=seeded,
        new=NewNotice(
            kind=NoticeKind.UPGRADE,
            title="Epic upgrade",
            systems=["Epic"],
            starts_at=now,
            ends_at=now + timedelta(hours=2),
            staff_changes="Log in with your badge.",
            procedure_article="downtime/ehr-downtime-procedures",
        ),
        now=now,
        kb=KB,
    )
    seeded.commit()

    reply = ask(seeded, "is epic down?")

    assert reply is not None and reply.decision is Decision.OUTAGE
    window = f"(window {now:%H:%M} UTC to {now + timedelta(hours=2):%H:%M} UTC)"
    assert f"**Planned upgrade in progress:** Epic upgrade {window}" in reply.text
    assert "What changes for you: Log in with your badge." in reply.text
    assert (
        "Downtime procedure: [downtime/ehr-downtime-procedures](/kb/downtime/ehr-downtime-procedures)"
        in reply.text
    )


def test_the_reply_stores_only_the_scrubbed_question(seeded: Session) -> None:
    post_outage(seeded)
    reply = ask(seeded, f"epic is down, pt MRN {MRN}")
    assert reply is not None and MRN not in reply.asked


def test_a_notice_another_process_posts_is_seen_after_the_refresh(seeded: Session) -> None:
    now = [0.0]
    cache = ActiveNoticesCache(refresh_seconds=5, clock=lambda: now[0])
    assert ask(seeded, "is epic down?", cache) is None
    # Written as another process would: no change noted in this one.
    create_notice(
        session=seeded,
        notice=Notice(
            kind=NoticeKind.OUTAGE, title="Epic down", status=NoticeStatus.INVESTIGATING, systems=["Epic"]
        ),
    )
    seeded.commit()

    assert ask(seeded, "is epic down?", cache) is None
    now[0] = 6.0
    assert ask(seeded, "is epic down?", cache) is not None


def test_the_conversation_flow_answers_with_the_notice_without_asking_the_assistant(
    db_settings: Settings, db_engine: Engine
) -> None:
    with session_factory(db_engine)() as session:
        ensure_seeded(session=session, kb=KB)
        session.commit()
        notice_id = post_outage(session)
    assistant = FakeAssistant()
    settings = db_settings.model_copy(update={"kb": KB})
    flow = ConversationFlow(settings, assistant, session_factory(db_engine), channel="web")

    outcome = flow.on_message(thread_key="t1", user="u1", text="epic is so slow", reply_to={})
    other = flow.on_message(thread_key="t2", user="u1", text="epic password refused", reply_to={})

    assert outcome.reply is not None and outcome.reply.decision is Decision.OUTAGE
    assert outcome.reply.notice is not None and outcome.reply.notice.id == notice_id
    assert outcome.reply.interaction_id is not None
    assert other.reply is not None and other.reply.decision is Decision.ANSWER
    assert assistant.asked_texts == ["epic password refused"]


def test_api_ask_in_a_conversation_replies_outage_for_a_matching_question(tmp_path: Path) -> None:
    from tests.databases import sqlite_settings

    settings = sqlite_settings(tmp_path, kb=KB)
    app = create_app(settings, assistant=FakeAssistant())
    with serve(app) as server:
        with session_factory(app.state.engine)() as session:
            ensure_seeded(session=session, kb=KB)
            session.commit()
            notice_id = post_outage(session)
        answered = httpx.post(
            f"{server.url}/api/ask",
            json={"text": "anyone else's epic frozen?", "conversation": "web-" + "a" * 32},
            timeout=10,
        )

    assert answered.status_code == 200
    body = answered.json()
    assert body["decision"] == "outage" and body["notice"]["id"] == notice_id


@pytest.fixture
def cli_env(db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``itbot`` on this test's database and a tiny knowledge folder, with the hashing encoder."""
    for name in list(os.environ):
        if name.startswith(("ITBOT_", "SLACK_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    kb = write_tiny_kb(tmp_path / "kb")
    monkeypatch.setenv("ITBOT_HOME", str(db_settings.home))
    monkeypatch.setenv("ITBOT_KB", str(kb))
    monkeypatch.setenv("DATABASE_URL", db_settings.sqlalchemy_url)
    monkeypatch.setenv("ITBOT_MODEL", "all-MiniLM-L6-v2")
    monkeypatch.setattr(indexer.encoder, "load_encoder", lambda *_a, **_k: HashingEncoder())
    monkeypatch.setattr(bot.core.assistant, "load_encoder", lambda *_a, **_k: HashingEncoder())
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield kb
    root.handlers[:] = handlers
    root.setLevel(level)


def test_itbot_ask_replies_outage_while_the_notice_is_active_and_not_after(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index"]) == EXIT_OK
    assert (
        main(
            [
                "notice",
                "create",
                "--kind",
                "outage",
                "--title",
                "Epic is slow",
                "--systems",
                "Epic",
                "--body",
                "Slow everywhere.",
                "--next-update",
                "+30m",
            ]
        )
        == EXIT_OK
    )
    notice_id = capsys.readouterr().out.strip().splitlines()[-1]
    questions = "is epic down?\nprinter jam on 4 west\n"

    monkeypatch.setattr(sys, "stdin", io.StringIO(questions))
    assert main(["ask", "--json", "-"]) == EXIT_OK
    during = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["notice", "resolve", notice_id]) == EXIT_OK
    monkeypatch.setattr(sys, "stdin", io.StringIO(questions))
    assert main(["ask", "--json", "-"]) == EXIT_OK
    after = [json.loads(line) for line in capsys.readouterr().out.splitlines()[1:]]

    assert during[0]["decision"] == "outage" and str(during[0]["notice"]["id"]) == notice_id
    assert during[1]["decision"] != "outage" and during[1]["notice"] is None
    assert all(r["decision"] != "outage" for r in after)


def test_a_refresh_that_finds_nothing_changed_keeps_the_matcher(seeded: Session) -> None:
    post_outage(seeded)
    now = [0.0]
    cache = ActiveNoticesCache(refresh_seconds=5, clock=lambda: now[0])
    first = cache.matcher(seeded, kb=KB, now=utcnow())
    now[0] = 6.0
    kept = cache.matcher(seeded, kb=KB, now=utcnow())
    post_outage(seeded, title="Citrix is slow")
    rebuilt = cache.matcher(seeded, kb=KB, now=utcnow())

    assert first is not None and kept is first
    assert rebuilt is not None and rebuilt is not first and len(rebuilt.notices) == 2
