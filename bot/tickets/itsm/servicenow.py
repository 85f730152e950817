"""ServiceNow: tickets become incidents through the Table API.

* create: ``POST {base}/api/now/table/incident`` with ``short_description``, ``description``,
  ``impact``/``urgency`` from the priority (1 → P1 critical .. 4 → P4 low under ServiceNow's default
  priority lookup), ``category`` as itbot has it, and ``correlation_id`` = the idempotency key;
* lookup (before a create is retried): ``GET {base}/api/now/table/incident?sysparm_query=
  correlation_id=<key>``;
* comment: ``PATCH {base}/api/now/table/incident/{sys_id}``: a requester's words as ``comments``
  (customer-visible), an agent's as ``work_notes`` (the agent's reply already reached the requester
  in chat; a customer-visible comment would send it to them a second time);
* status: the same PATCH with ``state`` (new 1, open 2, waiting 3 on hold awaiting caller, resolved 6,
  closed 7; resolving sets ``close_code`` and ``close_notes``, which ServiceNow requires).

The receiver's id kept in the outbox is ``<number>:<sys_id>`` (e.g. ``INC0010001:9d38...``).
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

TABLE_PATH = "/api/now/table/incident"
SHORT_DESCRIPTION_CHARS = 160
# itbot priority -> (impact, urgency); ServiceNow's default lookup turns these into P1..P4.
IMPACT_URGENCY = {1: ("1", "1"), 2: ("1", "2"), 3: ("2", "2"), 4: ("2", "3")}
STATES = {"new": "1", "open": "2", "waiting": "3", "resolved": "6", "closed": "7"}
HOLD_AWAITING_CALLER = "1"
CLOSE_CODE = "Solution provided"
FIELDS = "sys_id,number"


def make_ref(*, number: str, sys_id: str) -> str:
    """The outbox's ``external_ref`` for an incident."""
    return f"{number}:{sys_id}"


def parse_ref(ref: str) -> tuple[str, str]:
    """``(number, sys_id)`` from an ``external_ref``; a bare sys_id gives an empty number."""
    number, _, sys_id = ref.rpartition(":")
    return number, sys_id


class ServiceNowMapping:
    """Incidents in one ServiceNow instance at ``base_url``."""

    kind = "servicenow"
    needs_parent = True

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    @property
    def table_url(self) -> str:
        """The incident table's URL."""
        return self.base_url + TABLE_PATH

    def create(self, message: OutboxMessage) -> HttpCall:
        """``POST`` a new incident carrying the idempotency key as its correlation id."""
        payload = message.payload
        impact, urgency = IMPACT_URGENCY.get(_priority(payload), IMPACT_URGENCY[3])
        body = {
            "short_description": text_field(payload, "summary")[:SHORT_DESCRIPTION_CHARS],
            "description": ticket_description(payload),
            "impact": impact,
            "urgency": urgency,
            "category": text_field(payload, "category"),
            "correlation_id": message.idempotency_key,
            "correlation_display": "itbot",
        }
        return HttpCall("POST", self.table_url, params={"sysparm_fields": FIELDS}, json=body)

    def created_ref(self, body: Any, message: OutboxMessage) -> str:
        """``<number>:<sys_id>`` of the created incident."""
        record = body.get("result") if isinstance(body, dict) else None
        if not isinstance(record, dict) or not record.get("sys_id"):
            raise ValueError("no sys_id in the answer")
        return make_ref(number=str(record.get("number", "")), sys_id=str(record["sys_id"]))

    def lookup(self, *, number: str, idempotency_key: str) -> HttpCall:
        """``GET`` the incident whose correlation id is the key."""
        params = {
            "sysparm_query": f"correlation_id={idempotency_key}",
            "sysparm_fields": FIELDS,
            "sysparm_limit": "1",
        }
        return HttpCall("GET", self.table_url, params=params)

    def found_ref(self, body: Any, *, number: str, idempotency_key: str) -> str:
        """``<number>:<sys_id>`` of the first incident found, or ""."""
        records = body.get("result") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records or not isinstance(records[0], dict):
            return ""
        record = records[0]
        if not record.get("sys_id"):
            return ""
        return make_ref(number=str(record.get("number", "")), sys_id=str(record["sys_id"]))

    def follow_up(self, message: OutboxMessage, *, parent_ref: str) -> HttpCall:
        """``PATCH`` the incident: a comment or work note, or a state change."""
        _, sys_id = parse_ref(parent_ref)
        payload = message.payload
        body: dict[str, str]
        if message.topic == STATUS:
            status = text_field(payload, "status")
            body = {"work_notes": status_text(payload)}
            state = STATES.get(status)
            if state is not None:
                body["state"] = state
            if status == "waiting":
                body["hold_reason"] = HOLD_AWAITING_CALLER
            if status in ("resolved", "closed"):
                body["close_code"] = CLOSE_CODE
                body["close_notes"] = text_field(payload, "note") or "Resolved in itbot."
        else:
            field_name = "work_notes" if text_field(payload, "author_role") == "agent" else "comments"
            body = {field_name: comment_text(payload)}
        return HttpCall("PATCH", f"{self.table_url}/{sys_id}", params={"sysparm_fields": FIELDS}, json=body)

    def follow_up_ref(self, body: Any, *, parent_ref: str) -> str:
        """The incident's own id: ServiceNow gives a journal entry no id of its own here."""
        return parent_ref


def _priority(payload: dict[str, Any]) -> int:
    try:
        return int(payload.get("priority", 3))
    except (TypeError, ValueError):
        return 3
