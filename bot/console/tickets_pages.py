"""The console's ticket pages, for IT agents who don't work in Slack (role agent and up).

``GET /console/tickets`` lists tickets (filters: status, priority, assignee); ``GET
/console/tickets/<number>`` shows one with its scrubbed transcript, history and reporters, and three
forms: take it, reply to the requester, resolve it with a note. The forms call the same actions as
``itbot tickets`` and the Slack triage buttons (``bot.tickets.actions``): a reply is relayed to every
reporter's thread through the outbox, as theirs is. Every change is written to the audit log (the
ticket's number, never the text); a refused action shows its reason on the ticket's page.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from bot.console.auth import AgentDep, ConsoleRoute, Signed
from bot.console.pages import page
from bot.console.queries import record_event
from bot.deps import SessionDep, SettingsDep
from bot.interactions.models import utcnow
from bot.tickets.actions import reply_to_requester, resolve_ticket, take_ticket
from bot.tickets.delivery_state import deliveries
from bot.tickets.errors import TicketClosedError, TicketError, TicketNotFoundError
from bot.tickets.models import PRIORITY_LABELS, Ticket, TicketStatus, priority_label, waiting_label
from bot.tickets.queries import (
    get_ticket_by_number,
    list_assignees,
    list_events,
    list_reporters,
    list_tickets,
)
from bot.tickets.transcripts import scrub_turns

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PAGE_ROWS = 50
UNASSIGNED = "(nobody)"
DONE = {
    "taken": "You took the ticket.",
    "replied": "Your reply is on its way to the requester.",
    "resolved": "The ticket is resolved; the requester is told.",
}
MAX_TEXT = 4000


@router.get("/console/tickets")
def tickets_page(
    request: Request,
    signed: AgentDep,
    session: SessionDep,
    status: Annotated[str, Query(max_length=16)] = "",
    priority: Annotated[str, Query(max_length=1)] = "",
    assignee: Annotated[str, Query(max_length=255)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The tickets that match the filters (a blank filter matches all; assignee "(nobody)" the
    unassigned ones), newest first, ``PAGE_ROWS`` a page: ``before`` (a ticket's sequence number)
    shows the page of those older than it, with a link to the next older page when there is one."""
    chosen_status = TicketStatus(status) if status in {s.value for s in TicketStatus} else None
    chosen_priority = int(priority) if priority in {str(p) for p in PRIORITY_LABELS} else None
    chosen_assignee = "" if assignee == UNASSIGNED else (assignee or None)
    rows = list_tickets(
        session=session,
        status=chosen_status,
        priority=chosen_priority,
        assignee=chosen_assignee,
        limit=PAGE_ROWS + 1,
        before_seq=before,
    )
    filters = {"status": status, "priority": priority, "assignee": assignee}
    older = ""
    if len(rows) > PAGE_ROWS:
        rows = rows[:PAGE_ROWS]
        older = "/console/tickets?" + urlencode({**filters, "before": rows[-1].seq})
    context = {
        "tickets": rows,
        "statuses": [s.value for s in TicketStatus],
        "priorities": PRIORITY_LABELS,
        "assignees": [UNASSIGNED, *list_assignees(session=session)],
        "status": chosen_status.value if chosen_status else "",
        "priority": str(chosen_priority or ""),
        "assignee": assignee if chosen_assignee is not None else "",
        "label": priority_label,
        "older": older,
        "newest": "/console/tickets?" + urlencode(filters) if before is not None else "",
    }
    return page(request, "tickets.html", signed, context)


def _ticket_page(
    request: Request,
    signed: Signed,
    session: Session,
    ticket: Ticket,
    *,
    error: str = "",
    done: str = "",
    status_code: int = 200,
) -> Response:
    delivery = deliveries(session=session, tickets=[ticket], now=utcnow()).get(ticket.id)
    context: dict[str, Any] = {
        "ticket": ticket,
        "turns": scrub_turns(ticket.transcript),
        "events": list_events(session=session, ticket_id=ticket.id),
        "reporters": list_reporters(session=session, ticket_id=ticket.id),
        "delivery": delivery.text if delivery is not None else "",
        "label": priority_label,
        "waiting": waiting_label(ticket.patient_waiting),
        "closed": ticket.status is TicketStatus.CLOSED,
        "resolved": ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED),
        "error": error,
        "done": DONE.get(done, ""),
    }
    return page(request, "ticket.html", signed, context, status_code=status_code)


def _not_found(request: Request, signed: Signed, number: str) -> Response:
    reason = f"There is no ticket {number[:32]}."
    return page(request, "refused.html", signed, {"reason": reason}, status_code=404)


@router.get("/console/tickets/{number}")
def ticket_page(
    request: Request,
    number: str,
    signed: AgentDep,
    session: SessionDep,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """One ticket: details, the scrubbed transcript, history, reporters and the agent's forms."""
    ticket = get_ticket_by_number(session=session, number=number)
    if ticket is None:
        return _not_found(request, signed, number)
    return _ticket_page(request, signed, session, ticket, done=done)


def _acted(
    request: Request, signed: Signed, session: Session, number: str, action: str, run: Any
) -> Response:
    """Run ``run()`` (a ticket action); on success audit it and go back to the ticket's page; on a
    refusal show the page again with the reason."""
    try:
        ticket: Ticket = run()
    except TicketNotFoundError:
        return _not_found(request, signed, number)
    except TicketError as exc:
        session.rollback()
        found = get_ticket_by_number(session=session, number=number)
        if found is None:
            return _not_found(request, signed, number)
        code = 409 if isinstance(exc, TicketClosedError) else 400
        return _ticket_page(request, signed, session, found, error=exc.user_message, status_code=code)
    record_event(
        session=session,
        actor=signed.name,
        action=f"ticket_{action}",
        target=ticket.number,
        address=signed.address,
    )
    return RedirectResponse(f"/console/tickets/{ticket.number}?done={action}", status_code=303)


@router.post("/console/tickets/{number}/take")
def take(
    request: Request, number: str, signed: AgentDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """Assign the ticket to the signed-in agent and mark it open (its reporters hear who has it)."""
    return _acted(
        request,
        signed,
        session,
        number,
        "taken",
        lambda: take_ticket(session=session, settings=settings, number=number, agent=signed.name),
    )


@router.post("/console/tickets/{number}/reply")
def reply(
    request: Request,
    number: str,
    signed: AgentDep,
    session: SessionDep,
    settings: SettingsDep,
    text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
) -> Response:
    """Send ``text`` (scrubbed) to every reporter's thread and the service desk, as the CLI's reply."""

    def send() -> Ticket:
        reply_to_requester(session=session, settings=settings, number=number, agent=signed.name, text=text)
        found = get_ticket_by_number(session=session, number=number)
        assert found is not None
        return found

    return _acted(request, signed, session, number, "replied", send)


@router.post("/console/tickets/{number}/resolve")
def resolve(
    request: Request,
    number: str,
    signed: AgentDep,
    session: SessionDep,
    settings: SettingsDep,
    note: Annotated[str, Form(max_length=MAX_TEXT)] = "",
) -> Response:
    """Resolve the ticket with ``note`` (scrubbed); every reporter is told."""
    return _acted(
        request,
        signed,
        session,
        number,
        "resolved",
        lambda: resolve_ticket(
            session=session, settings=settings, number=number, agent=signed.name, note=note
        ),
    )
