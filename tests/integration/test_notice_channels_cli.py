"""``itbot notice channels``: IT configures which channels get which notices, checks where a notice
would go, and bad input is one clear line with nothing written."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.channels.cli import notices as cli_notices
from bot.channels.cli.main import build_parser
from bot.config import Settings
from tests.databases import sqlite_settings

KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return sqlite_settings(tmp_path, kb=KB)


def itbot(settings: Settings, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli_notices.run(settings, build_parser().parse_args(list(argv)), out, err)
    return code, out.getvalue(), err.getvalue()


def test_channels_are_added_listed_and_a_notice_is_routed_to_its_site_and_all_staff(
    settings: Settings,
) -> None:
    assert itbot(settings, "notice", "channels", "add", "CED", "--label", "#ed", "--sites", "ED")[0] == 0
    assert itbot(settings, "notice", "channels", "add", "CALL", "--label", "#all-staff")[0] == 0
    assert (
        itbot(settings, "notice", "channels", "add", "C4W", "--label", "#4-west", "--sites", "4 West")[0] == 0
    )
    assert itbot(settings, "notice", "channels", "add", "CRAD", "--systems", "pacs", "--no-digest")[0] == 0

    code, out, _ = itbot(settings, "notice", "channels", "list", "--json")
    rows = {r["target"]: r for r in json.loads(out)}
    assert code == 0 and set(rows) == {"CED", "CALL", "C4W", "CRAD"}
    # "pacs" is stored as the registry names the system.
    assert rows["CRAD"]["systems"] == ["PACS viewer"] and rows["CRAD"]["digest"] is False
    code, out, _ = itbot(settings, "notice", "channels", "route", "--systems", "Epic", "--sites", "ED")
    assert code == 0 and [line.split(":")[1].split()[0] for line in out.splitlines()] == ["CED", "CALL"]


def test_an_unknown_system_is_refused_with_the_closest_name_and_nothing_saved(settings: Settings) -> None:
    code, _, err = itbot(settings, "notice", "channels", "add", "CED", "--systems", "Epik")
    assert code == 1 and "Did you mean 'Epic'?" in err
    assert itbot(settings, "notice", "channels", "list", "--json")[1].strip() == "[]"


def test_removing_a_channel_that_is_not_configured_says_so(settings: Settings) -> None:
    code, _, err = itbot(settings, "notice", "channels", "remove", "CNOPE")
    assert code == 1 and "No channel 'CNOPE'" in err
