"""What every service desk mapping provides: pure functions from an outbox message to HTTP calls,
and from the receiver's JSON back to its id for the record. No I/O and no credentials here (the
forwarder adds authentication), so a mapping is tested by looking at the calls it builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.tickets.outbox_models import OutboxMessage

CREATED = "ticket.created"
COMMENT = "ticket.comment"
STATUS = "ticket.status"
FOLLOW_UPS = frozenset({COMMENT, STATUS})


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request to make: method, absolute URL, query parameters, JSON body, extra headers."""

    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ItsmMapping(Protocol):
    """How itbot's ticket messages become one service desk's API calls."""

    kind: str
    needs_parent: bool
    """True when comments and status changes are addressed by the created record's id."""

    def create(self, message: OutboxMessage) -> HttpCall:
        """The call that creates the record for a ``ticket.created`` message."""
        ...

    def created_ref(self, body: Any, message: OutboxMessage) -> str:
        """The receiver's id for the record, from the create call's JSON answer."""
        ...

    def lookup(self, *, number: str, idempotency_key: str) -> HttpCall | None:
        """The call that finds an already created record, or None when the receiver dedupes itself."""
        ...

    def found_ref(self, body: Any, *, number: str, idempotency_key: str) -> str:
        """The found record's id from the lookup's JSON answer; "" when there is none."""
        ...

    def follow_up(self, message: OutboxMessage, *, parent_ref: str) -> HttpCall:
        """The call for a ``ticket.comment`` or ``ticket.status`` on the record ``parent_ref``."""
        ...

    def follow_up_ref(self, body: Any, *, parent_ref: str) -> str:
        """What to remember of a comment or status call's answer (the comment's id, or the record's)."""
        ...


def created_key(number: str) -> str:
    """The idempotency key of a ticket's ``ticket.created`` message (``<number>:created``)."""
    return f"{number}:created"


def text_field(payload: dict[str, Any], name: str) -> str:
    """``payload[name]`` as text ("" when absent or null)."""
    value = payload.get(name)
    return "" if value is None else str(value)


DETAIL_FIELDS = (
    ("Priority", "priority"),
    ("Category", "category"),
    ("System", "system"),
    ("Location", "location"),
    ("Device", "device"),
    ("Requester", "requester"),
    ("Channel", "channel"),
    ("People affected", "affected_count"),
    ("Opened", "created_at"),
)


def ticket_description(payload: dict[str, Any]) -> str:
    """The description a service desk shows: the ticket's text, then its details, one a line.

    Only what the payload holds (already scrubbed); empty details are left out.
    """
    lines = [text_field(payload, "description").strip()]
    details = []
    number = text_field(payload, "number")
    url = text_field(payload, "url")
    if number:
        details.append(f"itbot ticket: {number}" + (f" ({url})" if url else ""))
    for label, key in DETAIL_FIELDS:
        value = text_field(payload, key)
        if key == "priority" and value and payload.get("priority_label"):
            value = f"{value} ({text_field(payload, 'priority_label')})"
        if value:
            details.append(f"{label}: {value}")
    if details:
        lines += ["", "---", *details]
    return "\n".join(lines).strip()


def comment_text(payload: dict[str, Any]) -> str:
    """A ``ticket.comment`` as the service desk shows it: who wrote it in itbot, then the text."""
    author = text_field(payload, "author")
    role = text_field(payload, "author_role") or "requester"
    prefix = f"[itbot, {role}{' ' + author if author else ''}]"
    return f"{prefix} {text_field(payload, 'text')}"


def status_text(payload: dict[str, Any]) -> str:
    """A ``ticket.status`` as a line of text: the new status, then the note if any."""
    note = text_field(payload, "note")
    return f"[itbot] Status: {text_field(payload, 'status')}" + (f". {note}" if note else "")
