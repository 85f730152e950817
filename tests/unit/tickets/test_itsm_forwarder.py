"""The HTTP forwarder over an in-process transport: what it sends, what it keeps, when it looks first."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest

from bot.config import Settings
from bot.tickets.delivery import DeliveryError
from bot.tickets.itsm import ItsmConfigError, build_forwarder
from bot.tickets.itsm.forwarder import HttpForwarder
from bot.tickets.itsm.jira import JiraMapping
from bot.tickets.itsm.servicenow import ServiceNowMapping
from bot.tickets.outbox_models import OutboxMessage
from tests.fakes.itsm import comment_payload, ticket_payload

BASE = "https://sn.example.org"
Handler = Callable[[httpx.Request], httpx.Response]


def servicenow(handler: Handler) -> tuple[HttpForwarder, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(record))
    return HttpForwarder(ServiceNowMapping(BASE), auth=httpx.BasicAuth("itbot", "pw"), client=client), seen


def created(attempts: int = 1) -> OutboxMessage:
    return OutboxMessage(
        id="m1",
        target="itsm",
        topic="ticket.created",
        payload=ticket_payload("IT-000042"),
        idempotency_key="IT-000042:created",
        attempts=attempts,
    )


def incident(sys_id: str = "abc", number: str = "INC0010001") -> dict[str, str]:
    return {"sys_id": sys_id, "number": number}


def test_a_first_try_creates_with_basic_auth_and_keeps_number_and_sys_id() -> None:
    forwarder, seen = servicenow(lambda r: httpx.Response(201, json={"result": incident()}))

    assert forwarder.forward(created(), parent_ref="") == "INC0010001:abc"
    assert [r.method for r in seen] == ["POST"]
    assert seen[0].headers["authorization"].startswith("Basic ")
    assert json.loads(seen[0].content)["correlation_id"] == "IT-000042:created"


def test_a_retry_finds_the_incident_an_earlier_try_created_and_creates_nothing() -> None:
    forwarder, seen = servicenow(lambda r: httpx.Response(200, json={"result": [incident("def")]}))

    assert forwarder.forward(created(attempts=2), parent_ref="") == "INC0010001:def"
    assert [r.method for r in seen] == ["GET"]
    assert seen[0].url.params["sysparm_query"] == "correlation_id=IT-000042:created"


def test_a_retry_creates_when_the_lookup_finds_nothing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"result": []})
        return httpx.Response(201, json={"result": incident()})

    forwarder, seen = servicenow(handler)

    assert forwarder.forward(created(attempts=3), parent_ref="") == "INC0010001:abc"
    assert [r.method for r in seen] == ["GET", "POST"]


def test_a_timeout_is_a_retryable_error_named_by_its_type() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    forwarder, _ = servicenow(handler)

    with pytest.raises(DeliveryError) as caught:
        forwarder.forward(created(), parent_ref="")
    assert (caught.value.code, caught.value.permanent) == ("ReadTimeout", False)


def test_a_rejected_create_is_a_permanent_error_with_the_status() -> None:
    forwarder, _ = servicenow(lambda r: httpx.Response(403, json={"error": {"message": "ACL"}}))

    with pytest.raises(DeliveryError) as caught:
        forwarder.forward(created(), parent_ref="")
    assert (caught.value.code, caught.value.permanent) == ("http_403", True)


def test_a_2xx_without_the_record_is_retried_so_the_lookup_settles_it() -> None:
    forwarder, _ = servicenow(lambda r: httpx.Response(201, text="<html>maintenance</html>"))

    with pytest.raises(DeliveryError) as caught:
        forwarder.forward(created(), parent_ref="")
    assert (caught.value.code, caught.value.permanent) == ("bad_response", False)


def test_a_comment_goes_to_the_parent_incident() -> None:
    forwarder, seen = servicenow(lambda r: httpx.Response(200, json={"result": incident()}))
    comment = OutboxMessage(
        target="itsm", topic="ticket.comment", payload=comment_payload("IT-000042", "hi"), idempotency_key="c"
    )

    assert forwarder.forward(comment, parent_ref="INC0010001:abc") == "INC0010001:abc"
    assert (seen[0].method, seen[0].url.path) == ("PATCH", "/api/now/table/incident/abc")


def test_a_comment_without_a_known_parent_looks_it_up_by_the_tickets_created_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"result": [incident("zzz")]})
        return httpx.Response(200, json={"result": incident("zzz")})

    forwarder, seen = servicenow(handler)
    comment = OutboxMessage(
        target="itsm", topic="ticket.comment", payload=comment_payload("IT-000042", "hi"), idempotency_key="c"
    )

    forwarder.forward(comment, parent_ref="")
    assert seen[0].url.params["sysparm_query"] == "correlation_id=IT-000042:created"
    assert seen[1].url.path == "/api/now/table/incident/zzz"


def test_a_comment_whose_ticket_the_desk_never_got_is_a_permanent_no_parent() -> None:
    forwarder, _ = servicenow(lambda r: httpx.Response(200, json={"result": []}))
    comment = OutboxMessage(
        target="itsm", topic="ticket.comment", payload=comment_payload("IT-000042", "hi"), idempotency_key="c"
    )

    with pytest.raises(DeliveryError) as caught:
        forwarder.forward(comment, parent_ref="")
    assert (caught.value.code, caught.value.permanent) == ("no_parent", True)


def test_jira_retries_search_the_desk_before_creating() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        values = [
            {"issueKey": "HD-9", "requestFieldValues": [{"fieldId": "summary", "value": "[IT-000042] x"}]}
        ]
        return httpx.Response(200, json={"values": values})

    mapping = JiraMapping("https://j.example.org", service_desk_id="4", request_type_id="27")
    forwarder = HttpForwarder(mapping, client=httpx.Client(transport=httpx.MockTransport(handler)))

    assert forwarder.forward(created(attempts=2), parent_ref="") == "HD-9"
    assert [r.method for r in seen] == ["GET"]


def test_the_log_has_ids_and_statuses_but_no_payload_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    forwarder, _ = servicenow(lambda r: httpx.Response(503, headers={"Retry-After": "7"}))

    with pytest.raises(DeliveryError) as caught:
        forwarder.forward(created(), parent_ref="")

    assert caught.value.retry_after == 7.0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "status=503" in logged
    assert "message_id=m1" in logged
    assert "Epic keeps" not in logged
    assert "Logged out" not in logged


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"itsm_kind": "remedy"}, "use one of"),
        ({"itsm_kind": "servicenow"}, "ITBOT_ITSM_URL"),
        ({"itsm_kind": "jira", "itsm_url": BASE}, "ITBOT_JIRA_SERVICE_DESK_ID"),
    ],
)
def test_incomplete_settings_are_refused_with_what_is_missing(
    overrides: dict[str, str], problem: str
) -> None:
    with pytest.raises(ItsmConfigError, match=problem):
        build_forwarder(Settings.model_validate(overrides))


def test_no_service_desk_means_no_forwarder() -> None:
    assert build_forwarder(Settings(itsm_kind="none")) is None


def test_each_kind_gets_its_mapping_and_credentials() -> None:
    servicenow_forwarder = build_forwarder(
        Settings(itsm_kind="servicenow", itsm_url=BASE, itsm_username="itbot", itsm_password="pw")
    )
    webhook_forwarder = build_forwarder(Settings(itsm_kind="webhook", itsm_url=BASE, itsm_password="tok"))

    assert servicenow_forwarder is not None and servicenow_forwarder.mapping.kind == "servicenow"
    assert isinstance(servicenow_forwarder.auth, httpx.BasicAuth)
    assert webhook_forwarder is not None and webhook_forwarder.mapping.kind == "webhook"
    request = next(webhook_forwarder.auth.auth_flow(httpx.Request("POST", BASE)))  # type: ignore[union-attr]
    assert request.headers["authorization"] == "Bearer tok"
