"""The ServiceNow mapping: itbot's ticket messages as Table API calls on ``incident``."""

from __future__ import annotations

import pytest

from bot.tickets.itsm.servicenow import ServiceNowMapping, make_ref, parse_ref
from bot.tickets.outbox_models import OutboxMessage
from tests.fakes.itsm import comment_payload, status_payload, ticket_payload

BASE = "https://hospital.service-now.com"


def message(topic: str, payload: dict[str, object], key: str = "IT-000042:created") -> OutboxMessage:
    return OutboxMessage(target="itsm", topic=topic, payload=payload, idempotency_key=key, attempts=1)


def test_a_ticket_becomes_an_incident_post_with_the_key_as_correlation_id() -> None:
    call = ServiceNowMapping(BASE + "/").create(message("ticket.created", ticket_payload("IT-000042")))

    assert call.method == "POST"
    assert call.url == f"{BASE}/api/now/table/incident"
    assert call.json["correlation_id"] == "IT-000042:created"
    assert call.json["short_description"] == "Epic keeps logging me out on the WOW"
    assert call.json["category"] == "ehr"
    assert call.params["sysparm_fields"] == "sys_id,number"


def test_the_description_carries_the_text_and_every_detail_given() -> None:
    call = ServiceNowMapping(BASE).create(message("ticket.created", ticket_payload("IT-000042", device="")))
    description = call.json["description"]

    assert description.startswith("Logged out every few minutes")
    assert "itbot ticket: IT-000042 (https://itbot.example.org/tickets/IT-000042)" in description
    assert "Priority: 2 (high)" in description
    assert "System: Epic" in description
    assert "Location: 4 West" in description
    assert "Device:" not in description


@pytest.mark.parametrize(
    ("priority", "impact", "urgency"), [(1, "1", "1"), (2, "1", "2"), (3, "2", "2"), (4, "2", "3")]
)
def test_priority_maps_to_impact_and_urgency_that_servicenow_ranks_p1_to_p4(
    priority: int, impact: str, urgency: str
) -> None:
    call = ServiceNowMapping(BASE).create(
        message("ticket.created", ticket_payload("IT-1", priority=priority))
    )

    assert (call.json["impact"], call.json["urgency"]) == (impact, urgency)


def test_a_long_summary_is_cut_to_the_short_description_limit() -> None:
    call = ServiceNowMapping(BASE).create(
        message("ticket.created", ticket_payload("IT-1", summary="x" * 500))
    )

    assert len(call.json["short_description"]) == 160


def test_the_lookup_queries_by_correlation_id() -> None:
    call = ServiceNowMapping(BASE).lookup(number="IT-000042", idempotency_key="IT-000042:created")

    assert call.method == "GET"
    assert call.params["sysparm_query"] == "correlation_id=IT-000042:created"
    assert call.params["sysparm_limit"] == "1"


def test_the_created_and_found_refs_keep_number_and_sys_id() -> None:
    mapping = ServiceNowMapping(BASE)
    created = {"result": {"sys_id": "9d38", "number": "INC0010001"}}

    assert mapping.created_ref(created, message("ticket.created", {})) == "INC0010001:9d38"
    assert (
        mapping.found_ref({"result": [created["result"]]}, number="", idempotency_key="k")
        == "INC0010001:9d38"
    )
    assert mapping.found_ref({"result": []}, number="", idempotency_key="k") == ""
    assert parse_ref(make_ref(number="INC0010001", sys_id="9d38")) == ("INC0010001", "9d38")


def test_an_answer_without_sys_id_is_not_taken_for_a_created_incident() -> None:
    with pytest.raises(ValueError):
        ServiceNowMapping(BASE).created_ref({"result": {}}, message("ticket.created", {}))


def test_a_requesters_comment_is_customer_visible_and_an_agents_a_work_note() -> None:
    mapping = ServiceNowMapping(BASE)
    by_requester = mapping.follow_up(
        message("ticket.comment", comment_payload("IT-1", "still broken"), "k1"), parent_ref="INC1:abc"
    )
    by_agent = mapping.follow_up(
        message("ticket.comment", comment_payload("IT-1", "on my way", author_role="agent", author="Sam")),
        parent_ref="INC1:abc",
    )

    assert by_requester.method == "PATCH"
    assert by_requester.url == f"{BASE}/api/now/table/incident/abc"
    assert by_requester.json == {"comments": "[itbot, requester] still broken"}
    assert by_agent.json == {"work_notes": "[itbot, agent Sam] on my way"}


def test_resolving_sets_the_state_and_the_close_fields_servicenow_requires() -> None:
    call = ServiceNowMapping(BASE).follow_up(
        message("ticket.status", status_payload("IT-1", "resolved", "Reimaged the WOW")),
        parent_ref="INC1:abc",
    )

    assert call.json["state"] == "6"
    assert call.json["close_notes"] == "Reimaged the WOW"
    assert call.json["close_code"]


def test_waiting_puts_the_incident_on_hold_awaiting_the_caller() -> None:
    call = ServiceNowMapping(BASE).follow_up(
        message("ticket.status", status_payload("IT-1", "waiting")), parent_ref="INC1:abc"
    )

    assert (call.json["state"], call.json["hold_reason"]) == ("3", "1")
