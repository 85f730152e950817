"""Fixtures for the integration tier: real databases and a live HTTP server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.db import create_db_engine, init_db, session_factory
from bot.main import create_app
from tests.databases import postgres_settings, sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one database backend, private to this test (a file, or a fresh schema)."""
    if request.param == "sqlite":
        yield sqlite_settings(tmp_path)
    else:
        with postgres_settings(tmp_path) as settings:
            yield settings


@pytest.fixture
def db_engine(db_settings: Settings) -> Iterator[Engine]:
    """An engine on a database migrated to head."""
    engine = create_db_engine(db_settings)
    init_db(db_settings, engine=engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session on the migrated test database."""
    with session_factory(db_engine)() as opened:
        yield opened


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    """Settings for a server on SQLite in ``tmp_path``."""
    return sqlite_settings(tmp_path)


@pytest.fixture
def fake_assistant() -> FakeAssistant:
    """The deterministic twin of the assistant."""
    return FakeAssistant()


@pytest.fixture
def live_server(web_settings: Settings, fake_assistant: FakeAssistant) -> Iterator[LiveServer]:
    """The whole app (fake assistant, SQLite) served by uvicorn on a free loopback port."""
    with serve(create_app(web_settings, assistant=fake_assistant)) as server:
        yield server


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """``caplog`` capturing DEBUG and up from every logger, the ones created later included."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog
