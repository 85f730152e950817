"""Opening a ticket from an escalation: a new ticket, or one more reporter on a matching incident.

``open_ticket`` does the whole open path inside the caller's transaction and commits nothing:
transcript (scrubbed), details, priority, the folding check, the history, the reporter, and the
outbox messages (``ticket.created`` for the service desk, which the worker closes as "no target" when
none is configured; the triage post when a triage channel is set; for a folded report a comment and
a line in the triage thread). A report about a system with an active outage is linked to that
outage (``ticket.notice_id``), where it counts as one more report.
The caller commits it all at once, or rolls all of it back, and then calls ``log_opened``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session

from bot.config import Settings
from bot.core.scrub import scrub_text
from bot.interactions.models import utcnow
from bot.tickets import folding
from bot.tickets.actions import tell_itsm_comment, tell_triage
from bot.tickets.details import category_of, details_from_texts, extract_details, problem_part
from bot.tickets.models import AuthorRole, EventKind, Ticket, TicketCreate, TicketReporter
from bot.tickets.outbox import enqueue
from bot.tickets.payloads import (
    itsm_ticket_payload,
    triage_opened_payload,
)
from bot.tickets.priority import assess_priority
from bot.tickets.queries import (
    add_event,
    add_reporter,
    count_affected,
    create_ticket,
    get_ticket,
    list_fold_candidates,
    list_report_texts,
)
from bot.tickets.replies import joined_note
from bot.tickets.transcripts import current_problem, one_line, summary_of, ticket_turns

log = logging.getLogger(__name__)

REPORT_TEXT_CHARS = 500
# ``Conversation.state`` while the bot waits for the person's answer to its follow-up question.
DETAILS_PENDING_STATE = "escalation:details"

OutageLookup = Callable[[Session, str, str, datetime], "int | None"]
"""``(session, system, report text (scrubbed), reported at)`` → the id of the active outage a report
belongs to, or None (``bot.notices.ticket_links.outage_lookup`` makes one)."""


class EscalationRequest(BaseModel):
    """Who asks for IT, where to answer them, and what the bot knew: everything an escalation needs
    besides the conversation's turns. Stored while the bot waits for details, and in the spool."""

    conversation_id: str
    requester: str = ""
    channel: str = "cli"
    reply_to: dict[str, Any] = Field(default_factory=dict)
    reason: str = "escalate"
    articles: list[str] = Field(default_factory=list)
    systems: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Opened:
    """What ``open_ticket`` did: the ticket, the reporter row for this person, and whether it joined
    an existing incident."""

    ticket: Ticket
    reporter: TicketReporter
    joined: bool


def open_ticket(
    *,
    session: Session,
    settings: Settings,
    request: EscalationRequest,
    turns: list[dict[str, Any]],
    details: str = "",
    reported_at: datetime | None = None,
    source_key: str | None = None,
    outage_lookup: OutageLookup | None = None,
) -> Opened:
    """Open a ticket for ``request`` with the conversation's ``turns`` (which already hold the details
    message, if any), or fold it into a matching open incident; flushes, never commits.

    ``details`` is the person's answer to the follow-up question ("" when none was asked).
    ``outage_lookup`` (given by the layers above, which know the notices) names the active outage
    the report belongs to; the ticket is then linked to it.
    """
    at = reported_at or utcnow()
    # Defence in depth: the conversation flow hands this scrubbed text only, but this is a
    # public function of the tickets package; scrubbing again changes nothing (idempotent).
    details = scrub_text(details)
    # The ticket is about the problem escalated, not everything the conversation ever said.
    problem = current_problem(turns, details)
    texts = list(problem.texts) or [problem_part(details)]
    found = details_from_texts(list(problem.since))
    if details:
        found = found.merged(extract_details(details, answering=True))
    summary = summary_of(turns, details)
    # What folding compares is the problem as stated; the details say where and how urgent.
    report_text = one_line(summary, REPORT_TEXT_CHARS)
    first_system = request.systems[0] if request.systems else ""
    system = folding.canonical_system(first_system, " ".join(texts).strip() or details)
    report = folding.Report(
        text=report_text, system=system, article=request.articles[0] if request.articles else "", at=at
    )
    incidents = [
        folding.OpenIncident(
            key=key, system=name, article=arts[0] if arts else "", texts=(), last_reported_at=last
        )
        for key, name, arts, last in list_fold_candidates(
            session=session, since=at - folding.WINDOW, until=at + folding.WINDOW
        )
    ]
    # Only tickets about the same thing need their reports' words read.
    incidents = [i for i in incidents if folding.related(report, i)]
    reports = list_report_texts(session=session, ticket_ids=[i.key for i in incidents])
    incidents = [replace(i, texts=tuple(reports[i.key])) for i in incidents]
    incident = folding.choose_incident(report, incidents)
    outage = outage_lookup(session, system, report_text, at) if outage_lookup is not None else None
    if incident is not None:
        ticket = get_ticket(session=session, ticket_id=incident.key)
        if ticket is not None:
            ticket.notice_id = ticket.notice_id or outage
            said = f"{report_text} ({details})" if details else report_text
            return _join(session, settings, ticket, request, report_text, said, at, found.patient_waiting)
    priority = assess_priority(
        texts=[*problem.since, details],
        system=system,
        location=found.location,
        patient_waiting=found.patient_waiting,
    )
    data = TicketCreate(
        summary=summary,
        requester=request.requester,
        channel=request.channel,
        category=category_of([*texts, details], request.articles, request.systems),
        system=system,
        priority=priority.level,
        location=found.location,
        device=found.device,
        patient_waiting=found.patient_waiting,
        reason=request.reason,
        reply_to=request.reply_to,
        conversation_id=request.conversation_id,
        transcript=ticket_turns(turns),
        articles=list(request.articles),
        priority_reasons=list(priority.reasons),
        report_text=report_text,
        source_key=source_key,
    )
    ticket = create_ticket(session=session, data=data, reported_at=at)
    if outage is not None:
        ticket.notice_id = outage
        session.add(ticket)
    reporter = _add_reporter(session, ticket, request, report_text)
    add_event(session=session, ticket=ticket, kind=EventKind.CREATED, text=summary)
    if details:
        add_event(
            session=session,
            ticket=ticket,
            kind=EventKind.DETAILS,
            author_role=AuthorRole.REQUESTER,
            author=request.requester,
            text=details,
        )
    enqueue(
        session=session,
        target="itsm",
        topic="ticket.created",
        payload=itsm_ticket_payload(ticket, settings=settings),
        idempotency_key=f"{ticket.number}:created",
        ticket_id=ticket.id,
    )
    if settings.slack_triage_channel:
        enqueue(
            session=session,
            target="chat",
            topic="chat.triage_opened",
            payload=triage_opened_payload(ticket, settings=settings),
            idempotency_key=f"{ticket.number}:triage",
            ticket_id=ticket.id,
        )
    session.flush()
    return Opened(ticket=ticket, reporter=reporter, joined=False)


def _add_reporter(
    session: Session, ticket: Ticket, request: EscalationRequest, report_text: str
) -> TicketReporter:
    """Record the requester of ``request`` (and the thread to tell) as a reporter of ``ticket``."""
    return add_reporter(
        session=session,
        ticket=ticket,
        requester=request.requester,
        channel=request.channel,
        reply_to=request.reply_to,
        conversation_id=request.conversation_id,
        report_text=report_text,
    )


def _join(
    session: Session,
    settings: Settings,
    ticket: Ticket,
    request: EscalationRequest,
    report_text: str,
    said: str,
    at: datetime,
    patient_waiting: bool | None,
) -> Opened:
    """Add the report to ``ticket``: ``report_text`` is what folding compares, ``said`` what IT reads."""
    reporter = _add_reporter(session, ticket, request, report_text)
    ticket.affected_count = count_affected(session=session, ticket_id=ticket.id)
    ticket.last_reported_at = max(ticket.last_reported_at, at)
    ticket.patient_waiting = either_waiting(ticket.patient_waiting, patient_waiting)
    again = assess_priority(
        texts=[ticket.report_text, report_text],
        system=ticket.system,
        location=ticket.location,
        patient_waiting=ticket.patient_waiting,
        affected_count=ticket.affected_count,
    )
    if again.level < ticket.priority:
        ticket.priority = again.level
        ticket.priority_reasons = list(again.reasons)
    event = add_event(
        session=session,
        ticket=ticket,
        kind=EventKind.JOINED,
        author_role=AuthorRole.REQUESTER,
        author=request.requester,
        text=said,
    )
    note = f"{joined_note(affected=ticket.affected_count)} {said}"
    tell_itsm_comment(session, ticket, event, "requester", note)
    tell_triage(session, settings, ticket, event, note)
    session.add(ticket)
    session.flush()
    return Opened(ticket=ticket, reporter=reporter, joined=True)


def either_waiting(first: bool | None, second: bool | None) -> bool | None:
    """Whether a patient waits for either of two reports: True when one says so, None when neither
    says anything (unknown stays unknown), else False."""
    if first is True or second is True:
        return True
    return None if first is None and second is None else False


def log_opened(opened: Opened, *, source: str) -> None:
    """Log what a committed ``open_ticket`` did (ids, numbers and decisions; never text)."""
    ticket = opened.ticket
    log.info(
        "event=%s ticket=%s number=%s priority=%d affected=%d system=%s reason=%s channel=%s source=%s",
        "ticket_joined" if opened.joined else "ticket_opened",
        ticket.id,
        ticket.number,
        ticket.priority,
        ticket.affected_count,
        ticket.system or "-",
        ticket.reason,
        opened.reporter.channel,
        source,
    )
