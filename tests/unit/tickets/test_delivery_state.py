"""A ticket's delivery to the service desk in words and numbers, from its outbox messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.tickets.delivery_state import desk_id, summarize
from bot.tickets.models import DeliveryState
from bot.tickets.outbox_models import OutboxMessage, OutboxStatus

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
SYS_ID = "9d385017c611228701d22104cc95c371"


def message(topic: str, status: OutboxStatus = OutboxStatus.PENDING, **fields: object) -> OutboxMessage:
    return OutboxMessage(
        target="itsm", topic=topic, idempotency_key=topic, ticket_id="t", status=status, **fields
    )


def test_the_desk_id_is_servicenows_incident_number_or_the_reference_as_it_is() -> None:
    assert desk_id(f"INC0010001:{SYS_ID}") == "INC0010001"
    assert desk_id("HD-42") == "HD-42"
    assert desk_id("urn:hook:7") == "urn:hook:7"
    assert desk_id("") == ""


def test_a_retrying_create_says_which_try_when_next_and_the_last_error() -> None:
    create = message(
        "ticket.created", attempts=7, next_attempt_at=NOW + timedelta(minutes=5), last_error="http_429"
    )

    delivery = summarize([create, message("ticket.comment")], now=NOW)

    assert delivery is not None
    assert delivery.state == DeliveryState.RETRYING
    assert delivery.text == (
        "retrying (try 7, next at 2026-12-03 03:05:00 UTC, last error http_429), 1 follow-up held"
    )


def test_a_dead_create_names_the_reason_and_the_follow_ups_it_holds() -> None:
    create = message("ticket.created", OutboxStatus.FAILED, attempts=1, last_error="http_401")
    follow_ups = [message("ticket.comment"), message("ticket.comment"), message("ticket.status")]

    delivery = summarize([create, *follow_ups], now=NOW)

    assert delivery is not None
    assert (delivery.state, delivery.follow_ups_held) == (DeliveryState.DEAD, 3)
    assert delivery.text == "dead-lettered: http_401 after 1 try, 3 follow-ups held"


def test_a_delivered_create_shows_the_incident_and_what_is_still_on_the_way() -> None:
    create = message(
        "ticket.created", OutboxStatus.DELIVERED, attempts=1, external_ref=f"INC0010001:{SYS_ID}"
    )
    dead_comment = message("ticket.comment", OutboxStatus.FAILED, last_error="http_400")

    delivery = summarize([create, message("ticket.status"), dead_comment], now=NOW)

    assert delivery is not None
    assert (delivery.state, delivery.desk_id) == (DeliveryState.DELIVERED, "INC0010001")
    assert delivery.text == "delivered as INC0010001, 1 follow-up on the way, 1 follow-up dead-lettered"


def test_queued_sending_and_not_forwarded() -> None:
    sending = message("ticket.created", attempts=2, locked_until=NOW + timedelta(minutes=1))
    not_forwarded = message("ticket.created", OutboxStatus.DELIVERED, last_error="no_target")

    assert summarize([message("ticket.created")], now=NOW).text == "queued"  # type: ignore[union-attr]
    assert summarize([sending], now=NOW).text == "sending (try 2)"  # type: ignore[union-attr]
    assert summarize([not_forwarded], now=NOW).state == DeliveryState.NOT_FORWARDED  # type: ignore[union-attr]
    assert summarize([], now=NOW) is None
