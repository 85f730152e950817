"""teams notice posts: what the Teams notice sender posted, by dispatch key (a retry finds it)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teams_notice_post",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_teams_notice_post")),
    )
    op.create_index(op.f("ix_teams_notice_post_posted_at"), "teams_notice_post", ["posted_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_teams_notice_post_posted_at"), table_name="teams_notice_post")
    op.drop_table("teams_notice_post")
