"""Tickets about a system with an active outage are linked to it (``ticket.notice_id``) and counted on
the notice ("N reports"), visible in ``itbot tickets list --json`` and ``itbot notice show``; a ticket
about another system, or opened while the outage is only a draft or after it ended, stands alone.
SQLite and PostgreSQL, through the escalation path the chat uses."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.channels.cli.main import EXIT_OK, main
from bot.config import Settings
from bot.conversations.models import Turn
from bot.conversations.queries import add_turns
from bot.db import session_factory
from bot.interactions.models import utcnow
from bot.notices.actions import NewNotice, open_notice, resolve_notice
from bot.notices.alerts import parse_alert
from bot.notices.intake import take_alert
from bot.notices.models import NoticeKind
from bot.notices.registry import ensure_seeded
from bot.notices.ticket_links import outage_lookup
from bot.tickets.escalation import finish_escalation, start_escalation
from bot.tickets.queries import get_ticket_by_number

KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def env(db_settings: Settings, db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI on this test's database, the shipped knowledge folder as the registry's seed."""
    for name in list(os.environ):
        if name.startswith(("ITBOT_", "SLACK_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ITBOT_HOME", str(db_settings.home))
    monkeypatch.setenv("ITBOT_KB", str(KB))
    monkeypatch.setenv("DATABASE_URL", db_settings.sqlalchemy_url)
    settings = db_settings.model_copy(update={"kb": KB})
    with session_factory(db_engine)() as session:
        ensure_seeded(session=session, kb=KB)
        session.commit()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield settings
    root.handlers[:] = handlers
    root.setLevel(level)


def epic_outage(engine: Engine) -> int:
    with session_factory(engine)() as session:
        notice = open_notice(
            session=session,
            new=NewNotice(kind=NoticeKind.OUTAGE, title="Epic is slow on all units", systems=["Epic"]),
            now=utcnow(),
        )
        session.commit()
        assert notice.id is not None
        return notice.id


def report(engine: Engine, settings: Settings, words: str, *, user: str, systems: list[str]) -> str:
    """Escalate ``words`` from ``user`` as the conversation flow does (with the notices' outage lookup),
    answering the follow-up question."""
    with session_factory(engine)() as session:
        conversation = add_turns(
            session=session,
            channel="slack",
            thread_key=f"C1:{user}",
            user_id=user,
            turns=[Turn(role="user", text=words)],
        )
        step = start_escalation(
            session=session,
            settings=settings,
            conversation=conversation,
            requester=user,
            channel="slack",
            reply_to={"channel": "C1", "thread_ts": user},
            reason="escalate",
            articles=[],
            systems=systems,
            outage_lookup=outage_lookup(settings.kb),
        )
        if step.kind == "ask_details":
            session.expire_all()
            step = finish_escalation(
                session=session,
                settings=settings,
                conversation=conversation,
                details="4 West, no patient waiting",
                outage_lookup=outage_lookup(settings.kb),
            )
    assert step.ticket_number is not None
    return step.ticket_number


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == EXIT_OK
    return capsys.readouterr().out


def notice_of(engine: Engine, number: str) -> int | None:
    with session_factory(engine)() as session:
        ticket = get_ticket_by_number(session=session, number=number)
        assert ticket is not None
        return ticket.notice_id


def test_tickets_about_the_outage_are_linked_and_counted(
    env: Settings, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    notice_id = epic_outage(db_engine)

    first = report(db_engine, env, "epic keeps freezing when I chart", user="U1", systems=["Epic"])
    second = report(db_engine, env, "hyperspace won't load any patient list", user="U2", systems=["EHR"])
    other = report(db_engine, env, "the label printer prints blank labels", user="U3", systems=[])

    listed = {t["number"]: t for t in json.loads(cli(capsys, "tickets", "list", "--json"))}
    assert listed[first]["notice_id"] == notice_id
    assert listed[second]["notice_id"] == notice_id
    assert listed[other]["notice_id"] is None
    shown = json.loads(cli(capsys, "notice", "show", str(notice_id), "--json"))
    assert shown["reports"] == 2 and sorted(shown["tickets"]) == sorted({first, second})
    text = cli(capsys, "notice", "show", str(notice_id))
    assert "Reports:  2 (tickets" in text
    listed_notice = json.loads(cli(capsys, "notice", "list", "--json"))[0]
    assert listed_notice["reports"] == 2


def test_a_draft_or_a_resolved_outage_links_nothing(env: Settings, db_engine: Engine) -> None:
    with session_factory(db_engine)() as session:
        take_alert(
            session=session,
            settings=env,
            alert=parse_alert({"system": "Epic", "summary": "Epic login slow"}),
            now=utcnow(),
        )
        session.commit()
    during_draft = report(db_engine, env, "epic keeps freezing when I chart", user="U1", systems=["Epic"])
    notice_id = epic_outage(db_engine)
    with session_factory(db_engine)() as session:
        resolve_notice(session=session, notice_id=notice_id, now=utcnow())
        session.commit()
    after = report(db_engine, env, "epic slow again on 5 north", user="U2", systems=["Epic"])

    assert notice_of(db_engine, during_draft) is None
    assert notice_of(db_engine, after) is None
