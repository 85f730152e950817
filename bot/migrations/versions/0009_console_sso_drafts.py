"""console: single sign-on identities and attempts, article drafts under review

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("console_user") as batch:
        batch.add_column(sa.Column("sso_subject", sa.String(length=512), nullable=True))
    op.create_index(op.f("ix_console_user_sso_subject"), "console_user", ["sso_subject"], unique=True)
    op.create_table(
        "console_sso_login",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sso_login")),
    )
    op.create_index(
        op.f("ix_console_sso_login_expires_at"), "console_sso_login", ["expires_at"], unique=False
    )
    op.create_table(
        "article_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("base", sa.String(length=64), nullable=False),
        sa.Column("asked", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_draft")),
    )
    op.create_index(op.f("ix_article_draft_article_id"), "article_draft", ["article_id"], unique=False)
    op.create_index(op.f("ix_article_draft_author"), "article_draft", ["author"], unique=False)
    op.create_index(op.f("ix_article_draft_status"), "article_draft", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_article_draft_status"), table_name="article_draft")
    op.drop_index(op.f("ix_article_draft_author"), table_name="article_draft")
    op.drop_index(op.f("ix_article_draft_article_id"), table_name="article_draft")
    op.drop_table("article_draft")
    op.drop_index(op.f("ix_console_sso_login_expires_at"), table_name="console_sso_login")
    op.drop_table("console_sso_login")
    op.drop_index(op.f("ix_console_user_sso_subject"), table_name="console_user")
    with op.batch_alter_table("console_user") as batch:
        batch.drop_column("sso_subject")
