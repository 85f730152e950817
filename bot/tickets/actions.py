"""What IT does with a ticket (the CLI, the JSON API and the Slack triage buttons all call these).

Each action is one transaction: the ticket change, its history line and its outbox messages (a chat
message to every reporter's thread, a comment or status change for the service desk, a line in the
ticket's Slack triage thread once it has one, so IT sees there what was done from the CLI or the API)
are committed together, or, when anything fails, none of them. Every text is
scrubbed before it is stored or sent. Unknown numbers raise ``TicketNotFoundError``; a closed ticket
takes no more changes (``TicketClosedError``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlmodel import Session

from bot.config import Settings
from bot.core.language import Language, language_of
from bot.core.scrub import scrub_text
from bot.interactions.models import utcnow
from bot.tickets.errors import EmptyMessageError, TicketClosedError, TicketNotFoundError
from bot.tickets.models import OPEN_STATUSES, AuthorRole, EventKind, Ticket, TicketEvent, TicketStatus
from bot.tickets.outbox import enqueue
from bot.tickets.payloads import (
    itsm_comment_payload,
    itsm_status_payload,
    requester_message_payload,
    triage_message_payload,
)
from bot.tickets.queries import (
    add_event,
    close_reporters,
    get_ticket,
    get_ticket_by_number,
    list_reporters,
    reopen_reporters,
    triage_thread_of,
)
from bot.tickets.replies import agent_reply_text, status_text, taken_text

log = logging.getLogger(__name__)

DEFAULT_AGENT = "IT"


def _changeable(session: Session, number: str) -> Ticket:
    ticket = get_ticket_by_number(session=session, number=number)
    if ticket is None:
        raise TicketNotFoundError(number)
    if ticket.status is TicketStatus.CLOSED:
        raise TicketClosedError(ticket.number)
    return ticket


def _tell_reporters(
    session: Session, ticket: Ticket, event: TicketEvent, text: Callable[[Language], str]
) -> None:
    """Queue ``text`` to every reporter's thread, each in the language of what they reported."""
    for reporter in list_reporters(session=session, ticket_id=ticket.id):
        said = text(language_of(reporter.report_text))
        enqueue(
            session=session,
            target="chat",
            topic="chat.message",
            payload=requester_message_payload(reporter, number=ticket.number, text=said),
            idempotency_key=f"{ticket.number}:event:{event.id}:to:{reporter.id}",
            ticket_id=ticket.id,
        )


def tell_itsm_comment(session: Session, ticket: Ticket, event: TicketEvent, role: str, text: str) -> None:
    """Queue ``text`` for the service desk as a comment by ``event``'s author (``role``)."""
    enqueue(
        session=session,
        target="itsm",
        topic="ticket.comment",
        payload=itsm_comment_payload(number=ticket.number, author_role=role, author=event.author, text=text),
        idempotency_key=f"{ticket.number}:event:{event.id}",
        ticket_id=ticket.id,
    )


def _tell_itsm_status(session: Session, ticket: Ticket, event: TicketEvent, note: str) -> None:
    enqueue(
        session=session,
        target="itsm",
        topic="ticket.status",
        payload=itsm_status_payload(number=ticket.number, status=ticket.status.value, note=note),
        idempotency_key=f"{ticket.number}:event:{event.id}",
        ticket_id=ticket.id,
    )


def tell_triage(session: Session, settings: Settings, ticket: Ticket, event: TicketEvent, text: str) -> None:
    """Add a line to the ticket's triage thread, once the triage post is delivered and has one."""
    thread = triage_thread_of(session=session, ticket_id=ticket.id) if settings.slack_triage_channel else None
    if thread:
        enqueue(
            session=session,
            target="chat",
            topic="chat.triage_message",
            payload=triage_message_payload(
                settings=settings, thread_ts=thread, number=ticket.number, text=text
            ),
            idempotency_key=f"{ticket.number}:event:{event.id}:triage",
            ticket_id=ticket.id,
        )


@contextmanager
def _one_transaction(session: Session) -> Iterator[None]:
    """Commit what the block did, or roll all of it back when it (or the commit) fails."""
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def take_ticket(*, session: Session, settings: Settings, number: str, agent: str) -> Ticket:
    """Assign the ticket to ``agent`` and mark it open; its reporters hear who is on it. Taking a
    ticket one already has changes nothing (a retried click tells nobody twice)."""
    with _one_transaction(session):
        ticket = _changeable(session, number)
        agent = agent.strip()[:255] or DEFAULT_AGENT
        if ticket.assignee == agent and ticket.status is TicketStatus.OPEN:
            return ticket
        ticket.assignee = agent
        if ticket.status in OPEN_STATUSES:
            ticket.status = TicketStatus.OPEN
        event = add_event(
            session=session,
            ticket=ticket,
            kind=EventKind.ASSIGNED,
            author_role=AuthorRole.AGENT,
            author=agent,
        )
        _tell_itsm_status(session, ticket, event, note=f"taken by {agent}")
        tell_triage(session, settings, ticket, event, f"Taken by {agent}.")
        _tell_reporters(
            session, ticket, event, lambda lang: taken_text(ticket.number, agent=agent, language=lang)
        )
    log.info("event=ticket_taken number=%s", ticket.number)
    return ticket


