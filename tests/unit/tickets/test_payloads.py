"""Outbox payloads (``bot.tickets.payloads``): the agreed shapes, and nothing unscrubbed in them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.config import Settings
from bot.tickets.models import Ticket, TicketReporter, TicketStatus
from bot.tickets.payloads import (
    itsm_comment_payload,
    itsm_status_payload,
    itsm_ticket_payload,
    requester_message_payload,
    triage_message_payload,
    triage_opened_payload,
)

MRN, DOB, PHONE, NAME = "00482913", "3/14/62", "555-123-4567", "Okonkwo"
RAW = f"epic froze on pt {NAME} MRN {MRN} dob {DOB}, call {PHONE}"


def settings() -> Settings:
    return Settings(public_url="https://itbot.example.org/", slack_triage_channel="C0TRIAGE")


def ticket() -> Ticket:
    # Built by hand with raw identifiers in every free-text field, as if a caller forgot to scrub.
    return Ticket(
        id="t-1",
        number="IT-000042",
        seq=42,
        summary=RAW,
        requester="U123",
        channel="slack",
        category="ehr",
        system="Epic",
        priority=2,
        location=f"4 West room 12, cb {PHONE}",
        device="wow 23",
        patient_waiting=True,
        status=TicketStatus.NEW,
        transcript=[{"role": "user", "text": RAW, "at": "2026-11-02T09:10:00+00:00"}],
        created_at=datetime(2026, 11, 2, 9, 10, tzinfo=UTC),
        affected_count=3,
    )


def no_phi(payload: dict[str, object]) -> bool:
    dumped = json.dumps(payload)
    return not any(identifier in dumped for identifier in (MRN, DOB, PHONE, NAME))


def test_the_service_desk_payload_has_every_agreed_key() -> None:
    payload = itsm_ticket_payload(ticket(), settings=settings())

    assert set(payload) == {
        "number",
        "summary",
        "description",
        "priority",
        "priority_label",
        "category",
        "system",
        "location",
        "device",
        "requester",
        "channel",
        "status",
        "created_at",
        "affected_count",
        "url",
    }
    assert payload["number"] == "IT-000042"
    assert payload["priority"] == 2 and payload["priority_label"] == "high"
    assert payload["created_at"] == "2026-11-02T09:10:00+00:00"
    assert payload["url"] == "https://itbot.example.org/api/tickets/IT-000042"
    assert "[MRN]" in str(payload["description"]) and "person:" in str(payload["description"])


def test_no_payload_carries_a_patient_identifier_even_from_unscrubbed_input() -> None:
    reporter = TicketReporter(ticket_id="t-1", requester="U123", channel="slack", reply_to={"channel": "C1"})
    payloads = [
        itsm_ticket_payload(ticket(), settings=settings()),
        itsm_comment_payload(number="IT-000042", author_role="agent", author="Dana", text=RAW),
        itsm_status_payload(number="IT-000042", status="resolved", note=RAW),
        requester_message_payload(reporter, number="IT-000042", text=RAW),
        triage_opened_payload(ticket(), settings=settings()),
        triage_message_payload(settings=settings(), thread_ts="1700.1", number="IT-000042", text=RAW),
    ]

    assert all(no_phi(p) for p in payloads)


def test_a_requester_message_goes_to_the_reporters_own_thread() -> None:
    reporter = TicketReporter(
        ticket_id="t-1", requester="U9", channel="slack", reply_to={"channel": "C1", "thread_ts": "171.2"}
    )

    payload = requester_message_payload(reporter, number="IT-000042", text="Fixed.")

    assert payload == {
        "channel": "slack",
        "reply_to": {"channel": "C1", "thread_ts": "171.2"},
        "text": "Fixed.",
        "ticket_number": "IT-000042",
        "kind": "requester",
    }


def test_the_triage_post_goes_to_the_triage_channel_with_its_buttons() -> None:
    payload = triage_opened_payload(ticket(), settings=settings())

    assert payload["channel"] == "slack"
    assert payload["reply_to"] == {"channel": "C0TRIAGE"}
    assert payload["kind"] == "triage"
    assert payload["actions"] == ["take", "reply", "resolve"]
    assert "IT-000042" in str(payload["text"]) and "3 people affected" in str(payload["text"])


def test_a_triage_line_goes_into_the_tickets_triage_thread_without_buttons() -> None:
    payload = triage_message_payload(settings=settings(), thread_ts="1700.1", number="IT-000042", text="hi")

    assert payload["reply_to"] == {"channel": "C0TRIAGE", "thread_ts": "1700.1"}
    assert "actions" not in payload


def test_without_a_public_url_the_link_is_empty() -> None:
    assert itsm_ticket_payload(ticket(), settings=Settings(public_url=""))["url"] == ""
