"""The outbox payloads tickets send: to the service desk (target ``itsm``) and to chat (``chat``).

Shapes agreed with the outbox worker (``bot.tickets.outbox``, ``bot.tickets.delivery``):

* ``ticket.created``: ``itsm_ticket_payload``; ``ticket.comment``: ``{number, author_role, author,
  text}``; ``ticket.status``: ``{number, status, note}``.
* ``chat.message``: ``{channel, reply_to, text, ticket_number, kind: "requester"}``, to a person's
  own thread; ``chat.triage_opened``: the new ticket in IT's triage channel, with ``actions``;
  ``chat.triage_message``: a line in that ticket's triage thread.

Every text is scrubbed here once more, whatever the caller did: a payload is forwarded as it is.
"""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.core.scrub import scrub_text
from bot.tickets.models import Ticket, TicketReporter, priority_label
from bot.tickets.transcripts import transcript_text

TRIAGE_ACTIONS = ["take", "reply", "resolve"]


def ticket_url(settings: Settings, number: str) -> str:
    """Where the ticket can be read in itbot (its JSON API; empty when no public URL is set)."""
    base = settings.public_url.rstrip("/")
    return f"{base}/api/tickets/{number}" if base else ""


def itsm_ticket_payload(ticket: Ticket, *, settings: Settings) -> dict[str, Any]:
    """The ``ticket.created`` payload: the ticket with its scrubbed transcript as ``description``."""
    return {
        "number": ticket.number,
        "summary": scrub_text(ticket.summary),
        "description": scrub_text(transcript_text(ticket.transcript)),
        "priority": ticket.priority,
        "priority_label": priority_label(ticket.priority),
        "category": ticket.category,
        "system": ticket.system,
        "location": scrub_text(ticket.location),
        "device": scrub_text(ticket.device),
        "requester": ticket.requester,
        "channel": ticket.channel,
        "status": ticket.status.value,
        "created_at": ticket.created_at.isoformat(),
        "affected_count": ticket.affected_count,
        "url": ticket_url(settings, ticket.number),
    }


def itsm_comment_payload(*, number: str, author_role: str, author: str, text: str) -> dict[str, Any]:
    """The ``ticket.comment`` payload (``author_role`` "agent" or "requester")."""
    return {"number": number, "author_role": author_role, "author": author, "text": scrub_text(text)}


def itsm_status_payload(*, number: str, status: str, note: str) -> dict[str, Any]:
    """The ``ticket.status`` payload."""
    return {"number": number, "status": status, "note": scrub_text(note)}


def requester_message_payload(reporter: TicketReporter, *, number: str, text: str) -> dict[str, Any]:
    """A ``chat.message`` to one reporter's own thread."""
    return {
        "channel": reporter.channel,
        "reply_to": dict(reporter.reply_to),
        "text": scrub_text(text),
        "ticket_number": number,
        "kind": "requester",
    }


def triage_text(ticket: Ticket) -> str:
    """How a new ticket reads in IT's triage channel (Markdown)."""
    facts = [f"Priority: {priority_label(ticket.priority)} ({ticket.priority})"]
    facts += [
        f"{label}: {value}"
        for label, value in (
            ("System", ticket.system),
            ("Location", ticket.location),
            ("Device", ticket.device),
        )
        if value
    ]
    if ticket.patient_waiting:
        facts.append("Patient waiting")
    if ticket.affected_count > 1:
        facts.append(f"{ticket.affected_count} people affected")
    if ticket.notice_id is not None:
        facts.append(f"Part of outage notice {ticket.notice_id}")
    return scrub_text(
        f"*New ticket {ticket.number}*: {ticket.summary}\n" + " · ".join(facts) + f"\nFrom {ticket.channel}"
    )


def triage_opened_payload(ticket: Ticket, *, settings: Settings) -> dict[str, Any]:
    """The ``chat.triage_opened`` payload: the ticket posted in ``settings.slack_triage_channel``."""
    return {
        "channel": "slack",
        "reply_to": {"channel": settings.slack_triage_channel},
        "text": triage_text(ticket),
        "ticket_number": ticket.number,
        "kind": "triage",
        "actions": list(TRIAGE_ACTIONS),
    }


def triage_message_payload(*, settings: Settings, thread_ts: str, number: str, text: str) -> dict[str, Any]:
    """A ``chat.triage_message``: one line in the ticket's triage thread."""
    return {
        "channel": "slack",
        "reply_to": {"channel": settings.slack_triage_channel, "thread_ts": thread_ts},
        "text": scrub_text(text),
        "ticket_number": number,
        "kind": "triage",
    }
