"""outbox: when a message's tries began, and how often it was requeued (the retry policy)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("requeues", sa.Integer(), nullable=False, server_default="0"))
    # Messages already tried: their enqueue time is the closest known start of their tries.
    op.execute("UPDATE outbox_message SET first_attempt_at = created_at WHERE attempts > 0")


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("requeues")
        batch.drop_column("first_attempt_at")
