"""``itbot slack socket`` tells what is missing instead of starting half set up."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.cli.main import EXIT_SETUP, main


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("ITBOT_", "SLACK_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ITBOT_HOME", str(tmp_path / "home"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_socket_mode_without_tokens_exits_2_naming_both(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slack", "socket"]) == EXIT_SETUP

    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN and SLACK_APP_TOKEN" in err


def test_socket_mode_without_the_app_token_names_only_that(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")

    assert main(["slack", "socket"]) == EXIT_SETUP

    err = capsys.readouterr().err
    assert "set SLACK_APP_TOKEN first" in err


def test_socket_mode_without_an_index_exits_2_and_says_to_index(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")

    assert main(["slack", "socket"]) == EXIT_SETUP

    assert "itbot index" in capsys.readouterr().err
