"""The systems lexicon (``bot.tickets.systems``) and the ticket package's place in the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.channels.cli.tickets import STATUSES
from bot.tickets.models import TicketStatus
from bot.tickets.systems import is_patient_facing, known_system, system_named

TICKETS = Path(__file__).resolve().parents[3] / "bot" / "tickets"
CHAT_AND_WEB = ("slack_bolt", "slack_sdk", "fastapi", "starlette", "microsoft_agents", "botbuilder")


@pytest.mark.parametrize(
    ("text", "system"),
    [
        ("bcma scanner won't read the wristband", "BCMA"),
        ("wristband printer printing blank", "Zebra wristband printer"),
        ("pyxis drawer stuck", "Pyxis MedStation"),
        ("citrix black screen", "Citrix Workspace"),
        ("epic froze", "Epic"),
        ("wow 12 no wifi", "Workstation on wheels"),
        ("printer on 2nd floor offline", "Windows print server"),
        ("outlook keeps asking for my password", "Outlook"),
    ],
)
def test_the_most_specific_system_named_wins(text: str, system: str) -> None:
    found = system_named(text)

    assert found is not None and found.name == system


def test_nothing_named_is_none() -> None:
    assert system_named("it's broken") is None


def test_article_spellings_map_onto_the_lexicon() -> None:
    assert known_system("Omnicell") == known_system("pyxis medstation")
    assert known_system("Fax server") is None


def test_bedside_systems_are_patient_facing_and_office_ones_are_not() -> None:
    assert all(is_patient_facing(s) for s in ("Epic", "BCMA", "Pyxis MedStation", "Vocera", "PACS viewer"))
    assert not any(is_patient_facing(s) for s in ("Outlook", "Windows file server", "Guest Wi-Fi", ""))


def test_the_cli_offers_exactly_the_ticket_statuses() -> None:
    assert tuple(s.value for s in TicketStatus) == STATUSES


@pytest.mark.parametrize("path", sorted(TICKETS.rglob("*.py")), ids=lambda p: p.name)
def test_only_the_api_module_of_tickets_knows_a_web_framework_or_chat_sdk(path: Path) -> None:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    forbidden = {n for n in names if n.split(".")[0] in CHAT_AND_WEB}
    assert forbidden == set() or path.name == "api.py"


def test_the_words_for_what_people_do_with_a_system_are_listed_where_reports_share_them() -> None:
    bcma, badge = known_system("BCMA"), known_system("Imprivata")

    assert bcma is not None and {"scan", "wristband"} <= set(bcma.uses)
    assert badge is not None and {"badge", "tap"} <= set(badge.uses)
    assert all(not s.uses for s in (known_system("Epic"), known_system("Citrix Workspace")) if s is not None)
