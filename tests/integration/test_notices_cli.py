"""``itbot notice ...`` and ``itbot systems ...`` run in-process through ``bot.channels.cli.main.main``,
on SQLite and PostgreSQL: the contract (the id alone on the last line, ``list --json``), and bad
input refused with a clear line, a non-zero exit and nothing written."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.cli.main import EXIT_FAILED, EXIT_OK, main
from bot.config import Settings

CONTRACT_KEYS = {"id", "kind", "title", "status", "systems", "body", "next_update"}
KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(autouse=True)
def keep_root_logger() -> Iterator[None]:
    """``main`` configures logging for a terminal; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def env(db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI's environment: this test's home and database, the shipped knowledge folder."""
    for name in list(os.environ):
        if name.startswith(("ITBOT_", "SLACK_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ITBOT_HOME", str(db_settings.home))
    monkeypatch.setenv("ITBOT_KB", str(KB))
    monkeypatch.setenv("DATABASE_URL", db_settings.sqlalchemy_url)
    return db_settings


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code, out, _ = run(capsys, "notice", "list", "--json")
    assert code == EXIT_OK
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def create(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code, out, err = run(
        capsys,
        "notice",
        "create",
        "--kind",
        "outage",
        "--title",
        "Epic is slow",
        "--systems",
        "Epic,Citrix",
        "--body",
        "Epic is slow on all units.",
        *extra,
    )
    assert code == EXIT_OK, err
    return out.strip().splitlines()[-1]


def test_create_prints_the_id_alone_on_its_last_line_and_list_json_holds_the_notice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    notice_id = create(capsys, "--next-update", "+30m")

    [notice] = listed(capsys)
    assert notice_id.isdigit() and str(notice["id"]) == notice_id
    assert set(notice) >= CONTRACT_KEYS
    assert (notice["kind"], notice["status"], notice["systems"]) == (
        "outage",
        "investigating",
        ["Epic", "Citrix Workspace"],
    )
    assert isinstance(notice["next_update"], str)


def test_update_then_resolve_walks_the_lifecycle(capsys: pytest.CaptureFixture[str]) -> None:
    notice_id = create(capsys)

    assert (
        run(capsys, "notice", "update", notice_id, "--status", "identified", "--body", "Storage is slow.")[0]
        == EXIT_OK
    )
    assert run(capsys, "notice", "resolve", notice_id)[0] == EXIT_OK

    [notice] = listed(capsys)
    assert notice["status"] == "resolved" and notice["body"] == "Storage is slow."


def test_resolving_a_resolved_notice_fails_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    notice_id = create(capsys)
    run(capsys, "notice", "resolve", notice_id)

    code, _, err = run(capsys, "notice", "resolve", notice_id)

    assert code == EXIT_FAILED and "already resolved" in err


def test_an_unknown_system_fails_suggesting_the_closest_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys,
        "notice",
        "create",
        "--kind",
        "outage",
        "--title",
        "T",
        "--systems",
        "Epic,Vocra",
        "--body",
        "b",
    )

    assert code == EXIT_FAILED and out == ""
    assert "Unknown system 'Vocra'" in err and "Did you mean 'Vocera'" in err
    assert listed(capsys) == []


def test_an_upgrade_scheduled_in_the_past_fails_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys,
        "notice",
        "create",
        "--kind",
        "upgrade",
        "--title",
        "Epic upgrade",
        "--systems",
        "Epic",
        "--starts",
        "2020-01-01T02:00",
        "--ends",
        "2020-01-01T04:00",
    )

    assert code == EXIT_FAILED and "past" in err
    assert listed(capsys) == []


def test_an_upgrade_keeps_its_window_and_what_changes_for_staff(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys,
        "notice",
        "create",
        "--kind",
        "upgrade",
        "--title",
        "Epic upgrade",
        "--systems",
        "Epic",
        "--starts",
        "+2h",
        "--ends",
        "+4h",
        "--changes",
        "New banner layout.",
        "--downtime-article",
        "downtime/ehr-downtime-procedures.md",
        "--body",
        "Read-only for 2 hours.",
    )
    assert code == EXIT_OK, err

    [notice] = listed(capsys)
    assert notice["status"] == "scheduled" and notice["starts"] and notice["ends"]
    assert (notice["staff_changes"], notice["procedure_article"]) == (
        "New banner layout.",
        "downtime/ehr-downtime-procedures",
    )
    assert notice["active"] is False
    code, out, _ = run(capsys, "notice", "show", str(notice["id"]))
    assert "Changes:  New banner layout." in out
    assert "Downtime procedure: downtime/ehr-downtime-procedures" in out


def test_a_downtime_article_that_does_not_exist_is_refused_with_the_closest_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys,
        *("notice", "create", "--kind", "upgrade", "--title", "Epic upgrade", "--systems", "Epic"),
        *("--starts", "+2h", "--ends", "+4h", "--downtime-article", "downtime/ehr-downtime-procedure"),
    )

    assert code == EXIT_FAILED and out == ""
    assert "No knowledge article 'downtime/ehr-downtime-procedure'" in err
    assert "Did you mean 'downtime/ehr-downtime-procedures'" in err
    assert listed(capsys) == []


def test_update_changes_what_changes_for_staff_and_the_downtime_article(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys,
        *("notice", "create", "--kind", "upgrade", "--title", "Epic upgrade", "--systems", "Epic"),
        *("--starts", "+2h", "--ends", "+4h"),
    )
    assert code == EXIT_OK, err
    notice_id = out.strip().splitlines()[-1]

    code, _, err = run(
        capsys,
        *("notice", "update", notice_id, "--changes", "Log in with your badge."),
        *("--downtime-article", "downtime/ehr-downtime-procedures", "--ends", "+5h"),
    )

    assert code == EXIT_OK, err
    [notice] = listed(capsys)
    assert notice["staff_changes"] == "Log in with your badge."
    assert notice["procedure_article"] == "downtime/ehr-downtime-procedures"


def test_an_unknown_notice_id_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "notice", "resolve", "4242")
    assert code == EXIT_FAILED and "no notice 4242" in err.lower()


def test_systems_list_shows_each_system_with_its_state(capsys: pytest.CaptureFixture[str]) -> None:
    create(capsys)

    code, out, _ = run(capsys, "systems", "list", "--json")

    states = {row["name"]: row["state"] for row in json.loads(out)}
    assert code == EXIT_OK and states["Epic"] == "degraded" and states["Vocera"] == "operational"


def test_systems_add_makes_a_new_name_usable_in_notices(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "systems", "add", "Lab system", "--aliases", "beaker,lis")[0] == EXIT_OK

    code, _, err = run(
        capsys, "notice", "create", "--kind", "outage", "--title", "Beaker slow", "--systems", "beaker"
    )

    assert code == EXIT_OK, err
    assert listed(capsys)[0]["systems"] == ["Lab system"]


def test_a_refusal_names_the_flag_that_sets_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "notice", "create", "--kind", "upgrade", "--title", "Citrix", "--systems", "Epic"
    )
    assert code == EXIT_FAILED
    assert "when it starts and when it ends (--starts and --ends)" in err
