"""Every statement about tickets, keyword-only; the flow, CLI and API build no SQL.

Functions that change rows add them to the session and flush, and never commit: the caller commits
the ticket change together with its events and outbox messages, or rolls all of it back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.core.scrub import scrub_text
from bot.interactions.conversation_models import Conversation
from bot.interactions.models import utcnow
from bot.tickets.models import (
    OPEN_STATUSES,
    AuthorRole,
    EventKind,
    Ticket,
    TicketCreate,
    TicketEvent,
    TicketNumber,
    TicketReporter,
    TicketStatus,
)
from bot.tickets.numbers import format_number, parse_number
from bot.tickets.outbox_models import OutboxMessage, OutboxStatus

TRIAGE_OPENED_TOPIC = "chat.triage_opened"


def allocate_number(*, session: Session) -> int:
    """The next ticket number's value, taken from the database's counter (unique under concurrency)."""
    row = TicketNumber()
    session.add(row)
    session.flush()
    if row.value is None:  # pragma: no cover - the database always fills an autoincrement key
        raise RuntimeError("the database gave no ticket number")
    return row.value


def create_ticket(*, session: Session, data: TicketCreate, reported_at: datetime | None = None) -> Ticket:
    """Add a new ticket with the next number; ``reported_at`` is when the person asked (default now)."""
    value = allocate_number(session=session)
    now = utcnow()
    ticket = Ticket.model_validate(
        data,
        update={
            "number": format_number(value),
            "seq": value,
            "created_at": now,
            "updated_at": now,
            "last_reported_at": reported_at or now,
        },
    )
    session.add(ticket)
    session.flush()
    return ticket


def add_event(
    *,
    session: Session,
    ticket: Ticket,
    kind: EventKind,
    author_role: AuthorRole = AuthorRole.SYSTEM,
    author: str = "",
    text: str = "",
    status: str = "",
) -> TicketEvent:
    """Add a line to the ticket's history (``text`` must be scrubbed) and touch ``updated_at``."""
    event = TicketEvent(
        ticket_id=ticket.id, kind=kind, author_role=author_role, author=author[:255], text=text, status=status
    )
    ticket.updated_at = event.created_at
    session.add(event)
    session.add(ticket)
    session.flush()
    return event


def add_reporter(
    *,
    session: Session,
    ticket: Ticket,
    requester: str,
    channel: str,
    reply_to: dict[str, Any],
    conversation_id: str | None,
    report_text: str,
) -> TicketReporter:
    """Add a person to tell about ``ticket``; their conversation counts as in an open ticket from now."""
    reporter = TicketReporter(
        ticket_id=ticket.id,
        requester=requester[:255],
        channel=channel[:32],
        reply_to=dict(reply_to),
        conversation_id=conversation_id,
        open_conversation_id=conversation_id,
        report_text=report_text,
    )
    session.add(reporter)
    session.flush()
    return reporter


def count_affected(*, session: Session, ticket_id: str) -> int:
    """How many different people reported the ticket (at least 1)."""
    statement = select(func.count(func.distinct(TicketReporter.requester))).where(
        TicketReporter.ticket_id == ticket_id
    )
    return max(1, int(session.exec(statement).one()))


def get_ticket(*, session: Session, ticket_id: str) -> Ticket | None:
    """The ticket with this id, or None."""
    return session.get(Ticket, ticket_id)


def get_ticket_by_number(*, session: Session, number: str) -> Ticket | None:
    """The ticket with this number, typed loosely ("IT-000123", "it-123", "123"), or None."""
    value = parse_number(number)
    if value is None:
        return None
    return session.exec(select(Ticket).where(Ticket.number == format_number(value))).first()


def get_ticket_by_source_key(*, session: Session, source_key: str) -> Ticket | None:
    """The ticket that ``source_key`` (e.g. a spooled escalation) opened, or None."""
    return session.exec(select(Ticket).where(Ticket.source_key == source_key)).first()


def list_tickets(
    *,
    session: Session,
    status: TicketStatus | None = None,
    failed: bool = False,
    priority: int | None = None,
    assignee: str | None = None,
    limit: int = 500,
    before_seq: int | None = None,
) -> list[Ticket]:
    """Tickets newest first, optionally only those in ``status``, of ``priority``, assigned to
    ``assignee`` ("" for nobody), older than the ticket numbered ``before_seq`` (the next page), or
    (``failed``) only those with a service-desk message that the outbox gave up on."""
    statement = select(Ticket)
    if before_seq is not None:
        statement = statement.where(col(Ticket.seq) < before_seq)
    if status is not None:
        statement = statement.where(Ticket.status == status)
    if priority is not None:
        statement = statement.where(Ticket.priority == priority)
    if assignee is not None:
        statement = statement.where(Ticket.assignee == assignee)
    if failed:
        dead = select(OutboxMessage.ticket_id).where(
            OutboxMessage.target == "itsm", OutboxMessage.status == OutboxStatus.FAILED
        )
        statement = statement.where(col(Ticket.id).in_(dead))
    statement = statement.order_by(col(Ticket.seq).desc()).limit(limit)
    return list(session.exec(statement).all())


def list_assignees(*, session: Session) -> list[str]:
    """Everyone a ticket is assigned to, by name (nobody, the empty name, left out)."""
    statement = select(Ticket.assignee).where(Ticket.assignee != "").distinct().order_by(col(Ticket.assignee))
    return [str(name) for name in session.exec(statement).all()]


