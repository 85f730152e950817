"""Test databases: a SQLite file on ``tmp_path``, or a private schema in a real PostgreSQL.

PostgreSQL is reached at ``ITBOT_TEST_POSTGRES_URL`` (default: trust auth on 127.0.0.1:5432,
database ``test``, user ``postgres``). When it cannot be reached the test is skipped with the
reason, except with ``CI=true``: then it fails, because CI must run every backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    """The PostgreSQL server the tests use (SQLAlchemy URL, psycopg driver)."""
    return os.environ.get("ITBOT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _libpq_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def require_postgres() -> str:
    """The PostgreSQL URL if a server answers there; else skip (or fail when ``CI=true``)."""
    url = postgres_url()
    try:
        with psycopg.connect(_libpq_conninfo(url), connect_timeout=3) as connection:
            connection.execute("select 1")
    except psycopg.Error as exc:
        reason = f"PostgreSQL not reachable at {make_url(url).render_as_string()}: {type(exc).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run, not skip)")
        pytest.skip(reason)
    return url


def sqlite_settings(home: Path, **overrides: object) -> Settings:
    """Settings with a SQLite database in ``home`` (explicit, whatever ``DATABASE_URL`` says)."""
    values: dict[str, object] = {
        "home": home,
        "kb": home / "kb",
        "database_url": f"sqlite:///{home / 'itbot.db'}",
        "service_desk_phone": "x4357",
        "public_url": "",
        "index_poll_seconds": 0.05,
        # No shift-change digests unless a test asks: with the default times, a test run in the half
        # hour after 07:00 or 19:00 would post one beside what it checks.
        "notice_digest_times": "",
    }
    values.update(overrides)
    return Settings.model_validate(values)


@contextmanager
def private_schema(url: str, *, prefix: str = "itbot_test") -> Iterator[str]:
    """A fresh schema in the PostgreSQL at ``url``, dropped again afterwards: yields the SQLAlchemy URL
    whose connections use it. Raises ``psycopg.Error`` when the server cannot be reached."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conninfo = _libpq_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as connection:
        connection.execute(f'create schema "{schema}"')
    try:
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'drop schema if exists "{schema}" cascade')


@contextmanager
def postgres_settings(home: Path, **overrides: object) -> Iterator[Settings]:
    """Settings whose database is a fresh PostgreSQL schema, dropped again afterwards."""
    with private_schema(require_postgres()) as url:
        yield sqlite_settings(home, database_url=url, **overrides)
