"""The tickets JSON API for IT's tools: list, show, reply, take, resolve.

* ``GET /api/tickets`` (``?status=new|open|waiting|resolved|closed``, ``?failed=true`` for tickets
  the service desk never received) → ``TicketsPublic``;
* ``GET /api/tickets/{number}`` → ``TicketDetailPublic`` (transcript, history, reporters);
* ``POST /api/tickets/{number}/reply`` ``{"text", "agent"}`` → the history line;
* ``POST /api/tickets/{number}/take`` ``{"agent"}`` and ``POST .../resolve`` ``{"note"?, "agent"?}``
  → the ticket;
* ``POST /api/tickets/{number}/retry`` and ``POST /api/tickets/retry`` ``{"numbers": [...]}`` or
  ``{"all_dead": true}`` → ``RequeuesPublic``: the ticket's (the tickets', every) dead-lettered
  service-desk deliveries requeued; the follow-ups they held go after them.

A ticket's JSON carries ``delivery``: where it is on its way to the service desk.

Every request needs ``Authorization: Bearer <ITBOT_TICKETS_API_TOKEN>`` (compared in constant time);
a missing or wrong token is 401. With no token configured the API is off: 404, as if absent. Errors
are JSON ``{"error", "message"}``: 404 unknown ticket, 409 closed ticket, 422 bad input, 503 database
unavailable; never a 500 with details.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.deps import SessionDep, SettingsDep
from bot.interactions.models import utcnow
from bot.request_guards import BrowserSafeRoute
from bot.tickets.actions import reply_to_requester, resolve_ticket, take_ticket
from bot.tickets.delivery_state import deliveries, requeue_dead
from bot.tickets.errors import EmptyMessageError, TicketClosedError, TicketError, TicketNotFoundError
from bot.tickets.models import (
    RequeuesPublic,
    Ticket,
    TicketDetailPublic,
    TicketEventPublic,
    TicketPublic,
    TicketsPublic,
    TicketStatus,
    ticket_detail_public,
    ticket_public,
)
from bot.tickets.queries import get_ticket_by_number, list_events, list_reporters, list_tickets

log = logging.getLogger(__name__)

MAX_TEXT = 4000
MAX_AGENT = 64
MAX_RETRY_NUMBERS = 500


class ApiError(Exception):
    """An answer other than 2xx, as ``{"error": code, "message": message}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        """The JSON response for this error."""
        headers = {"www-authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse({"error": self.code, "message": self.message}, self.status, headers=headers)


def check_token(settings: Settings, authorization: str | None) -> ApiError | None:
    """None when ``authorization`` carries the configured bearer token; else the error to answer
    (404 when no token is configured: the API is off)."""
    expected = settings.tickets_api_token
    if not expected:
        return ApiError(404, "not_found", "Not Found")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return ApiError(401, "unauthorized", "A valid bearer token is required.")
    return None


def error_for(exc: Exception) -> ApiError | None:
    """The API's answer to an exception a route raised, or None for one it does not expect."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, TicketNotFoundError):
        return ApiError(404, "not_found", exc.user_message)
    if isinstance(exc, TicketClosedError):
        return ApiError(409, "closed", exc.user_message)
    if isinstance(exc, EmptyMessageError):
        return ApiError(422, "invalid_request", exc.user_message)
    if isinstance(exc, TicketError):
        return ApiError(400, exc.code, exc.user_message)
    if isinstance(exc, SQLAlchemyError):
        log.error("event=tickets_api_db_error error=%s", type(exc).__name__)
        return ApiError(503, "unavailable", "The ticket store is not reachable just now. Try again shortly.")
    return None


class TokenRoute(BrowserSafeRoute):
    """Checks the bearer token (``ITBOT_TICKETS_API_TOKEN``) before anything else is read, then
    (``BrowserSafeRoute``) refuses cross-site and non-JSON writes, and answers the errors that
    ``map_error`` knows as JSON. Each API names its own errors by overriding ``map_error``."""

    @staticmethod
    def map_error(exc: Exception) -> ApiError | None:
        """The API's answer to an exception a route raised, or None for one it does not expect."""
        return error_for(exc)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, wrapped by the token check and the error mapping."""
        handle = super().get_route_handler()
        map_error = type(self).map_error

        async def guarded(request: Request) -> Response:
            """The token check, then the route; known and database errors become JSON answers."""
            denied = check_token(request.app.state.settings, request.headers.get("authorization"))
            if denied is not None:
                return denied.response()
            try:
                return await handle(request)
            except Exception as exc:
                error = map_error(exc)
                if error is None:
                    raise
                return error.response()

        return guarded


class TicketsRoute(TokenRoute):
    """``/api/tickets``: the token, then the ticket errors as JSON (``error_for``)."""


class ReplyBody(BaseModel):
    """``POST .../reply``: what the person should read, and which agent wrote it."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    agent: str = Field(min_length=1, max_length=MAX_AGENT)


class TakeBody(BaseModel):
    """``POST .../take``: the agent taking the ticket."""

    agent: str = Field(min_length=1, max_length=MAX_AGENT)


class ResolveBody(BaseModel):
    """``POST .../resolve``: an optional note for the reporters, and who resolved it."""

    note: str = Field(default="", max_length=MAX_TEXT)
    agent: str = Field(default="", max_length=MAX_AGENT)


class RetryBody(BaseModel):
    """``POST /api/tickets/retry``: the tickets whose dead letters to requeue, or all of them."""

    numbers: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=MAX_RETRY_NUMBERS
    )
    all_dead: bool = False


