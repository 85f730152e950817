"""The HTTP forwarder: sends ``itsm`` outbox messages to the service desk through a mapping.

Exactly once despite lost answers: a ``ticket.created`` whose earlier try may have arrived (the
message's ``attempts`` is above 1: a failure, a timeout after sending, or a worker that died before
recording the result; or it was requeued from the dead letter) is first looked up by its key, and
created only when it is not there. Logs carry ids, numbers, status codes and error types, never
payload text.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from bot.tickets.delivery import DeliveryError
from bot.tickets.itsm.mapping import CREATED, FOLLOW_UPS, HttpCall, ItsmMapping, created_key, text_field
from bot.tickets.itsm.outcomes import error_for_exception, error_for_status
from bot.tickets.outbox_models import OutboxMessage

log = logging.getLogger(__name__)

# A desk slower than this is treated as down; the worker's lease margin covers two such calls.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class HttpForwarder:
    """Delivers ``itsm`` messages with httpx: one mapping, one set of credentials, one client."""

    def __init__(
        self,
        mapping: ItsmMapping,
        *,
        auth: httpx.Auth | None = None,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.mapping = mapping
        self.auth = auth
        self.client = client if client is not None else httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self.client.close()

    def forward(self, message: OutboxMessage, *, parent_ref: str) -> str:
        """Deliver ``message``; the receiver's id for it. Raises ``DeliveryError`` (see ``outcomes``).

        A create is looked up first when an earlier try may have arrived. A comment or status change
        for a ticket whose record id is unknown looks the record up by the ticket's number; when the
        desk has no such record it is a permanent ``no_parent`` failure.
        """
        number = text_field(message.payload, "number")
        if message.topic == CREATED:
            # A requeued create may have arrived before it was dead-lettered (a try that timed out).
            if message.attempts > 1 or message.requeues > 0:
                found = self._find(message, number=number, idempotency_key=message.idempotency_key)
                if found:
                    log.info(
                        "event=itsm_found_existing message_id=%s kind=%s external_ref=%s",
                        message.id,
                        self.mapping.kind,
                        found,
                    )
                    return found
            body = self._send(self.mapping.create(message), message)
            try:
                return self.mapping.created_ref(body, message)
            except ValueError:
                # Created, most likely, but unreadable: the retry's lookup settles it.
                raise DeliveryError("bad_response") from None
        if message.topic in FOLLOW_UPS:
            if self.mapping.needs_parent and not parent_ref:
                parent_ref = self._find(message, number=number, idempotency_key=created_key(number))
                if not parent_ref:
                    raise DeliveryError("no_parent", permanent=True)
            body = self._send(self.mapping.follow_up(message, parent_ref=parent_ref), message)
            return self.mapping.follow_up_ref(body, parent_ref=parent_ref)
        raise DeliveryError("unknown_topic", permanent=True)

    def _find(self, message: OutboxMessage, *, number: str, idempotency_key: str) -> str:
        call = self.mapping.lookup(number=number, idempotency_key=idempotency_key)
        if call is None:
            return ""
        return self.mapping.found_ref(
            self._send(call, message), number=number, idempotency_key=idempotency_key
        )

    def _send(self, call: HttpCall, message: OutboxMessage) -> Any:
        started = time.perf_counter()
        try:
            response = self.client.request(
                call.method,
                call.url,
                params=call.params or None,
                json=call.json,
                headers=call.headers or None,
                auth=self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            failure = error_for_exception(exc)
            self._log(call, message, status="-", error=failure.code, started=started)
            raise failure from None
        error = error_for_status(response.status_code, response.headers.get("Retry-After"))
        code = error.code if error is not None else ""
        self._log(call, message, status=str(response.status_code), error=code, started=started)
        if error is not None:
            raise error
        try:
            return response.json() if response.content else None
        except ValueError:
            raise DeliveryError("bad_response") from None

    def _log(
        self, call: HttpCall, message: OutboxMessage, *, status: str, error: str, started: float
    ) -> None:
        log.debug(
            "event=itsm_request kind=%s method=%s message_id=%s topic=%s status=%s error=%s ms=%.0f",
            self.mapping.kind,
            call.method,
            message.id,
            message.topic,
            status,
            error or "-",
            (time.perf_counter() - started) * 1000,
        )
