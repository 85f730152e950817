"""notices from monitoring: a notice's alert key and source; tickets linked to an outage

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

``notice.alert_key`` is what deduplicates alerts (an Alertmanager ``groupKey``, a generic alert's
``fingerprint``): unique while the notice is open, set back to NULL when it ends, so the same alert
firing next week opens a new draft. ``notice.alert_source`` says which monitoring sent it (kept).
``notice.alert_status`` is the alert's last state (``firing`` or ``resolved``). ``ticket.notice_id``
is the outage a ticket was linked to when it was opened (NULL: it stands alone).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notice") as batch:
        batch.add_column(sa.Column("alert_key", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("alert_source", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("alert_status", sa.String(length=16), nullable=False, server_default=""))
        batch.create_unique_constraint("uq_notice_alert_key", ["alert_key"])
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("notice_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_ticket_notice_id", "notice", ["notice_id"], ["id"])
        batch.create_index("ix_ticket_notice_id", ["notice_id"])


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index("ix_ticket_notice_id")
        batch.drop_constraint("fk_ticket_notice_id", type_="foreignkey")
        batch.drop_column("notice_id")
    with op.batch_alter_table("notice") as batch:
        batch.drop_constraint("uq_notice_alert_key", type_="unique")
        batch.drop_column("alert_status")
        batch.drop_column("alert_source")
        batch.drop_column("alert_key")
