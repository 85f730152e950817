"""``itbot tickets ...`` run in-process through ``bot.channels.cli.main.main``, with ``ITBOT_*`` and
``DATABASE_URL`` set per test, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.channels.cli.main import EXIT_FAILED, EXIT_OK, EXIT_SETUP, main
from bot.config import Settings
from bot.conversations.models import Turn
from bot.conversations.queries import add_turns
from bot.db import session_factory
from bot.tickets.escalation import finish_escalation, start_escalation
from bot.tickets.outbox_models import OutboxMessage

PUBLIC_KEYS = {
    "id",
    "number",
    "status",
    "priority",
    "priority_label",
    "summary",
    "requester",
    "channel",
    "category",
    "system",
    "location",
    "device",
    "patient_waiting",
    "assignee",
    "affected_count",
    "reason",
    "articles",
    "created_at",
    "updated_at",
    "resolved_at",
    "notice_id",
    "delivery",
}


@pytest.fixture(autouse=True)
def keep_root_logger() -> Iterator[None]:
    """``main`` configures logging for a terminal; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def env(db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI's environment: this test's home and database, nothing from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(("ITBOT_", "SLACK_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ITBOT_HOME", str(db_settings.home))
    monkeypatch.setenv("DATABASE_URL", db_settings.sqlalchemy_url)
    monkeypatch.setenv("ITBOT_ITSM_KIND", "webhook")
    return db_settings.model_copy(update={"itsm_kind": "webhook"})


def open_ticket(engine: Engine, settings: Settings, words: str, *, thread: str, user: str) -> str:
    with session_factory(engine)() as session:
        conv = add_turns(
            session=session,
            channel="slack",
            thread_key=thread,
            user_id=user,
            turns=[Turn(role="user", text=words)],
        )
        step = start_escalation(
            session=session,
            settings=settings,
            conversation=conv,
            requester=user,
            channel="slack",
            reply_to={"channel": "C1", "thread_ts": thread},
            reason="escalate",
            articles=[],
            systems=["Epic"],
        )
        if step.kind == "ask_details":
            session.expire_all()
            step = finish_escalation(session=session, settings=settings, conversation=conv, details="ICU, no")
    assert step.ticket_number is not None
    return step.ticket_number


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["tickets", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_json_prints_an_array_of_public_tickets(
    env: Settings, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    first = open_ticket(db_engine, env, "epic keeps freezing", thread="1.1", user="U1")
    second = open_ticket(db_engine, env, "epic password reset link broken", thread="1.2", user="U2")

    code, out, _ = run(capsys, "list", "--json")

    assert code == EXIT_OK
    tickets = json.loads(out)
    assert [t["number"] for t in tickets] == [second, first]
    assert set(tickets[0]) == PUBLIC_KEYS


def test_list_json_on_an_empty_store_is_an_empty_array(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "list", "--json") == (EXIT_OK, "[]\n", "")


def test_list_as_a_table_and_filtered(
    env: Settings, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    number = open_ticket(db_engine, env, "epic keeps freezing", thread="1.1", user="U1")

    code, out, _ = run(capsys, "list")
    _, resolved, _ = run(capsys, "list", "--status", "resolved")
    _, failed, _ = run(capsys, "list", "--failed", "--json")

    assert code == EXIT_OK
    assert out.splitlines()[0].startswith("NUMBER") and number in out and "epic keeps freezing" in out
    assert resolved == "No tickets.\n" and json.loads(failed) == []


def test_show_prints_details_history_and_transcript(
    env: Settings, db_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    number = open_ticket(db_engine, env, "epic keeps freezing", thread="1.1", user="U1")

    code, out, _ = run(capsys, "show", "it-1")
    _, as_json, _ = run(capsys, "show", number, "--json")

    assert code == EXIT_OK
    assert out.startswith(f"{number}  new  priority") and "Location:  ICU" in out
    assert "History:" in out and "created by system" in out
    assert "Transcript:" in out and "person: epic keeps freezing" in out
    detail = json.loads(as_json)
    assert detail["number"] == number and [e["kind"] for e in detail["events"]] == ["created", "details"]


def test_reply_take_and_resolve(env: Settings, db_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    number = open_ticket(db_engine, env, "epic keeps freezing", thread="1.1", user="U1")

    replied = run(capsys, "reply", number, "Restarting", "the", "server", "--as", "Dana")
    taken = run(capsys, "take", number, "--as", "Sam")
    resolved = run(capsys, "resolve", number, "--note", "Back up.", "--as", "Sam")

    assert replied == (EXIT_OK, f"Replied on {number}; the people who reported it will read it.\n", "")
    assert taken == (EXIT_OK, f"{number} is now assigned to Sam.\n", "")
    assert resolved == (EXIT_OK, f"{number} resolved; 1 person will be told.\n", "")
    with session_factory(db_engine)() as session:
        messages = [
            m.payload["text"] for m in session.exec(select(OutboxMessage)).all() if m.topic == "chat.message"
        ]
    assert messages[0].endswith("Restarting the server") and "Back up." in messages[-1]


def test_an_unknown_ticket_fails_with_a_clear_message(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "show", "IT-000777") == (
        EXIT_FAILED,
        "",
        "itbot tickets: There is no ticket IT-000777.\n",
    )
    assert run(capsys, "take", "IT-000777", "--as", "Sam")[0] == EXIT_FAILED


def test_take_needs_an_agent(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tickets", "take", "IT-000001"])

    assert exit_info.value.code == 2
    assert "--as" in capsys.readouterr().err


def test_an_unreachable_database_is_a_set_up_problem(
    env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = env.home / "not-a-folder"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{blocker / 'itbot.db'}")

    code, out, err = run(capsys, "list", "--json")

    assert (code, out) == (EXIT_SETUP, "")
    assert err.startswith("itbot tickets: can't reach the database")