router = APIRouter(prefix="/api/tickets", route_class=TicketsRoute)


@router.get("")
@router.get("/", include_in_schema=False)
def get_tickets(
    session: SessionDep,
    status: Annotated[TicketStatus | None, Query()] = None,
    failed: Annotated[bool, Query()] = False,
) -> TicketsPublic:
    """The tickets, newest first, optionally by status or only those the service desk never got."""
    tickets = list_tickets(session=session, status=status, failed=failed)
    found = deliveries(session=session, tickets=tickets, now=utcnow())
    data = [ticket_public(t, found.get(t.id)) for t in tickets]
    return TicketsPublic(data=data, count=len(data))


@router.post("/retry")
def post_retry_many(body: RetryBody, session: SessionDep) -> RequeuesPublic:
    """Requeue the dead-lettered service-desk deliveries of ``numbers``, or every one (``all_dead``).

    Every number is checked first: an unknown one is a 404 and nothing is requeued.
    """
    if bool(body.numbers) == body.all_dead:
        raise ApiError(422, "invalid_request", 'Give "numbers" or "all_dead": true, one or the other.')
    if body.all_dead:
        return requeue_dead(session=session, now=utcnow(), tickets=None)
    tickets: list[Ticket] = []
    for number in body.numbers:
        ticket = get_ticket_by_number(session=session, number=number)
        if ticket is None:
            raise TicketNotFoundError(number[:32])
        if ticket not in tickets:
            tickets.append(ticket)
    return requeue_dead(session=session, now=utcnow(), tickets=tickets)


@router.get("/{number}")
def get_ticket(number: str, session: SessionDep) -> TicketDetailPublic:
    """One ticket with its transcript, history and reporters."""
    ticket = get_ticket_by_number(session=session, number=number)
    if ticket is None:
        raise TicketNotFoundError(number[:32])
    events = list_events(session=session, ticket_id=ticket.id)
    reporters = list_reporters(session=session, ticket_id=ticket.id)
    delivery = deliveries(session=session, tickets=[ticket], now=utcnow()).get(ticket.id)
    return ticket_detail_public(ticket, events, reporters, delivery)


@router.post("/{number}/retry")
def post_retry(number: str, session: SessionDep) -> RequeuesPublic:
    """Requeue the ticket's dead-lettered service-desk deliveries (none dead: nothing changes)."""
    ticket = get_ticket_by_number(session=session, number=number)
    if ticket is None:
        raise TicketNotFoundError(number[:32])
    return requeue_dead(session=session, now=utcnow(), tickets=[ticket])


@router.post("/{number}/reply")
def post_reply(number: str, body: ReplyBody, session: SessionDep, settings: SettingsDep) -> TicketEventPublic:
    """Reply to the ticket's reporters in their threads (and to the service desk)."""
    event = reply_to_requester(
        session=session, settings=settings, number=number, agent=body.agent, text=body.text
    )
    return TicketEventPublic.model_validate(event)


@router.post("/{number}/take")
def post_take(number: str, body: TakeBody, session: SessionDep, settings: SettingsDep) -> TicketPublic:
    """Assign the ticket to the agent."""
    return ticket_public(take_ticket(session=session, settings=settings, number=number, agent=body.agent))


@router.post("/{number}/resolve")
def post_resolve(
    number: str, session: SessionDep, settings: SettingsDep, body: ResolveBody | None = None
) -> TicketPublic:
    """Resolve the ticket; every reporter is told, with the note."""
    body = body or ResolveBody()
    ticket = resolve_ticket(
        session=session, settings=settings, number=number, agent=body.agent, note=body.note
    )
    return ticket_public(ticket)
