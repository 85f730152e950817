"""tickets: the ticket store, its history, its reporters and the number counter

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_number",
        sa.Column("value", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("value", name=op.f("pk_ticket_number")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "ticket",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("requester", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("system", sa.String(length=128), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=128), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.Column("patient_waiting", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=255), nullable=False),
        sa.Column("affected_count", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("reply_to", sa.JSON(), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("articles", sa.JSON(), nullable=False),
        sa.Column("priority_reasons", sa.JSON(), nullable=False),
        sa.Column("report_text", sa.Text(), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint("number", name=op.f("uq_ticket_number")),
        sa.UniqueConstraint("source_key", name=op.f("uq_ticket_source_key")),
    )
    op.create_index(op.f("ix_ticket_seq"), "ticket", ["seq"], unique=False)
    op.create_index(op.f("ix_ticket_conversation_id"), "ticket", ["conversation_id"], unique=False)
    op.create_index(op.f("ix_ticket_created_at"), "ticket", ["created_at"], unique=False)
    op.create_index(op.f("ix_ticket_last_reported_at"), "ticket", ["last_reported_at"], unique=False)
    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_event_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_event")),
    )
    op.create_index(op.f("ix_ticket_event_ticket_id"), "ticket_event", ["ticket_id"], unique=False)
    op.create_table(
        "ticket_reporter",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("requester", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("reply_to", sa.JSON(), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("open_conversation_id", sa.String(length=36), nullable=True),
        sa.Column("report_text", sa.Text(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_reporter_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_reporter")),
        sa.UniqueConstraint("open_conversation_id", name=op.f("uq_ticket_reporter_open_conversation_id")),
    )
    op.create_index(op.f("ix_ticket_reporter_ticket_id"), "ticket_reporter", ["ticket_id"], unique=False)
    op.create_index(
        op.f("ix_ticket_reporter_conversation_id"), "ticket_reporter", ["conversation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_reporter_conversation_id"), table_name="ticket_reporter")
    op.drop_index(op.f("ix_ticket_reporter_ticket_id"), table_name="ticket_reporter")
    op.drop_table("ticket_reporter")
    op.drop_index(op.f("ix_ticket_event_ticket_id"), table_name="ticket_event")
    op.drop_table("ticket_event")
    op.drop_index(op.f("ix_ticket_last_reported_at"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_created_at"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_conversation_id"), table_name="ticket")
    op.drop_index(op.f("ix_ticket_seq"), table_name="ticket")
    op.drop_table("ticket")
    op.drop_table("ticket_number")
