"""The database: an engine and sessions built from ``Settings``, and migrations run to head.

SQLite (the default, a file in ``ITBOT_HOME``) gets WAL and enforced foreign keys; PostgreSQL is
reached through psycopg 3 (``postgresql+psycopg://``). Nothing here runs at import time: the edge
(``create_app``, the CLI) calls ``create_db_engine`` and ``init_db`` with its settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bot.config import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SessionFactory = Callable[[], Session]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL makes NORMAL durable across application crashes; only an OS crash can lose the last commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def create_db_engine(settings: Settings) -> Engine:
    """An engine for ``settings.sqlalchemy_url``.

    For SQLite the database's folder is created, every connection gets WAL, foreign keys and a busy
    timeout, and connections may be used from the server's worker threads. For other databases
    connections are checked before use, so a restarted PostgreSQL does not fail the next request.
    """
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def session_factory(engine: Engine) -> SessionFactory:
    """A callable that opens a new ``Session`` on ``engine``; objects stay readable after commit."""

    def open_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return open_session


def alembic_config(settings: Settings) -> Config:
    """The Alembic configuration for itbot's packaged migrations (no ``alembic.ini`` needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a "%" in a password.
    config.set_main_option("sqlalchemy.url", settings.sqlalchemy_url.replace("%", "%%"))
    return config


def init_db(settings: Settings, *, engine: Engine | None = None) -> None:
    """Bring the database named by ``settings`` up to the newest schema (Alembic ``upgrade head``).

    Safe to run on every start: an up-to-date database is left as it is. When ``engine`` is given its
    connection is used (and its SQLite pragmas apply); otherwise a short-lived engine is made.
    """
    own_engine = engine is None
    active = engine if engine is not None else create_db_engine(settings)
    try:
        with active.begin() as connection:
            config = alembic_config(settings)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if own_engine:
            active.dispose()