def list_events(*, session: Session, ticket_id: str) -> list[TicketEvent]:
    """The ticket's history, oldest first."""
    statement = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.id))
    return list(session.exec(statement).all())


def list_reporters(*, session: Session, ticket_id: str) -> list[TicketReporter]:
    """Everyone to tell about the ticket, first reporter first."""
    statement = (
        select(TicketReporter)
        .where(TicketReporter.ticket_id == ticket_id)
        .order_by(col(TicketReporter.joined_at), col(TicketReporter.id))
    )
    return list(session.exec(statement).all())


def open_ticket_for_conversation(*, session: Session, conversation_id: str) -> Ticket | None:
    """The open ticket (new, open or waiting) this conversation opened or joined, or None."""
    statement = (
        select(Ticket)
        .join(TicketReporter, col(TicketReporter.ticket_id) == col(Ticket.id))
        .where(TicketReporter.open_conversation_id == conversation_id)
    )
    return session.exec(statement).first()


def list_fold_candidates(
    *, session: Session, since: datetime, until: datetime
) -> list[tuple[str, str, list[str], datetime]]:
    """Open tickets last reported between ``since`` and ``until``: (id, system, articles, last report)."""
    statement = select(Ticket.id, Ticket.system, Ticket.articles, Ticket.last_reported_at).where(
        col(Ticket.status).in_(OPEN_STATUSES),
        col(Ticket.last_reported_at) >= since,
        col(Ticket.last_reported_at) <= until,
    )
    return [(row[0], row[1], list(row[2] or []), row[3]) for row in session.exec(statement).all()]


def list_report_texts(*, session: Session, ticket_ids: list[str]) -> dict[str, list[str]]:
    """What each reporter of these tickets reported, by ticket id."""
    texts: dict[str, list[str]] = {ticket_id: [] for ticket_id in ticket_ids}
    if not ticket_ids:
        return texts
    statement = select(TicketReporter.ticket_id, TicketReporter.report_text).where(
        col(TicketReporter.ticket_id).in_(ticket_ids)
    )
    for ticket_id, text in session.exec(statement).all():
        texts[ticket_id].append(text)
    return texts


def close_reporters(*, session: Session, ticket_id: str) -> None:
    """The ticket is no longer open: free its conversations to open new tickets."""
    for reporter in list_reporters(session=session, ticket_id=ticket_id):
        if reporter.open_conversation_id is not None:
            reporter.open_conversation_id = None
            session.add(reporter)
    session.flush()


def reopen_reporters(*, session: Session, ticket_id: str) -> None:
    """The ticket is open again: its conversations count as in it, unless one opened another meanwhile."""
    for reporter in list_reporters(session=session, ticket_id=ticket_id):
        conversation_id = reporter.conversation_id
        if conversation_id is None or reporter.open_conversation_id is not None:
            continue
        if open_ticket_for_conversation(session=session, conversation_id=conversation_id) is None:
            reporter.open_conversation_id = conversation_id
            session.add(reporter)
            session.flush()


def find_ticket_by_triage_thread(*, session: Session, thread_ts: str) -> Ticket | None:
    """The ticket whose post in IT's triage channel is the thread ``thread_ts``, or None."""
    statement = (
        select(Ticket)
        .join(OutboxMessage, col(OutboxMessage.ticket_id) == col(Ticket.id))
        .where(OutboxMessage.topic == TRIAGE_OPENED_TOPIC, OutboxMessage.external_ref == thread_ts)
    )
    return session.exec(statement).first() if thread_ts else None


def triage_thread_of(*, session: Session, ticket_id: str) -> str | None:
    """The triage thread (the delivered triage post's ts) of a ticket, or None when not posted yet."""
    statement = select(OutboxMessage.external_ref).where(
        OutboxMessage.ticket_id == ticket_id,
        OutboxMessage.topic == TRIAGE_OPENED_TOPIC,
        OutboxMessage.status == OutboxStatus.DELIVERED,
        OutboxMessage.external_ref != "",
    )
    return session.exec(statement).first() or None


def outbox_for_ticket(*, session: Session, ticket_id: str) -> list[OutboxMessage]:
    """The outbox messages about a ticket, oldest first (for ``tickets show`` and tests)."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.ticket_id == ticket_id)
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
    )
    return list(session.exec(statement).all())


def stored_conversation(*, session: Session, conversation: Conversation) -> Conversation:
    """The conversation's row as stored now (the caller's copy may be older); a conversation that is
    not stored yet is added, its turns scrubbed."""
    row = session.get(Conversation, conversation.id)
    if row is not None:
        return row
    row = Conversation(
        id=conversation.id,
        channel=conversation.channel,
        thread_key=conversation.thread_key,
        user_id=conversation.user_id,
        turns=[
            {**t, "text": scrub_text(t["text"])} if isinstance(t.get("text"), str) else dict(t)
            for t in conversation.turns
        ],
        state=conversation.state,
        created_at=conversation.created_at,
    )
    session.add(row)
    return row


def get_conversation_row(*, session: Session, conversation_id: str) -> Conversation | None:
    """The stored conversation with this id, or None."""
    return session.get(Conversation, conversation_id)


def find_conversation_row(*, session: Session, channel: str, thread_key: str) -> Conversation | None:
    """The stored conversation of ``channel`` at ``thread_key``, or None."""
    statement = select(Conversation).where(
        Conversation.channel == channel, Conversation.thread_key == thread_key[:255]
    )
    return session.exec(statement).first()
