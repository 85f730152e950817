"""notice delivery: routes per system and site, the dispatch queue and schedule, planned updates, acks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_route",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("systems", sa.JSON(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "target", name="uq_notice_route"),
    )
    op.create_table(
        "notice_dispatch",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=255), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notice.id"), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_notice_dispatch_notice_id", "notice_dispatch", ["notice_id"])
    op.create_index("ix_notice_dispatch_status", "notice_dispatch", ["status"])
    op.create_index("ix_notice_dispatch_due_at", "notice_dispatch", ["due_at"])
    op.create_table(
        "notice_planned",
        sa.Column(
            "event_id", sa.Integer(), sa.ForeignKey("notice_event.id"), primary_key=True, autoincrement=False
        ),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "notice_ack",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notice.id"), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("notice_id", "channel", "user", name="uq_notice_ack"),
    )
    op.create_index("ix_notice_ack_notice_id", "notice_ack", ["notice_id"])
    # Updates made before delivery existed are history, not news: mark them planned so the first
    # worker after this migration does not post a year of notices into every channel.
    op.execute("INSERT INTO notice_planned (event_id, planned_at) SELECT id, created_at FROM notice_event")


def downgrade() -> None:
    op.drop_table("notice_ack")
    op.drop_table("notice_planned")
    op.drop_table("notice_dispatch")
    op.drop_table("notice_route")
