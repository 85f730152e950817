"""Jira Service Management: tickets become customer requests through the Service Desk REST API.

* create: ``POST {base}/rest/servicedeskapi/request`` with ``serviceDeskId``, ``requestTypeId`` and
  ``requestFieldValues`` ``summary`` (``[IT-000123] ...``: the itbot number first) and
  ``description`` (the details, priority included: only fields on the request type's form may be
  set, and priority rarely is);
* lookup (before a create is retried): Jira has no idempotency key or correlation field the
  customer API can set, so itbot searches the requests its own account raised in this service desk
  (``GET {base}/rest/servicedeskapi/request?serviceDeskId=..&requestOwnership=OWNED_REQUESTS&
  requestStatus=ALL_REQUESTS&searchTerm=<number>``) and takes the one whose summary starts with
  ``[<number>]``. Jira's search index can lag a few seconds behind a create, so a retry that comes
  sooner than that may not see it: the first retry waits ``outbox_backoff_seconds`` (2 s by default);
* comment: ``POST {base}/rest/servicedeskapi/request/{issueKey}/comment`` with ``body`` and ``public``
  (a requester's words public, an agent's internal, as with ServiceNow's work notes);
* status: an internal comment saying the new status. Transitions are workflow-specific in Jira
  (their ids differ per project), so moving the issue is left to the desk's own automation.

The receiver's id kept in the outbox is the ``issueKey`` (e.g. ``HD-42``).
"""

from __future__ import annotations

from typing import Any

from bot.tickets.itsm.mapping import (
    STATUS,
    HttpCall,
    comment_text,
    status_text,
    text_field,
    ticket_description,
)
from bot.tickets.outbox_models import OutboxMessage

REQUEST_PATH = "/rest/servicedeskapi/request"
SUMMARY_CHARS = 255


def summary_line(payload: dict[str, Any]) -> str:
    """The Jira summary: ``[<itbot number>] <summary>``, the number being what a lookup matches."""
    number = text_field(payload, "number")
    summary = text_field(payload, "summary")
    return (f"[{number}] {summary}" if number else summary)[:SUMMARY_CHARS]


class JiraMapping:
    """Customer requests in one Jira Service Management service desk."""

    kind = "jira"
    needs_parent = True

    def __init__(self, base_url: str, *, service_desk_id: str, request_type_id: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.service_desk_id = service_desk_id
        self.request_type_id = request_type_id

    @property
    def request_url(self) -> str:
        """The customer request collection's URL."""
        return self.base_url + REQUEST_PATH

    def create(self, message: OutboxMessage) -> HttpCall:
        """``POST`` a new customer request."""
        payload = message.payload
        body = {
            "serviceDeskId": self.service_desk_id,
            "requestTypeId": self.request_type_id,
            "requestFieldValues": {
                "summary": summary_line(payload),
                "description": ticket_description(payload),
            },
        }
        return HttpCall("POST", self.request_url, json=body)

    def created_ref(self, body: Any, message: OutboxMessage) -> str:
        """The new request's ``issueKey``."""
        key = body.get("issueKey") if isinstance(body, dict) else None
        if not key:
            raise ValueError("no issueKey in the answer")
        return str(key)

    def lookup(self, *, number: str, idempotency_key: str) -> HttpCall:
        """``GET`` itbot's own requests in this desk whose text mentions the itbot number."""
        params = {
            "serviceDeskId": self.service_desk_id,
            "requestOwnership": "OWNED_REQUESTS",
            "requestStatus": "ALL_REQUESTS",
            "searchTerm": number,
            "limit": "50",
        }
        return HttpCall("GET", self.request_url, params=params)

    def found_ref(self, body: Any, *, number: str, idempotency_key: str) -> str:
        """The ``issueKey`` of the request whose summary starts with ``[<number>]``, or ""."""
        values = body.get("values") if isinstance(body, dict) else None
        if not number or not isinstance(values, list):
            return ""
        prefix = f"[{number}]"
        for request in values:
            if not isinstance(request, dict):
                continue
            fields = request.get("requestFieldValues") or []
            summary = next(
                (f.get("value") for f in fields if isinstance(f, dict) and f.get("fieldId") == "summary"), ""
            )
            if isinstance(summary, str) and summary.startswith(prefix) and request.get("issueKey"):
                return str(request["issueKey"])
        return ""

    def follow_up(self, message: OutboxMessage, *, parent_ref: str) -> HttpCall:
        """``POST`` a comment on the request: public for a requester, internal otherwise."""
        payload = message.payload
        if message.topic == STATUS:
            body = {"body": status_text(payload), "public": False}
        else:
            public = text_field(payload, "author_role") != "agent"
            body = {"body": comment_text(payload), "public": public}
        return HttpCall("POST", f"{self.request_url}/{parent_ref}/comment", json=body)

    def follow_up_ref(self, body: Any, *, parent_ref: str) -> str:
        """``<issueKey>#<comment id>``, or the issue key when Jira gave no id."""
        comment_id = body.get("id") if isinstance(body, dict) else None
        return f"{parent_ref}#{comment_id}" if comment_id else parent_ref
