"""analytics rollup: per-day counts of settled days, change counters kept by triggers, console indexes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

The triggers raise ``analytics_day.changes`` for the UTC day of an inserted, changed or deleted
interaction or ticket, and for the day before it (whose deflection looks 24 hours ahead); they raise
``ticket_changes`` for the day a ticket was opened when it or one of its events changes (its times
to first response and resolution). So a count made earlier is never used after the rows under it
changed, whichever process wrote them.

SQLite: a later migration that rebuilds ``interaction`` or ``ticket`` with ``batch_alter_table``
(copy and move) drops their triggers; it must create them again (``create_triggers`` below).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Which columns of each table the analytics read; changes to other columns need no recount.
WATCHED = {
    "interaction": ("created_at", "channel", "user_id", "decision", "top_article", "feedback"),
    "ticket": ("created_at", "channel", "requester", "resolved_at"),
}
# Each change adds to both counts of a day: (changes, ticket_changes).
_UPSERT = (
    "ON CONFLICT (day) DO UPDATE SET changes = analytics_day.changes + excluded.changes, "
    "ticket_changes = analytics_day.ticket_changes + excluded.ticket_changes"
)


def _sqlite_rows(table: str, row: str) -> str:
    """The (day, changes, ticket_changes) rows a change to ``row`` of ``table`` adds."""
    day = f"substr({row}.created_at, 1, 10)"
    ticket = 1 if table == "ticket" else 0
    return f"({day}, 1, {ticket}), (date({day}, '-1 day'), 1, 0)"


def create_triggers(dialect: str) -> None:
    """The triggers that keep ``analytics_day``'s counts current, for ``dialect``."""
    insert = "INSERT INTO analytics_day (day, changes, ticket_changes)"
    if dialect == "sqlite":
        for table, columns in WATCHED.items():
            for verb, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), ("UPDATE", ("OLD", "NEW"))):
                what = f"UPDATE OF {', '.join(columns)}" if verb == "UPDATE" else verb
                statements = " ".join(
                    f"{insert} VALUES {_sqlite_rows(table, row)} {_UPSERT};" for row in rows
                )
                op.execute(
                    f"CREATE TRIGGER analytics_{table}_{verb.lower()} AFTER {what} ON {table} "
                    f"FOR EACH ROW BEGIN {statements} END"
                )
        for verb in ("INSERT", "DELETE", "UPDATE"):
            row = "OLD" if verb == "DELETE" else "NEW"
            op.execute(
                f"CREATE TRIGGER analytics_ticket_event_{verb.lower()} AFTER {verb} ON ticket_event "
                f"FOR EACH ROW BEGIN {insert} SELECT substr(created_at, 1, 10), 0, 1 FROM ticket "
                f"WHERE ticket.id = {row}.ticket_id {_UPSERT}; END"
            )
        return
    op.execute(
        f"""
        CREATE FUNCTION analytics_day_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            days text[] := '{{}}';
            moment timestamp;
        BEGIN
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                moment := NEW.created_at AT TIME ZONE 'UTC';
                days := days || to_char(moment, 'YYYY-MM-DD')
                    || to_char(moment - interval '1 day', 'YYYY-MM-DD');
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                moment := OLD.created_at AT TIME ZONE 'UTC';
                days := days || to_char(moment, 'YYYY-MM-DD')
                    || to_char(moment - interval '1 day', 'YYYY-MM-DD');
            END IF;
            -- A ticket's own days (the even places) also count for its times; in day order, so that
            -- two writers never wait on each other's days crosswise.
            {insert}
                SELECT d, 1, max(CASE WHEN TG_TABLE_NAME = 'ticket' AND n % 2 = 1 THEN 1 ELSE 0 END)
                FROM unnest(days) WITH ORDINALITY AS u(d, n) GROUP BY d ORDER BY d
                {_UPSERT};
            RETURN NULL;
        END
        $$
        """
    )
    for table, columns in WATCHED.items():
        op.execute(
            f"CREATE TRIGGER analytics_{table}_change AFTER INSERT OR DELETE OR UPDATE OF "
            f"{', '.join(columns)} ON {table} FOR EACH ROW EXECUTE FUNCTION analytics_day_touch()"
        )
    # A ticket's events (its first agent action) count for its times on the day it was opened.
    op.execute(
        f"""
        CREATE FUNCTION analytics_ticket_event_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {insert}
                SELECT to_char(ticket.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 0, 1 FROM ticket
                WHERE ticket.id = CASE WHEN TG_OP = 'DELETE' THEN OLD.ticket_id ELSE NEW.ticket_id END
                {_UPSERT};
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER analytics_ticket_event_change AFTER INSERT OR DELETE OR UPDATE ON ticket_event "
        "FOR EACH ROW EXECUTE FUNCTION analytics_ticket_event_touch()"
    )


def drop_triggers(dialect: str) -> None:
    """Remove what ``create_triggers`` made."""
    if dialect == "sqlite":
        for table in (*WATCHED, "ticket_event"):
            for verb in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS analytics_{table}_{verb}")
        return
    for table in (*WATCHED, "ticket_event"):
        op.execute(f"DROP TRIGGER IF EXISTS analytics_{table}_change ON {table}")
    op.execute("DROP FUNCTION IF EXISTS analytics_day_touch()")
    op.execute("DROP FUNCTION IF EXISTS analytics_ticket_event_touch()")


def upgrade() -> None:
    op.create_table(
        "analytics_day",
        sa.Column("day", sa.String(length=10), primary_key=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("ticket_changes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rolled", sa.Integer(), nullable=True),
    )
    op.create_table(
        "analytics_day_group",
        sa.Column("day", sa.String(length=10), primary_key=True),
        sa.Column("channel", sa.String(length=32), primary_key=True),
        sa.Column("decision", sa.String(length=16), primary_key=True),
        sa.Column("article", sa.String(length=512), primary_key=True),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("fixed", sa.Integer(), nullable=False),
        sa.Column("stuck", sa.Integer(), nullable=False),
        sa.Column("deflected", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
    )
    create_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    drop_triggers(op.get_bind().dialect.name)
    op.drop_table("analytics_day_group")
    op.drop_table("analytics_day")
