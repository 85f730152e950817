"""The generic webhook mapping: the payload as it is, with the idempotency key and topic as headers."""

from __future__ import annotations

from bot.tickets.itsm.webhook import WebhookMapping
from bot.tickets.outbox_models import OutboxMessage
from tests.fakes.itsm import comment_payload, ticket_payload

URL = "https://hooks.example.org/itbot"


def test_every_message_is_posted_unchanged_with_its_key_and_topic() -> None:
    payload = ticket_payload("IT-000042")
    created = OutboxMessage(
        target="itsm", topic="ticket.created", payload=payload, idempotency_key="IT-000042:created"
    )
    comment = OutboxMessage(
        target="itsm",
        topic="ticket.comment",
        payload=comment_payload("IT-000042", "hi"),
        idempotency_key="c1",
    )
    mapping = WebhookMapping(URL)

    call = mapping.create(created)
    follow_up = mapping.follow_up(comment, parent_ref="")

    assert (call.method, call.url, call.json) == ("POST", URL, payload)
    assert call.headers == {"Idempotency-Key": "IT-000042:created", "X-Itbot-Topic": "ticket.created"}
    assert follow_up.headers["X-Itbot-Topic"] == "ticket.comment"
    assert follow_up.json == comment.payload


def test_there_is_no_lookup_because_the_receiver_dedupes_by_key() -> None:
    assert WebhookMapping(URL).lookup(number="IT-1", idempotency_key="IT-1:created") is None
    assert WebhookMapping(URL).needs_parent is False


def test_the_receivers_id_is_kept_when_it_gives_one() -> None:
    message = OutboxMessage(target="itsm", topic="ticket.created", payload={}, idempotency_key="k")

    assert WebhookMapping(URL).created_ref({"id": 17}, message) == "17"
    assert WebhookMapping(URL).created_ref(None, message) == ""
