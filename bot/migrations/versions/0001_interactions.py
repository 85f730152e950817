"""interactions: one scrubbed row per answered question, with feedback

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interaction",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("top_article", sa.String(length=512), nullable=True),
        sa.Column("top_score", sa.Float(), nullable=True),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("feedback", sa.String(length=16), nullable=False, server_default="none"),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction")),
    )
    op.create_index(op.f("ix_interaction_created_at"), "interaction", ["created_at"], unique=False)
    op.create_index(op.f("ix_interaction_decision"), "interaction", ["decision"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_interaction_decision"), table_name="interaction")
    op.drop_index(op.f("ix_interaction_created_at"), table_name="interaction")
    op.drop_table("interaction")
