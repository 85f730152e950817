"""Zero lost escalations: with the database really unreachable (SQLite in a folder that cannot exist,
PostgreSQL on a closed port) the escalation is kept as a file, and replayed exactly once when a working
database is back."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.conversations.models import Conversation
from bot.tickets.escalation import finish_escalation, start_escalation
from bot.tickets.models import Ticket
from bot.tickets.outbox_models import OutboxMessage
from bot.tickets.replies import kept_text
from bot.tickets.spool import pending_files, replay_spool, spool_folder
from tests.live_server import free_port

MRN = "00482913"
REPLY_TO = {"channel": "C9", "thread_ts": "1700.9"}


@pytest.fixture
def down(db_settings: Settings, tmp_path: Path) -> Iterator[Session]:
    """A session on a database of the same kind that cannot be reached at all."""
    if db_settings.sqlalchemy_url.startswith("sqlite"):
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the database's folder should be")
        url = f"sqlite:///{blocker / 'itbot.db'}"
    else:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test?connect_timeout=2"
    engine = create_engine(url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def chat_conversation(text: str) -> Conversation:
    """A conversation as an adapter holds it in memory (its turns could not be stored either)."""
    return Conversation(
        channel="slack",
        thread_key="C9:1700.9",
        user_id="U9",
        turns=[{"role": "user", "text": text, "at": ""}],
    )


def keep_one(
    down: Session, settings: Settings, text: str = f"epic frozen in ICU bed 4 for MRN {MRN}, pt waiting"
) -> str:
    step = start_escalation(
        session=down,
        settings=settings,
        conversation=chat_conversation(text),
        requester="U9",
        channel="slack",
        reply_to=REPLY_TO,
        reason="stuck",
        articles=["ehr/epic-slow-or-freezing"],
        systems=["Epic"],
    )
    return step.kind


def tickets(session: Session) -> list[Ticket]:
    session.expire_all()
    return list(session.exec(select(Ticket)).all())


def test_an_escalation_while_the_database_is_down_is_kept_and_the_person_told_plainly(
    down: Session, db_settings: Settings, all_logs: pytest.LogCaptureFixture
) -> None:
    step = start_escalation(
        session=down,
        settings=db_settings,
        conversation=chat_conversation(f"epic frozen for MRN {MRN}"),
        requester="U9",
        channel="slack",
        reply_to=REPLY_TO,
        reason="human",
        articles=[],
        systems=["Epic"],
    )

    assert step.kind == "kept" and step.ticket_number is None
    assert step.text == kept_text("x4357")
    files = pending_files(db_settings)
    assert len(files) == 1
    kept = json.loads(files[0].read_text(encoding="utf-8"))
    assert kept["request"]["reply_to"] == REPLY_TO and kept["request"]["reason"] == "human"
    assert kept["turns"][0]["text"] == "epic frozen for MRN [MRN]"
    assert [p.name for p in spool_folder(db_settings).iterdir()] == [files[0].name]  # no temporary file left
    assert MRN not in all_logs.text


def test_replay_opens_the_ticket_once_tells_the_person_and_deletes_the_file(
    down: Session, db_settings: Settings, session: Session
) -> None:
    assert keep_one(down, db_settings) == "kept"

    assert replay_spool(settings=db_settings, session=session) == 1
    assert replay_spool(settings=db_settings, session=session) == 0

    [ticket] = tickets(session)
    assert (
        ticket.number == "IT-000001"
        and ticket.source_key is not None
        and ticket.source_key.startswith("spool:")
    )
    assert (ticket.system, ticket.location, ticket.patient_waiting, ticket.priority) == (
        "Epic",
        "ICU, bed 4",
        True,
        1,
    )
    assert MRN not in json.dumps(ticket.transcript)
    [told] = session.exec(select(OutboxMessage).where(OutboxMessage.topic == "chat.message")).all()
    assert told.payload["reply_to"] == REPLY_TO and told.payload["kind"] == "requester"
    assert "IT-000001" in told.payload["text"]
    assert pending_files(db_settings) == []


def test_a_crash_after_the_commit_but_before_the_file_went_opens_no_second_ticket(
    down: Session, db_settings: Settings, session: Session, tmp_path: Path
) -> None:
    keep_one(down, db_settings)
    [kept] = pending_files(db_settings)
    copy = shutil.copy(kept, tmp_path / "copy.json")

    replay_spool(settings=db_settings, session=session)
    shutil.copy(copy, kept)  # as if the process died before deleting it

    assert replay_spool(settings=db_settings, session=session) == 0
    assert len(tickets(session)) == 1
    assert pending_files(db_settings) == []


def test_the_answer_to_the_follow_up_is_kept_with_the_request(
    down: Session, db_settings: Settings, session: Session
) -> None:
    waiting = chat_conversation("label printer not printing")
    waiting.state = "escalation:details"
    waiting.turns.append(
        {
            "role": "event",
            "text": "escalation requested",
            "escalation": {
                "conversation_id": waiting.id,
                "requester": "U9",
                "channel": "slack",
                "reply_to": REPLY_TO,
                "reason": "stuck",
                "articles": ["printing/specimen-label-printer"],
                "systems": ["Zebra label printer"],
            },
        }
    )

    step = finish_escalation(
        session=down,
        settings=db_settings,
        conversation=waiting,
        details="4 West, PRN-4W-LBL01, call 555-123-4567",
    )

    assert step.kind == "kept"
    assert replay_spool(settings=db_settings, session=session) == 1
    [ticket] = tickets(session)
    assert (ticket.location, ticket.device, ticket.reason) == ("4 West", "PRN-4W-LBL01", "stuck")
    assert ticket.reply_to == REPLY_TO
    assert "555-123-4567" not in json.dumps(ticket.transcript)


def test_replay_leaves_the_files_while_the_database_is_still_down(
    down: Session, db_settings: Settings
) -> None:
    keep_one(down, db_settings)

    assert replay_spool(settings=db_settings, session=down) == 0
    assert len(pending_files(db_settings)) == 1


def test_a_file_that_is_not_a_kept_escalation_is_set_aside(
    down: Session, db_settings: Settings, session: Session
) -> None:
    keep_one(down, db_settings)
    (spool_folder(db_settings) / "00000000-garbage.json").write_text("{not json")

    assert replay_spool(settings=db_settings, session=session) == 1
    assert [p.name for p in (spool_folder(db_settings) / "rejected").iterdir()] == ["00000000-garbage.json"]
    assert pending_files(db_settings) == []


def test_when_even_the_spool_cannot_be_written_the_person_is_asked_to_call(
    down: Session, db_settings: Settings, tmp_path: Path
) -> None:
    home_is_a_file = tmp_path / "home-file"
    home_is_a_file.write_text("")
    settings = db_settings.model_copy(update={"home": home_is_a_file})

    assert keep_one(down, settings) == "failed"
