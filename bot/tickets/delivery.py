"""Delivering one claimed outbox message: to the service desk (a ``Forwarder``) or to a chat channel
(a ``ChatSender`` for the payload's ``channel``).

Both kinds of receiver answer the same way: the receiver's reference for what was posted, or a
``DeliveryError`` that says whether trying again can help and when. The ``Deliverer`` only routes;
the worker records the result in the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.tickets.outbox_models import OutboxMessage

log = logging.getLogger(__name__)

ITSM_TARGET = "itsm"
CHAT_TARGET = "chat"
CHAT_TOPICS = frozenset({"chat.message", "chat.triage_opened", "chat.triage_message"})
NO_TARGET = "no_target"
NO_SENDER = "no_sender"


class DeliveryError(Exception):
    """A receiver did not take the message.

    ``code`` names the failure for the outbox's ``last_error`` (an HTTP status like ``http_503`` or an
    error type like ``ConnectTimeout``), never text from the message. ``permanent``: trying again
    cannot help (the message is dead-lettered at once). ``retry_after``: seconds the receiver asked
    us to wait. ``unavailable``: the receiver as a whole is down or throttling, not just this message,
    so the worker holds its other messages for that receiver too.
    """

    def __init__(
        self,
        code: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        unavailable: bool = False,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after
        self.permanent = permanent
        self.unavailable = unavailable


class ChatSender(Protocol):
    """Posts a message into one chat channel (Slack, Teams, the web chat...)."""

    def send(
        self,
        *,
        reply_to: Mapping[str, Any],
        text: str,
        actions: Sequence[str],
        ticket_number: str,
        kind: str,
    ) -> str:
        """Post ``text`` (Markdown) where ``reply_to`` says; return the posted message's reference.

        Raises ``DeliveryError`` when the channel refused or could not be reached.
        """
        ...


class Forwarder(Protocol):
    """Sends ``target="itsm"`` messages to the hospital's service desk."""

    def forward(self, message: OutboxMessage, *, parent_ref: str) -> str:
        """Deliver ``message`` and return the receiver's id for it ("" if it gives none).

        ``parent_ref`` is the receiver's id of the ticket's ``ticket.created`` ("" if unknown), which
        comments and status changes are attached to. ``message.attempts`` above 1 means an earlier
        try may have arrived: a create then looks for the record before making it again. Raises
        ``DeliveryError`` on failure.
        """
        ...


@dataclass(frozen=True)
class Delivered:
    """A message that is done: the receiver's reference, or a note saying why nothing was sent."""

    external_ref: str = ""
    note: str = ""


class Deliverer:
    """Routes a message to the forwarder (``itsm``) or to the sender for its chat channel (``chat``)."""

    def __init__(self, *, forwarder: Forwarder | None, senders: Mapping[str, ChatSender]) -> None:
        self.forwarder = forwarder
        self.senders = dict(senders)

    def deliver(self, message: OutboxMessage, *, parent_ref: str = "") -> Delivered:
        """Deliver ``message`` once; raises ``DeliveryError`` when its receiver did not take it.

        With no service desk configured an ``itsm`` message is done with the note ``no_target``; a
        chat message for a channel without a sender is done with ``no_sender`` (retrying would
        never help). An unknown target or topic, or a chat payload missing its fields, is a
        permanent failure.
        """
        if message.target == ITSM_TARGET:
            if self.forwarder is None:
                log.info("event=outbox_no_target message_id=%s topic=%s", message.id, message.topic)
                return Delivered(note=NO_TARGET)
            return Delivered(external_ref=self.forwarder.forward(message, parent_ref=parent_ref))
        if message.target == CHAT_TARGET:
            return self._send_chat(message)
        raise DeliveryError("unknown_target", permanent=True)

    def _send_chat(self, message: OutboxMessage) -> Delivered:
        if message.topic not in CHAT_TOPICS:
            raise DeliveryError("unknown_topic", permanent=True)
        payload = message.payload
        channel = payload.get("channel")
        reply_to = payload.get("reply_to")
        text = payload.get("text")
        if not isinstance(channel, str) or not isinstance(reply_to, Mapping) or not isinstance(text, str):
            raise DeliveryError("bad_payload", permanent=True)
        sender = self.senders.get(channel)
        if sender is None:
            log.warning(
                "event=outbox_no_sender message_id=%s ticket_id=%s channel=%s",
                message.id,
                message.ticket_id or "-",
                channel,
            )
            return Delivered(note=NO_SENDER)
        actions = payload.get("actions") or []
        ref = sender.send(
            reply_to=reply_to,
            text=text,
            actions=[str(action) for action in actions],
            ticket_number=str(payload.get("ticket_number", "")),
            kind=str(payload.get("kind", "requester")),
        )
        return Delivered(external_ref=ref)
