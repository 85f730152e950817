"""Alembic environment for itbot's schema.

``bot.db.init_db`` runs it programmatically and hands over an open connection in
``config.attributes["connection"]``; the ``alembic`` command line (for writing a new revision) gets a
URL through ``-x url=...`` or the ``sqlalchemy.url`` option instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool
from sqlmodel import SQLModel

# Imported for their side effect: each registers its tables on SQLModel.metadata.
import bot.channels.teams.models
import bot.console.analytics_models
import bot.console.models
import bot.interactions.conversation_models
import bot.interactions.models
import bot.notices.delivery_models
import bot.notices.models
import bot.tickets.models
import bot.tickets.outbox_models  # noqa: F401

target_metadata = SQLModel.metadata


def _url() -> str | None:
    url: str | None = context.get_x_argument(as_dictionary=True).get("url")
    return url or context.config.get_main_option("sqlalchemy.url")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection we were given, or on a fresh one from the URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = _url()
    if not url:
        raise RuntimeError("No database URL: pass -x url=... or use bot.db.init_db(settings).")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as fresh:
        _run(fresh)
    engine.dispose()


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    url = _url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
