"""The Jira Service Management mapping: customer requests, their comments, and the lookup by number."""

from __future__ import annotations

from bot.tickets.itsm.jira import JiraMapping
from bot.tickets.outbox_models import OutboxMessage
from tests.fakes.itsm import comment_payload, status_payload, ticket_payload

BASE = "https://hospital.atlassian.net"


def mapping() -> JiraMapping:
    return JiraMapping(BASE, service_desk_id="4", request_type_id="27")


def message(topic: str, payload: dict[str, object]) -> OutboxMessage:
    return OutboxMessage(target="itsm", topic=topic, payload=payload, idempotency_key="IT-000042:created")


def test_a_ticket_becomes_a_customer_request_with_the_number_first_in_the_summary() -> None:
    call = mapping().create(message("ticket.created", ticket_payload("IT-000042")))

    assert call.method == "POST"
    assert call.url == f"{BASE}/rest/servicedeskapi/request"
    assert call.json["serviceDeskId"] == "4"
    assert call.json["requestTypeId"] == "27"
    fields = call.json["requestFieldValues"]
    assert fields["summary"] == "[IT-000042] Epic keeps logging me out on the WOW"
    assert "Priority: 2 (high)" in fields["description"]
    assert set(fields) == {"summary", "description"}


def test_the_created_ref_is_the_issue_key() -> None:
    assert mapping().created_ref({"issueKey": "HD-7"}, message("ticket.created", {})) == "HD-7"


def test_the_lookup_searches_itbots_own_requests_in_the_desk_by_number() -> None:
    call = mapping().lookup(number="IT-000042", idempotency_key="IT-000042:created")

    assert call.method == "GET"
    assert call.params["searchTerm"] == "IT-000042"
    assert call.params["serviceDeskId"] == "4"
    assert call.params["requestOwnership"] == "OWNED_REQUESTS"


def test_the_lookup_only_takes_a_request_whose_summary_starts_with_the_number() -> None:
    def request(key: str, summary: str) -> dict[str, object]:
        return {"issueKey": key, "requestFieldValues": [{"fieldId": "summary", "value": summary}]}

    body = {"values": [request("HD-1", "About [IT-000042] again"), request("HD-2", "[IT-000042] Epic")]}

    assert mapping().found_ref(body, number="IT-000042", idempotency_key="k") == "HD-2"
    assert mapping().found_ref(body, number="IT-000043", idempotency_key="k") == ""


def test_requester_comments_are_public_and_agent_comments_internal() -> None:
    public = mapping().follow_up(
        message("ticket.comment", comment_payload("IT-1", "still down")), parent_ref="HD-2"
    )
    internal = mapping().follow_up(
        message("ticket.comment", comment_payload("IT-1", "checking", author_role="agent")), parent_ref="HD-2"
    )

    assert public.url == f"{BASE}/rest/servicedeskapi/request/HD-2/comment"
    assert public.json == {"body": "[itbot, requester] still down", "public": True}
    assert internal.json["public"] is False


def test_a_status_change_is_an_internal_comment_since_transitions_are_per_workflow() -> None:
    call = mapping().follow_up(
        message("ticket.status", status_payload("IT-1", "resolved", "fixed")), parent_ref="HD-2"
    )

    assert call.method == "POST"
    assert call.json == {"body": "[itbot] Status: resolved. fixed", "public": False}


def test_a_comment_ref_names_the_issue_and_the_comment() -> None:
    assert mapping().follow_up_ref({"id": "10"}, parent_ref="HD-2") == "HD-2#10"
