"""Notices IT posts about outages and upgrades, the systems they concern, and who to tell.

The model family follows the ``notice`` table: ``NoticeBase`` (what IT writes) → ``Notice`` (the
table) → ``NoticePublic`` (what ``itbot notice list --json``, the API and an ``outage`` reply show).
Beside it:

* ``NoticeSystem``: the registry of systems (name, aliases). A system's *state* is not stored: it
  follows from the active notices that name it (``bot.notices.lifecycle.system_states``).
* ``NoticeEvent``: the timestamped updates (status changes and the words IT posted), in order.
* ``NoticeSubscriber``: the people who asked to be told when the notice is resolved, with their
  thread (opaque ``reply_to``); one row a person and notice.
* ``NoticeDelivery``: where a notice was posted (one row a notice and channel target), so that the
  next increment can edit the post in place; nothing writes it yet.

Every free text here is written by IT, not by patients' carers; it is stored as given.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlalchemy import Enum as SqlEnum
from sqlmodel import Field, SQLModel

from bot.interactions.models import UtcDateTime, utcnow


class NoticeKind(StrEnum):
    """An ``outage`` (something broke) or an ``upgrade`` (planned work with a window)."""

    OUTAGE = "outage"
    UPGRADE = "upgrade"


class NoticeStatus(StrEnum):
    """Where a notice is. Outages: investigating → identified → monitoring → resolved. Upgrades:
    scheduled → in_progress → completed, or postponed / cancelled. An outage that monitoring reported
    starts as a ``draft`` nobody is told about, until IT confirms it (``investigating``) or discards
    it (``discarded``)."""

    DRAFT = "draft"
    DISCARDED = "discarded"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"


class Impact(StrEnum):
    """How badly an outage hurts its systems: ``degraded`` (slow, partly working) or ``down``."""

    DEGRADED = "degraded"
    DOWN = "down"


class SystemState(StrEnum):
    """A system's state, from the active notices that name it (the worst wins)."""

    OPERATIONAL = "operational"
    UPGRADE_WINDOW = "upgrade_window"
    DEGRADED = "degraded"
    DOWN = "down"


def _enum_type(enum: type[StrEnum]) -> SqlEnum:
    return SqlEnum(enum, native_enum=False, length=16, values_callable=lambda kinds: [k.value for k in kinds])


KIND_TYPE = _enum_type(NoticeKind)
STATUS_TYPE = _enum_type(NoticeStatus)
IMPACT_TYPE = _enum_type(Impact)


class NoticeSystem(SQLModel, table=True):
    """The ``notice_system`` table: one system staff may ask about, and the words for it."""

    __tablename__ = "notice_system"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True, description="As IT writes it: Epic, Pyxis MedStation.")
    aliases: list[str] = Field(default_factory=list, sa_type=JSON, description="Other words for it.")
    source: str = Field(default="manual", max_length=16, description="knowledge, glossary or manual.")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class NoticeBase(SQLModel):
    """What IT writes about an outage or an upgrade."""

    kind: NoticeKind = Field(sa_type=KIND_TYPE)
    title: str = Field(max_length=200)
    status: NoticeStatus = Field(sa_type=STATUS_TYPE)
    impact: Impact = Field(default=Impact.DEGRADED, sa_type=IMPACT_TYPE)
    body: str = Field(default="", sa_type=Text)
    staff_changes: str = Field(default="", sa_type=Text, description="Upgrades: what changes for staff.")
    procedure_article: str = Field(default="", max_length=255, description="The downtime procedure's id.")
    author: str = Field(default="", max_length=64)


class Notice(NoticeBase, table=True):
    """The ``notice`` table."""

    __table_args__ = (UniqueConstraint("alert_key", name="uq_notice_alert_key"),)

    id: int | None = Field(default=None, primary_key=True)
    systems: list[str] = Field(default_factory=list, sa_type=JSON, description="Registry names.")
    sites: list[str] = Field(default_factory=list, sa_type=JSON, description="Sites or units; empty: all.")
    next_update_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    starts_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    ends_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    alert_key: str | None = Field(
        default=None, max_length=255, description="The alert that opened it, while open (dedup)."
    )
    alert_source: str = Field(default="", max_length=64, description="Which monitoring sent it.")
    alert_status: str = Field(default="", max_length=16, description="The alert's last state.")


class NoticeEvent(SQLModel, table=True):
    """The ``notice_event`` table: one timestamped update of a notice."""

    __tablename__ = "notice_event"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    status: NoticeStatus = Field(sa_type=STATUS_TYPE)
    body: str = Field(default="", sa_type=Text)
    author: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class NoticeSubscriber(SQLModel, table=True):
    """The ``notice_subscriber`` table: a person to tell when the notice is resolved."""

    __tablename__ = "notice_subscriber"
    __table_args__ = (UniqueConstraint("notice_id", "channel", "user", name="uq_notice_subscriber"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    channel: str = Field(max_length=32)
    user: str = Field(max_length=255)
    reply_to: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="The thread (opaque).")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    told_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class NoticeDelivery(SQLModel, table=True):
    """The ``notice_delivery`` table: where a notice was posted, to edit that post in place later."""

    __tablename__ = "notice_delivery"
    __table_args__ = (UniqueConstraint("notice_id", "channel", "target", name="uq_notice_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    channel: str = Field(max_length=32, description="slack, teams ...")
    target: str = Field(max_length=255, description="The channel's own id for where it was posted.")
    message_ref: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="e.g. Slack ts.")
    posted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class NoticeEventPublic(SQLModel):
    """One update as JSON shows it."""

    status: str
    body: str
    author: str
    at: datetime


class NoticePublic(SQLModel):
    """A notice as every JSON output shows it (the contract's keys first)."""

    id: int
    kind: str
    title: str
    status: str
    systems: list[str]
    body: str
    next_update: datetime | None
    impact: str
    sites: list[str]
    starts: datetime | None
    ends: datetime | None
    staff_changes: str
    procedure_article: str
    active: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    alert_source: str = ""
    alert_status: str = ""
    reports: int = Field(default=0, description="Tickets' reporters linked to it (people affected).")
    tickets: list[str] = Field(default_factory=list, description="Numbers of the tickets linked to it.")
    updates: list[NoticeEventPublic] = Field(default_factory=list)
    acknowledged: int = Field(default=0, description='Upgrades: how many people tapped "Got it".')
    posted_in: list[str] = Field(default_factory=list, description="channel:target it was posted in.")


class SystemPublic(SQLModel):
    """A system of the registry and its state."""

    name: str
    aliases: list[str]
    state: str
    notices: list[int] = Field(default_factory=list, description="The active notices naming it.")
