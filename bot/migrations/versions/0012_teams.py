"""teams: activities claimed once, and the cards posted (to update them after a click)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teams_activity",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_teams_activity")),
    )
    op.create_index(op.f("ix_teams_activity_received_at"), "teams_activity", ["received_at"], unique=False)
    op.create_table(
        "teams_card",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_teams_card")),
    )
    op.create_index(op.f("ix_teams_card_posted_at"), "teams_card", ["posted_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_teams_card_posted_at"), table_name="teams_card")
    op.drop_table("teams_card")
    op.drop_index(op.f("ix_teams_activity_received_at"), table_name="teams_activity")
    op.drop_table("teams_activity")
