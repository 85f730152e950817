"""Where notices go and what was sent: the tables behind delivery.

* ``NoticeRoute``: one channel IT configured to receive notices, and which ones: those naming any of
  its ``systems`` (empty: any system) at any of its ``sites`` (empty: every site; the all-staff
  channel). A notice that names no site is hospital-wide and goes to every route its systems match.
* ``NoticeDispatch``: the durable queue and schedule. One row per message to send to one channel:
  the first post of a notice, each update (edit the post, add a line in its thread), each upgrade
  reminder, each shift-change digest, each refresh of the "Got it" count. ``key`` is unique (notice,
  channel, event), so planning the same thing twice stores it once; a row is sent at most once
  because a worker claims it (its id in ``claimed_by``, a lease in ``claimed_until``) before
  sending, and marks it ``sent`` in the same statement that checks it still holds the claim.
* ``NoticePlanned``: the notice updates already turned into dispatch rows (one row per update).
* ``NoticeAck``: who tapped "Got it" on an upgrade notice; one row a person and notice.

The message posted for a notice in a channel (its Slack ts) is kept in ``NoticeDelivery``
(``bot.notices.models``), so that updates edit it in place.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy import Enum as SqlEnum
from sqlmodel import Field, SQLModel

from bot.interactions.models import UtcDateTime, utcnow


class DispatchKind(StrEnum):
    """What a dispatch row sends."""

    POST = "post"  # the notice's message in the channel
    UPDATE = "update"  # edit that message, and one line in its thread
    REMINDER = "reminder"  # an upgrade reminder: a new message in the channel
    DIGEST = "digest"  # the shift-change digest: a new message in the channel
    REFRESH = "refresh"  # edit the post (and its reminders) to show the "Got it" count as it is now


class DispatchStatus(StrEnum):
    """Where a dispatch row is: ``pending`` (due at ``due_at``), ``sending`` (claimed), ``sent``,
    ``skipped`` (nothing to send any more: a reminder of a cancelled upgrade, an empty digest) or
    ``failed`` (the channel refused it for good)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


def _enum_type(enum: type[StrEnum]) -> SqlEnum:
    return SqlEnum(enum, native_enum=False, length=16, values_callable=lambda kinds: [k.value for k in kinds])


class NoticeRoute(SQLModel, table=True):
    """The ``notice_route`` table: a channel that receives the notices of some systems and sites."""

    __tablename__ = "notice_route"
    __table_args__ = (UniqueConstraint("channel", "target", name="uq_notice_route"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="slack", max_length=32, description="slack, teams ...")
    target: str = Field(max_length=255, description="The channel's own id (Slack: C0123...).")
    label: str = Field(default="", max_length=128, description="What IT calls it: #ed, #all-staff.")
    systems: list[str] = Field(default_factory=list, sa_type=JSON, description="Empty: every system.")
    sites: list[str] = Field(default_factory=list, sa_type=JSON, description="Empty: every site.")
    digest: bool = Field(default=True, description="Gets the shift-change digest.")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class NoticeDispatch(SQLModel, table=True):
    """The ``notice_dispatch`` table: one message to one channel, due at ``due_at``."""

    __tablename__ = "notice_dispatch"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True, description="notice, channel and event: never twice.")
    kind: DispatchKind = Field(sa_type=_enum_type(DispatchKind))
    notice_id: int | None = Field(default=None, foreign_key="notice.id", index=True)
    channel: str = Field(max_length=32)
    target: str = Field(max_length=255)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="Event id, reminder.")
    status: DispatchStatus = Field(
        default=DispatchStatus.PENDING, sa_type=_enum_type(DispatchStatus), index=True
    )
    due_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    attempts: int = Field(default=0, description="Claims that may have reached the channel.")
    last_error: str = Field(default="", max_length=255, description="An error code, never text.")
    ref: str = Field(default="", max_length=255, description="The channel's id of what was posted.")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class NoticePlanned(SQLModel, table=True):
    """The ``notice_planned`` table: a notice update whose dispatch rows exist."""

    __tablename__ = "notice_planned"

    event_id: int = Field(
        primary_key=True, foreign_key="notice_event.id", sa_column_kwargs={"autoincrement": False}
    )
    planned_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class NoticeAck(SQLModel, table=True):
    """The ``notice_ack`` table: one person's "Got it" on a notice."""

    __tablename__ = "notice_ack"
    __table_args__ = (UniqueConstraint("notice_id", "channel", "user", name="uq_notice_ack"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    channel: str = Field(max_length=32)
    user: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
