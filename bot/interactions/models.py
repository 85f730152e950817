"""Interactions: one row per question answered, scrubbed, for analytics and feedback.

The model family follows one table: ``InteractionBase`` (shared fields) → ``InteractionCreate`` (what
a channel records) → ``Interaction`` (the table) → ``InteractionPublic`` (what JSON outputs show).
Feedback ("That fixed it" / "Still stuck") lives in two columns of the same row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Text, TypeDecorator
from sqlalchemy import Enum as SqlEnum
from sqlmodel import Field, SQLModel


class Feedback(StrEnum):
    """What the person said about an answer."""

    NONE = "none"
    HELPFUL = "helpful"
    UNHELPFUL = "unhelpful"


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh interaction id (a random UUID as text)."""
    return str(uuid.uuid4())


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that reads back in UTC on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware one")
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


FEEDBACK_TYPE = SqlEnum(
    Feedback, native_enum=False, length=16, values_callable=lambda kinds: [k.value for k in kinds]
)


class InteractionBase(SQLModel):
    """What is known about an answered question. ``question`` is always the scrubbed text."""

    channel: str = Field(max_length=32, description="Where it was asked: web, slack, teams, cli.")
    user_id: str = Field(default="", max_length=255, description="A chat identity, never a person's name.")
    question: str = Field(sa_type=Text, description="The question after PHI scrubbing.")
    decision: str = Field(max_length=16, index=True)
    top_article: str | None = Field(default=None, max_length=512)
    top_score: float | None = Field(default=None)
    citations: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=JSON, description='Best first: [{"article": id, "score": 0.0}].'
    )
    latency_ms: int = Field(default=0, ge=0)


class InteractionCreate(InteractionBase):
    """What a channel hands to ``create_interaction``."""


class Interaction(InteractionBase, table=True):
    """The ``interaction`` table."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    feedback: Feedback = Field(default=Feedback.NONE, sa_type=FEEDBACK_TYPE)
    feedback_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class InteractionPublic(InteractionBase):
    """An interaction as JSON outputs (console, CLI) show it."""

    id: str
    created_at: datetime
    feedback: Feedback
    feedback_at: datetime | None


class InteractionsPublic(SQLModel):
    """A page of interactions and how many there were."""

    data: list[InteractionPublic]
    count: int
