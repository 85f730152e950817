"""Routing a claimed message: the service desk for ``itsm``, the channel's sender for ``chat``."""

from __future__ import annotations

import logging

import pytest

from bot.tickets.delivery import NO_SENDER, NO_TARGET, Deliverer, DeliveryError
from bot.tickets.outbox_models import OutboxMessage
from tests.fakes.itsm import InMemoryForwarder, RecordingSender, ticket_payload


def chat(channel: str, topic: str = "chat.message", **extra: object) -> OutboxMessage:
    payload = {
        "channel": channel,
        "reply_to": {"channel": "C1", "thread_ts": "1.2"},
        "text": "Your ticket **IT-000042** is open.",
        "ticket_number": "IT-000042",
        "kind": "requester",
        **extra,
    }
    return OutboxMessage(id="m1", target="chat", topic=topic, payload=payload, idempotency_key="k")


def test_an_itsm_message_goes_to_the_forwarder_and_its_ref_is_returned() -> None:
    forwarder = InMemoryForwarder()
    message = OutboxMessage(
        target="itsm", topic="ticket.created", payload=ticket_payload("IT-1"), idempotency_key="IT-1:created"
    )

    done = Deliverer(forwarder=forwarder, senders={}).deliver(message)

    assert done.external_ref == "REC-1"
    assert done.note == ""


def test_without_a_service_desk_an_itsm_message_is_done_with_a_note() -> None:
    message = OutboxMessage(target="itsm", topic="ticket.created", payload={}, idempotency_key="k")

    assert Deliverer(forwarder=None, senders={}).deliver(message).note == NO_TARGET


def test_a_chat_message_goes_to_the_sender_for_its_channel_with_its_actions() -> None:
    slack, web = RecordingSender("slack"), RecordingSender("web")

    done = Deliverer(forwarder=None, senders={"slack": slack, "web": web}).deliver(
        chat("slack", actions=["fixed", "still_stuck"])
    )

    assert done.external_ref == "slack-1"
    assert web.sent == []
    sent = slack.sent[0]
    assert sent.reply_to == {"channel": "C1", "thread_ts": "1.2"}
    assert (sent.actions, sent.ticket_number, sent.kind) == (
        ["fixed", "still_stuck"],
        "IT-000042",
        "requester",
    )


def test_a_chat_message_for_a_channel_without_a_sender_is_done_and_logged_without_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)

    done = Deliverer(forwarder=None, senders={}).deliver(chat("teams"))

    assert done.note == NO_SENDER
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "channel=teams" in logged
    assert "IT-000042** is open" not in logged


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (OutboxMessage(target="pager", topic="x", payload={}, idempotency_key="k"), "unknown_target"),
        (chat("slack", topic="chat.shout"), "unknown_topic"),
        (
            OutboxMessage(
                target="chat", topic="chat.message", payload={"channel": "slack"}, idempotency_key="k"
            ),
            "bad_payload",
        ),
    ],
)
def test_what_no_retry_can_fix_is_a_permanent_failure(message: OutboxMessage, code: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        Deliverer(forwarder=None, senders={"slack": RecordingSender("slack")}).deliver(message)

    assert (caught.value.code, caught.value.permanent) == (code, True)


def test_a_senders_failure_reaches_the_caller_as_it_is() -> None:
    slack = RecordingSender("slack")
    slack.failures.append(DeliveryError("ratelimited", retry_after=3.0, unavailable=True))

    with pytest.raises(DeliveryError) as caught:
        Deliverer(forwarder=None, senders={"slack": slack}).deliver(chat("slack"))

    assert caught.value.retry_after == 3.0
