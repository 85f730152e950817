"""No patient identifier that a person types in Teams survives, over real HTTP (SQLite and
PostgreSQL): names, MRNs, dates of birth and phone numbers in an answered question, an escalation,
its details and a later message to IT are in no table, no log record (every logger at DEBUG, the SDK's
included), no line of the server's log file as itbot formats it, and nothing posted back to Teams;
the ticket holds the scrubbed text ([MRN], [DOB], [NAME], [PHONE])."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import select

from bot.config import Settings
from bot.logging_setup import FieldsFormatter
from bot.main import create_app
from bot.tickets.models import Ticket
from tests.fakes.assistant import FakeAssistant
from tests.fakes.teams import FakeTeams
from tests.integration.test_teams_server import teams_options
from tests.live_server import LiveServer, serve
from tests.teams_payloads import channel_post, personal, post_activity

MRN = "07300481"
DOB = "3/14/1961"
GIVEN, SURNAME = "Maria", "Okonkwo"
PHONE = "555-201-4477"
SECOND_MRN = "07355512"
IDENTIFIERS = [MRN, DOB, SURNAME, PHONE, SECOND_MRN, "1961"]


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with FakeTeams() as fake:
        yield fake


@pytest.fixture
def settings(db_settings: Settings, teams: FakeTeams) -> Settings:
    return db_settings.model_copy(update=teams_options(teams))


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The server's log as ``itbot serve`` writes it (itbot's formatter), at DEBUG, to a file."""
    path = tmp_path / "server.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(FieldsFormatter())
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield path
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


def every_row_as_text(engine: Engine) -> str:
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        rows = [
            str(tuple(row))
            for table in tables
            for row in connection.execute(text(f'select * from "{table}"'))
        ]
    return "\n".join(rows)


# A record's clock and thread numbers hold no message text, and "1961" turns up in them by chance.
_BOOKKEEPING = frozenset({"created", "msecs", "relativeCreated", "thread", "process", "taskName"})


def log_text(records: list[logging.LogRecord]) -> str:
    lines = []
    for record in records:
        lines.append(record.getMessage())
        lines.append(repr({k: v for k, v in vars(record).items() if k not in _BOOKKEEPING}))
    return "\n".join(lines)


def test_no_identifier_typed_in_teams_reaches_a_table_a_log_the_log_file_or_a_reply(
    server: LiveServer,
    teams: FakeTeams,
    all_logs: pytest.LogCaptureFixture,
    log_file: Path,
) -> None:
    with httpx.Client(timeout=10) as http:
        answered = personal(teams, f"epic logs me out charting for pt {GIVEN} {SURNAME} MRN {MRN} dob {DOB}")
        post_activity(http, server.url, teams, answered)
        teams.wait_for("reply")

        root = channel_post(teams, f"badge reader beeps red, pt {GIVEN} {SURNAME} MRN {MRN} DOB {DOB}")
        post_activity(http, server.url, teams, root)
        teams.wait_for("reply", count=2)
        details = channel_post(
            teams,
            f"4 West room 12, WOW 7, pt {SURNAME} waiting, call {PHONE}",
            root=root["id"],
            mention=False,
        )
        post_activity(http, server.url, teams, details)
        teams.wait_for("reply", count=3)
        later = channel_post(
            teams, f"also MRN {SECOND_MRN} for Mr. {SURNAME}", root=root["id"], mention=False
        )
        post_activity(http, server.url, teams, later)
        teams.wait_for("reply", count=4)
        teams.settle(quiet=0.3)

    engine = server.app.state.engine
    with server.app.state.sessions() as session:
        [ticket] = session.exec(select(Ticket)).all()
        transcript = str(ticket.transcript) + ticket.summary
        ticket_messages = every_row_as_text(engine)
    posted = "\n".join(str(call.body) for call in teams.of())
    logs = log_text(list(all_logs.records))
    file_text = log_file.read_text(encoding="utf-8")
    leaked = {
        where: [i for i in IDENTIFIERS if i in found]
        for where, found in (
            ("tables", ticket_messages),
            ("logs", logs),
            ("log file", file_text),
            ("posted to teams", posted),
        )
    }

    assert leaked == {"tables": [], "logs": [], "log file": [], "posted to teams": []}
    assert "[MRN]" in transcript and "[DOB]" in transcript and "[NAME]" in transcript
    assert "[PHONE]" in ticket_messages and ticket.channel == "teams"
    assert "event=teams_posted" in file_text  # the file really got the server's records