def reply_to_requester(
    *, session: Session, settings: Settings, number: str, agent: str, text: str, echo_to_triage: bool = True
) -> TicketEvent:
    """Send an agent's reply to every reporter's thread (scrubbed) and to the service desk as a comment.

    A new ticket becomes open. The triage thread gets a copy unless ``echo_to_triage`` is off (the
    agent wrote it in that thread). Raises ``EmptyMessageError`` when nothing is left of ``text``.
    """
    with _one_transaction(session):
        ticket = _changeable(session, number)
        # IT agents' text comes from outside the conversation flow (triage, API, console, CLI): this
        # is where it is scrubbed.
        said = scrub_text(text).strip()
        if not said:
            raise EmptyMessageError()
        agent = agent.strip()[:255] or DEFAULT_AGENT
        if ticket.status is TicketStatus.NEW:
            ticket.status = TicketStatus.OPEN
        event = add_event(
            session=session,
            ticket=ticket,
            kind=EventKind.COMMENT,
            author_role=AuthorRole.AGENT,
            author=agent,
            text=said,
        )
        tell_itsm_comment(session, ticket, event, "agent", said)
        if echo_to_triage:
            tell_triage(session, settings, ticket, event, f"{agent} replied: {said}")
        _tell_reporters(
            session,
            ticket,
            event,
            lambda lang: agent_reply_text(ticket.number, agent=agent, text=said, language=lang),
        )
    log.info("event=ticket_replied number=%s event_id=%s", ticket.number, event.id)
    return event


def add_requester_message(
    *, session: Session, settings: Settings, ticket_id: str, requester: str, text: str
) -> TicketEvent:
    """Add what a reporter wrote in their thread to the ticket: history, the triage thread (when the
    ticket has one) and the service desk. A ticket waiting on the person becomes open again."""
    with _one_transaction(session):
        ticket = get_ticket(session=session, ticket_id=ticket_id)
        if ticket is None:
            raise TicketNotFoundError(ticket_id)
        # Defence in depth: the conversation flow hands this scrubbed text only, but this is a
        # public function of the tickets package; scrubbing again changes nothing (idempotent).
        said = scrub_text(text).strip()
        if not said:
            raise EmptyMessageError()
        if ticket.status is TicketStatus.WAITING:
            ticket.status = TicketStatus.OPEN
        event = add_event(
            session=session,
            ticket=ticket,
            kind=EventKind.COMMENT,
            author_role=AuthorRole.REQUESTER,
            author=requester,
            text=said,
        )
        tell_itsm_comment(session, ticket, event, "requester", said)
        tell_triage(session, settings, ticket, event, f"Requester: {said}")
    log.info("event=ticket_requester_message number=%s event_id=%s", ticket.number, event.id)
    return event


def set_status(
    *,
    session: Session,
    settings: Settings,
    number: str,
    status: TicketStatus,
    agent: str = "",
    note: str = "",
) -> Ticket:
    """Change the ticket's status, tell every reporter and the service desk; ``note`` (scrubbed) goes
    with it. Resolving frees the reporters' conversations for new tickets; reopening takes them back.
    Setting the status the ticket already has changes nothing (a retried click tells nobody twice)."""
    with _one_transaction(session):
        ticket = _changeable(session, number)
        if ticket.status is status:
            return ticket
        note = scrub_text(note).strip()
        agent = agent.strip()[:255] or DEFAULT_AGENT
        was_open = ticket.status in OPEN_STATUSES
        ticket.status = status
        if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            ticket.resolved_at = ticket.resolved_at or utcnow()
            if was_open:
                close_reporters(session=session, ticket_id=ticket.id)
        elif not was_open:
            ticket.resolved_at = None
            reopen_reporters(session=session, ticket_id=ticket.id)
        event = add_event(
            session=session,
            ticket=ticket,
            kind=EventKind.STATUS,
            author_role=AuthorRole.AGENT,
            author=agent,
            text=note,
            status=status.value,
        )
        _tell_itsm_status(session, ticket, event, note=note)
        tell_triage(session, settings, ticket, event, f"{agent} set it to {status.value}. {note}".strip())
        _tell_reporters(
            session,
            ticket,
            event,
            lambda lang: status_text(ticket.number, status=status.value, note=note, language=lang),
        )
    log.info("event=ticket_status number=%s status=%s", ticket.number, status.value)
    return ticket


def resolve_ticket(
    *, session: Session, settings: Settings, number: str, agent: str = "", note: str = ""
) -> Ticket:
    """Resolve the ticket: every reporter (all of a folded incident's) is told, with ``note``."""
    return set_status(
        session=session,
        settings=settings,
        number=number,
        status=TicketStatus.RESOLVED,
        agent=agent,
        note=note,
    )
