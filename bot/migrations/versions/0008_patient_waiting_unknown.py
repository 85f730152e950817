"""ticket: whether a patient is waiting may be unknown (NULL: nobody said)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Tickets opened before this revision keep the value they had: False there meant "no, or not said".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.alter_column("patient_waiting", existing_type=sa.Boolean(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE ticket SET patient_waiting = FALSE WHERE patient_waiting IS NULL")
    with op.batch_alter_table("ticket") as batch:
        batch.alter_column("patient_waiting", existing_type=sa.Boolean(), nullable=False)
