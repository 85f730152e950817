"""Tickets: what IT works when the bot could not help, with their history and the people to tell.

The model family follows the ``ticket`` table: ``TicketBase`` (shared fields) → ``TicketCreate`` (what
the escalation flow opens) → ``Ticket`` (the table) → ``TicketPublic`` / ``TicketsPublic`` (what the
CLI's and the API's JSON show; ``TicketDetailPublic`` adds the transcript, history and reporters) and
``TicketUpdate`` (what an agent may change). Beside it:

* ``TicketEvent``: the history (created, details, comments by agent or requester, assignment, status
  changes, another reporter joining a folded incident), in the order it happened (``id`` increases).
* ``TicketReporter``: every person and thread to tell about the ticket: the one who opened it and
  everyone whose report was folded into it. ``open_conversation_id`` is set while the ticket is open
  and is unique, so a conversation is in at most one open ticket, whatever number of processes race.
* ``TicketNumber``: hands out numbers. Inserting a row takes the next value of the database's own
  counter (a sequence on PostgreSQL, ``AUTOINCREMENT`` on SQLite), so concurrent openers never share
  a number and numbers never go back; an opening that rolls back leaves a gap.

Every free text here (summary, transcript, event text, report text) is stored scrubbed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Text
from sqlalchemy import Enum as SqlEnum
from sqlmodel import Field, SQLModel

from bot.interactions.models import UtcDateTime, new_id, utcnow


class TicketStatus(StrEnum):
    """Where a ticket is: ``new`` (nobody took it yet), ``open`` (IT works it), ``waiting`` (on the
    requester or a vendor), ``resolved`` (fixed; reporters told), ``closed`` (no further changes)."""

    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING)


class EventKind(StrEnum):
    """What happened to a ticket."""

    CREATED = "created"
    DETAILS = "details"
    COMMENT = "comment"
    ASSIGNED = "assigned"
    STATUS = "status"
    JOINED = "joined"


class AuthorRole(StrEnum):
    """Who wrote an event: the bot itself, an IT agent, or a person who reported the problem."""

    SYSTEM = "system"
    AGENT = "agent"
    REQUESTER = "requester"


def _enum_type(enum: type[StrEnum]) -> SqlEnum:
    return SqlEnum(enum, native_enum=False, length=16, values_callable=lambda kinds: [k.value for k in kinds])


STATUS_TYPE = _enum_type(TicketStatus)
EVENT_KIND_TYPE = _enum_type(EventKind)
AUTHOR_ROLE_TYPE = _enum_type(AuthorRole)


class TicketBase(SQLModel):
    """What is known about a ticket. Every text is scrubbed; ``requester`` is a chat identity."""

    summary: str = Field(max_length=200, description="The question, scrubbed, cut to one line.")
    requester: str = Field(default="", max_length=255, description="Who opened it (a chat identity).")
    channel: str = Field(max_length=32, description="Where it was asked: slack, teams, web, cli.")
    category: str = Field(default="", max_length=64, description="e.g. ehr, printing, devices.")
    system: str = Field(default="", max_length=128, description="The system it is about, e.g. Epic.")
    priority: int = Field(default=3, ge=1, le=4, description="Clinical impact: 1 highest .. 4 lowest.")
    location: str = Field(default="", max_length=128, description="Unit, floor or room, when given.")
    device: str = Field(default="", max_length=128, description="WOW, printer, scanner ..., when given.")
    patient_waiting: bool | None = Field(
        default=None, description="Whether a patient is waiting; None when nobody said."
    )
    status: TicketStatus = Field(default=TicketStatus.NEW, sa_type=STATUS_TYPE)
    assignee: str = Field(default="", max_length=255)
    affected_count: int = Field(default=1, ge=1, description="Distinct people who reported it.")
    reason: str = Field(default="escalate", max_length=16, description="escalate, stuck or human.")


class TicketCreate(TicketBase):
    """What the escalation flow hands to ``create_ticket`` (numbers and times are filled there)."""

    reply_to: dict[str, Any] = Field(default_factory=dict)
    conversation_id: str | None = None
    transcript: list[dict[str, Any]] = Field(default_factory=list)
    articles: list[str] = Field(default_factory=list)
    priority_reasons: list[str] = Field(default_factory=list)
    report_text: str = ""
    source_key: str | None = None


class Ticket(TicketBase, table=True):
    """The ``ticket`` table."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    number: str = Field(max_length=16, unique=True, description="IT-000123")
    seq: int = Field(index=True, description="The number as an integer, for ordering.")
    reply_to: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="The thread (opaque).")
    conversation_id: str | None = Field(default=None, max_length=36, index=True)
    transcript: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=JSON, description="The conversation's turns, scrubbed."
    )
    articles: list[str] = Field(
        default_factory=list, sa_type=JSON, description="Articles offered, best first."
    )
    priority_reasons: list[str] = Field(default_factory=list, sa_type=JSON)
    report_text: str = Field(default="", sa_type=Text, description="The words duplicate folding compares.")
    source_key: str | None = Field(
        default=None, max_length=255, unique=True, description="e.g. spool:<file>: what opened it, once."
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_reported_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    notice_id: int | None = Field(
        default=None, foreign_key="notice.id", index=True, description="The outage it was linked to."
    )


class TicketUpdate(SQLModel):
    """What an agent may change on a ticket; fields left out stay as they are."""

    status: TicketStatus | None = None
    assignee: str | None = None
    priority: int | None = Field(default=None, ge=1, le=4)


class TicketEvent(SQLModel, table=True):
    """The ``ticket_event`` table: one line of a ticket's history."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(foreign_key="ticket.id", max_length=36, index=True)
    kind: EventKind = Field(sa_type=EVENT_KIND_TYPE)
    author_role: AuthorRole = Field(default=AuthorRole.SYSTEM, sa_type=AUTHOR_ROLE_TYPE)
    author: str = Field(default="", max_length=255)
    text: str = Field(default="", sa_type=Text, description="Scrubbed.")
    status: str = Field(default="", max_length=16, description="For a status change: the new status.")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TicketReporter(SQLModel, table=True):
    """The ``ticket_reporter`` table: a person and thread to tell about a ticket."""

    __tablename__ = "ticket_reporter"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    ticket_id: str = Field(foreign_key="ticket.id", max_length=36, index=True)
    requester: str = Field(default="", max_length=255)
    channel: str = Field(max_length=32)
    reply_to: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    conversation_id: str | None = Field(default=None, max_length=36, index=True)
    open_conversation_id: str | None = Field(
        default=None, max_length=36, unique=True, description="conversation_id while the ticket is open."
    )
    report_text: str = Field(default="", sa_type=Text, description="What this person reported, scrubbed.")
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TicketNumber(SQLModel, table=True):
    """The ``ticket_number`` table: one row per number handed out (see the module docstring)."""

    __tablename__ = "ticket_number"
    __table_args__ = {"sqlite_autoincrement": True}

    value: int | None = Field(default=None, primary_key=True)
    taken_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


PRIORITY_LABELS = {1: "critical", 2: "high", 3: "moderate", 4: "low"}


def waiting_label(patient_waiting: bool | None) -> str:
    """How IT reads whether a patient is waiting: "yes", "no", or "not said" when nobody said."""
    return "not said" if patient_waiting is None else "yes" if patient_waiting else "no"


def priority_label(priority: int) -> str:
    """The word for a priority level (1 critical, 2 high, 3 moderate, 4 low)."""
    return PRIORITY_LABELS.get(priority, "moderate")


class DeliveryState(StrEnum):
    """Where a ticket is on its way to the service desk (its ``ticket.created`` message)."""

    NONE = "none"
    NOT_FORWARDED = "not_forwarded"
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    DEAD = "dead"


class TicketDeliveryPublic(SQLModel):
    """A ticket's delivery to the service desk, as JSON shows it.

    ``state`` and ``desk_id`` (e.g. ``INC0010001``) are its ``ticket.created``'s; ``attempts``,
    ``next_attempt_at`` and ``last_error`` too. The follow-ups (comments, status changes) are counted:
    ``held`` wait for a create that is not delivered, ``pending`` are on their way after a delivered
    create, ``dead`` were given up. ``text`` says it all in one line for people.
    """

    state: DeliveryState
    text: str
    desk_id: str = ""
    attempts: int = 0
    first_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str = ""
    requeues: int = 0
    follow_ups_held: int = 0
    follow_ups_pending: int = 0
    follow_ups_dead: int = 0


class RequeuedMessagePublic(SQLModel):
    """A dead letter put back in the queue: what it was, and why and after how many tries it died."""

    topic: str
    last_error: str
    attempts: int


class RequeuedPublic(SQLModel):
    """What a requeue did for one ticket (``number`` null: messages of no ticket): the dead letters
    requeued, and how many of its follow-ups now go after them."""

    number: str | None
    requeued: list[RequeuedMessagePublic]
    follow_ups: int


class RequeuesPublic(SQLModel):
    """Every ticket a requeue touched, and how many messages it requeued in all."""

    data: list[RequeuedPublic]
    count: int


class TicketPublic(TicketBase):
    """A ticket as ``itbot tickets list --json`` and ``GET /api/tickets`` show it; ``delivery`` is
    where it is on its way to the service desk (null when not looked up)."""

    id: str
    number: str
    priority_label: str
    articles: list[str]
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    notice_id: int | None = None
    delivery: TicketDeliveryPublic | None = None


class TicketsPublic(SQLModel):
    """A list of tickets and how many there were."""

    data: list[TicketPublic]
    count: int


class TicketEventPublic(SQLModel):
    """One line of a ticket's history as JSON shows it."""

    kind: EventKind
    author_role: AuthorRole
    author: str
    text: str
    status: str
    created_at: datetime


class TicketReporterPublic(SQLModel):
    """A person told about a ticket, as JSON shows it (no thread reference)."""

    requester: str
    channel: str
    report_text: str
    joined_at: datetime


class TicketDetailPublic(TicketPublic):
    """A ticket with its transcript, history and reporters (``tickets show``, ``GET .../{number}``)."""

    transcript: list[dict[str, Any]]
    events: list[TicketEventPublic]
    reporters: list[TicketReporterPublic]


def ticket_public(ticket: Ticket, delivery: TicketDeliveryPublic | None = None) -> TicketPublic:
    """The public view of ``ticket`` (with its service-desk ``delivery`` when given)."""
    return TicketPublic.model_validate(
        ticket, update={"priority_label": priority_label(ticket.priority), "delivery": delivery}
    )


def ticket_detail_public(
    ticket: Ticket,
    events: list[TicketEvent],
    reporters: list[TicketReporter],
    delivery: TicketDeliveryPublic | None = None,
) -> TicketDetailPublic:
    """The public view of ``ticket`` with its history and reporters (and ``delivery`` when given)."""
    return TicketDetailPublic.model_validate(
        ticket,
        update={
            "priority_label": priority_label(ticket.priority),
            "events": [TicketEventPublic.model_validate(e) for e in events],
            "reporters": [TicketReporterPublic.model_validate(r) for r in reporters],
            "delivery": delivery,
        },
    )
