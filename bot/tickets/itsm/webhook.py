"""A generic webhook: every itsm message is ``POST``-ed to ``ITBOT_ITSM_URL`` as its payload, unchanged.

Headers say what it is: ``Idempotency-Key`` (the receiver must ignore a key it has seen: that is
what makes a retried delivery arrive once) and ``X-Itbot-Topic`` (``ticket.created``,
``ticket.comment``, ``ticket.status``). The receiver may answer with ``{"id": ...}``; itbot keeps it.
"""

from __future__ import annotations

from typing import Any

from bot.tickets.itsm.mapping import HttpCall
from bot.tickets.outbox_models import OutboxMessage


class WebhookMapping:
    """Messages ``POST``-ed as JSON to one URL."""

    kind = "webhook"
    needs_parent = False

    def __init__(self, url: str) -> None:
        self.url = url

    def create(self, message: OutboxMessage) -> HttpCall:
        """The payload as it is, with the idempotency key and the topic as headers."""
        headers = {"Idempotency-Key": message.idempotency_key, "X-Itbot-Topic": message.topic}
        return HttpCall("POST", self.url, json=message.payload, headers=headers)

    def created_ref(self, body: Any, message: OutboxMessage) -> str:
        """The receiver's ``id`` if it answered with one, else ""."""
        return _receiver_id(body)

    def lookup(self, *, number: str, idempotency_key: str) -> None:
        """None: the receiver dedupes by ``Idempotency-Key`` itself."""
        return None

    def found_ref(self, body: Any, *, number: str, idempotency_key: str) -> str:
        """Never called (there is no lookup)."""
        return ""

    def follow_up(self, message: OutboxMessage, *, parent_ref: str) -> HttpCall:
        """Comments and status changes go the same way as creates."""
        return self.create(message)

    def follow_up_ref(self, body: Any, *, parent_ref: str) -> str:
        """The receiver's ``id`` if any, else the ticket's."""
        return _receiver_id(body) or parent_ref


def _receiver_id(body: Any) -> str:
    if isinstance(body, dict) and body.get("id") is not None:
        return str(body["id"])
    return ""
