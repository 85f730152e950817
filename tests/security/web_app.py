"""The app the web-facing security tests attack: fake assistant, SQLite, tickets API on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.main import create_app
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

TOKEN = "tickets-token-for-tests"


@contextmanager
def server_with(tmp_path: Path, **overrides: object) -> Iterator[LiveServer]:
    """The app (fake assistant, SQLite in ``tmp_path``, tickets API on) with ``overrides`` applied."""
    settings = sqlite_settings(tmp_path, tickets_api_token=TOKEN, **overrides)
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live
