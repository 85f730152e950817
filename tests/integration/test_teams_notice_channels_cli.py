"""``itbot notice channels`` takes a Teams channel as a target: added, listed, routed, removed; an
unknown platform is refused by the parser."""

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
TEAMS_CHANNEL = "19:ed-staff@thread.tacv2"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return sqlite_settings(tmp_path, kb=KB)


def itbot(settings: Settings, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli_notices.run(settings, build_parser().parse_args(list(argv)), out, err)
    return code, out.getvalue(), err.getvalue()


def test_a_teams_channel_is_added_listed_routed_and_removed(settings: Settings) -> None:
    added = itbot(settings, "notice", "channels", "add", TEAMS_CHANNEL, "--channel", "Teams", "--sites", "ED")
    assert added[0] == 0 and f"teams:{TEAMS_CHANNEL}" in added[1]
    assert itbot(settings, "notice", "channels", "add", "CED", "--sites", "ED")[0] == 0

    code, out, _ = itbot(settings, "notice", "channels", "list", "--json")
    assert code == 0
    assert {(r["channel"], r["target"]) for r in json.loads(out)} == {
        ("teams", TEAMS_CHANNEL),
        ("slack", "CED"),
    }
    _, routed, _ = itbot(settings, "notice", "channels", "route", "--systems", "Epic", "--sites", "ED")
    assert f"teams:{TEAMS_CHANNEL}" in routed and "slack:CED" in routed

    assert itbot(settings, "notice", "channels", "remove", TEAMS_CHANNEL, "--channel", "teams")[0] == 0
    _, out, _ = itbot(settings, "notice", "channels", "list", "--json")
    assert [r["target"] for r in json.loads(out)] == ["CED"]


def test_an_unknown_platform_is_refused(settings: Settings) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["notice", "channels", "add", "X1", "--channel", "webex"])
