"""Where each ticket is on its way to the service desk: what ``itbot tickets list/show`` and the
tickets API show beside the ticket, so that a ticket the desk never got is never silent.

The state is its ``ticket.created`` message's: queued, sending, retrying (which try, when next, the
last error), delivered (as the desk's number, e.g. ``INC0010001``) or dead-lettered (why). Its
follow-ups (comments, status changes) wait for the create, in order; they are counted as *held*
while the create is not delivered, *pending* once it is, and *dead* if they were given up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from bot.tickets.delivery import ITSM_TARGET, NO_TARGET
from bot.tickets.models import (
    DeliveryState,
    RequeuedMessagePublic,
    RequeuedPublic,
    RequeuesPublic,
    Ticket,
    TicketDeliveryPublic,
)
from bot.tickets.outbox import CREATED_TOPIC, list_for_tickets, requeue_dead_of_tickets
from bot.tickets.outbox_models import OutboxMessage, OutboxStatus
from bot.tickets.queries import get_ticket

log = logging.getLogger(__name__)

# ServiceNow's reference is ``<number>:<sys_id>`` (see ``bot.tickets.itsm.servicenow``); people know
# the number. Jira's issue key and a webhook's id are shown as they are.
_SERVICENOW_REF = re.compile(r"(?P<number>[^:]+):[0-9a-f]{32}")


def desk_id(external_ref: str) -> str:
    """The id people at the service desk know a record by, from the outbox's ``external_ref``."""
    match = _SERVICENOW_REF.fullmatch(external_ref)
    return match.group("number") if match else external_ref


def _count(n: int, what: str) -> str:
    return f"{n} follow-up{'' if n == 1 else 's'} {what}"


def summarize(messages: Sequence[OutboxMessage], *, now: datetime) -> TicketDeliveryPublic | None:
    """The delivery of one ticket from its service-desk messages (None when it has none)."""
    if not messages:
        return None
    created = next((m for m in messages if m.topic == CREATED_TOPIC), None)
    follow_ups = [m for m in messages if m.topic != CREATED_TOPIC]
    dead = sum(1 for m in follow_ups if m.status == OutboxStatus.FAILED)
    waiting = sum(1 for m in follow_ups if m.status == OutboxStatus.PENDING)
    create_done = created is None or created.status == OutboxStatus.DELIVERED
    held, pending = (0, waiting) if create_done else (waiting, 0)
    parts = []
    if held:
        parts.append(_count(held, "held"))
    if pending:
        parts.append(_count(pending, "on the way"))
    if dead:
        parts.append(_count(dead, "dead-lettered"))
    if created is None:
        text = ", ".join(["no ticket sent to the service desk", *parts])
        return TicketDeliveryPublic(
            state=DeliveryState.NONE,
            text=text,
            follow_ups_held=held,
            follow_ups_pending=pending,
            follow_ups_dead=dead,
        )
    state, text = _create_state(created, now=now)
    return TicketDeliveryPublic(
        state=state,
        text=", ".join([text, *parts]),
        desk_id=desk_id(created.external_ref),
        attempts=created.attempts,
        first_attempt_at=created.first_attempt_at,
        next_attempt_at=created.next_attempt_at if created.status == OutboxStatus.PENDING else None,
        last_error=created.last_error,
        requeues=created.requeues,
        follow_ups_held=held,
        follow_ups_pending=pending,
        follow_ups_dead=dead,
    )


def _create_state(created: OutboxMessage, *, now: datetime) -> tuple[DeliveryState, str]:
    error = created.last_error or "unknown error"
    if created.status == OutboxStatus.DELIVERED:
        if created.last_error == NO_TARGET:
            return DeliveryState.NOT_FORWARDED, "not forwarded (no service desk configured)"
        ref = desk_id(created.external_ref)
        return DeliveryState.DELIVERED, f"delivered as {ref}" if ref else "delivered"
    if created.status == OutboxStatus.FAILED:
        tries = f"{created.attempts} {'try' if created.attempts == 1 else 'tries'}"
        return DeliveryState.DEAD, f"dead-lettered: {error} after {tries}"
    if created.locked_until is not None and created.locked_until > now:
        return DeliveryState.SENDING, f"sending (try {created.attempts})"
    if created.attempts == 0:
        return DeliveryState.QUEUED, "queued again (requeued)" if created.requeues else "queued"
    when = f"{created.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
    return DeliveryState.RETRYING, f"retrying (try {created.attempts}, next at {when}, last error {error})"


def deliveries(
    *, session: Session, tickets: Sequence[Ticket], now: datetime
) -> dict[str, TicketDeliveryPublic]:
    """Each ticket's delivery to the service desk, by ticket id (tickets without messages are absent)."""
    by_ticket: dict[str, list[OutboxMessage]] = {}
    for message in list_for_tickets(session=session, ticket_ids=[t.id for t in tickets], target=ITSM_TARGET):
        if message.ticket_id is not None:
            by_ticket.setdefault(message.ticket_id, []).append(message)
    found = {ticket_id: summarize(messages, now=now) for ticket_id, messages in by_ticket.items()}
    return {ticket_id: delivery for ticket_id, delivery in found.items() if delivery is not None}


def requeue_dead(*, session: Session, now: datetime, tickets: Sequence[Ticket] | None) -> RequeuesPublic:
    """Requeue the service-desk dead letters of ``tickets`` (None: every one, also of no ticket); commits.

    The held follow-ups of a requeued create are not touched: they were waiting for it and go after
    it, in their order. Returns what was requeued, by ticket (tickets with no dead letter are left out).
    """
    ids = None if tickets is None else [t.id for t in tickets]
    requeued = requeue_dead_of_tickets(session=session, now=now, target=ITSM_TARGET, ticket_ids=ids)
    by_ticket: dict[str | None, list[OutboxMessage]] = {}
    for message in requeued:
        by_ticket.setdefault(message.ticket_id, []).append(message)
    known = {t.id: t for t in tickets or []}
    data = []
    for ticket_id, messages in by_ticket.items():
        ticket = None
        follow_ups = 0
        if ticket_id is not None:
            ticket = known.get(ticket_id) or get_ticket(session=session, ticket_id=ticket_id)
            follow_ups = sum(
                1
                for m in list_for_tickets(session=session, ticket_ids=[ticket_id], target=ITSM_TARGET)
                if m.topic != CREATED_TOPIC
                and m.status == OutboxStatus.PENDING
                and m.id not in {r.id for r in messages}
            )
        data.append(
            RequeuedPublic(
                number=ticket.number if ticket is not None else None,
                requeued=[
                    RequeuedMessagePublic(topic=m.topic, last_error=m.last_error, attempts=m.attempts)
                    for m in messages
                ],
                follow_ups=follow_ups,
            )
        )
    session.commit()
    for message in requeued:
        log.info(
            "event=outbox_requeued message_id=%s ticket_id=%s topic=%s was_error=%s was_attempts=%d",
            message.id,
            message.ticket_id or "-",
            message.topic,
            message.last_error or "-",
            message.attempts,
        )
    return RequeuesPublic(data=data, count=len(requeued))
