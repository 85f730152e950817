"""The transactional outbox: messages to other systems, written in the same transaction as the change
that causes them, and delivered afterwards by the worker (``itbot worker``).

A message is ``pending`` until the worker takes it (``locked_by`` / ``locked_until``), then
``delivered``, or back to ``pending`` with a later ``next_attempt_at`` after a failure, or ``failed``
(the dead letter) once it has been tried ``outbox_max_attempts`` times *and* for
``outbox_dead_letter_after_seconds`` since ``first_attempt_at`` (or at once when the receiver refused
it for good). ``itbot tickets retry`` requeues a dead letter: fresh attempts, ``requeues`` + 1.
``idempotency_key`` is unique: enqueuing the same message twice stores it once, and the receiver gets
the key so a redelivery creates nothing new.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Enum as SqlEnum
from sqlmodel import Field, SQLModel

from bot.interactions.models import UtcDateTime, new_id, utcnow


class OutboxStatus(StrEnum):
    """Where an outbound message is in its delivery."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


OUTBOX_STATUS_TYPE = SqlEnum(
    OutboxStatus, native_enum=False, length=16, values_callable=lambda kinds: [k.value for k in kinds]
)


class OutboxMessage(SQLModel, table=True):
    """The ``outbox_message`` table. ``payload`` is already scrubbed: it is forwarded as it is."""

    __tablename__ = "outbox_message"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    target: str = Field(max_length=32, index=True, description="itsm (the service desk) or chat.")
    topic: str = Field(max_length=64, description="e.g. ticket.created, ticket.comment, chat.message")
    ticket_id: str | None = Field(default=None, max_length=36, index=True)
    idempotency_key: str = Field(max_length=255, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=OUTBOX_STATUS_TYPE, index=True)
    attempts: int = Field(default=0, ge=0, description="Tries since it was enqueued or last requeued.")
    first_attempt_at: datetime | None = Field(
        default=None, sa_type=UtcDateTime, description="When the first of those tries started."
    )
    requeues: int = Field(default=0, ge=0, description="How often IT requeued it from the dead letter.")
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str = Field(default="", max_length=255, description="Error type or HTTP status, no text.")
    external_ref: str = Field(default="", max_length=255, description="The receiver's id for it.")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
