"""What an HTTP answer or a transport error means for delivery: done, try again (when), or give up.

* 2xx: delivered.
* 429, 503 (with their Retry-After), 502, 504: the receiver is down or throttling: try again later,
  and hold the receiver's other messages too.
* other 5xx, 408, 409 (a request with the same key still in flight), 425: try again later.
* any other status (401 bad credentials, 400 a field the desk refuses, 404 wrong URL, 3xx): the
  dead letter at once, named by the status; IT fixes the cause and requeues it.
* no answer (refused, reset, timed out): try again later; it is ambiguous whether a create arrived,
  so the next try looks the record up first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from bot.tickets.delivery import DeliveryError

UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})
RETRY_STATUSES = frozenset({408, 409, 425})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def error_for_status(status: int, retry_after: str | None = None) -> DeliveryError | None:
    """None for a 2xx answer; otherwise the ``DeliveryError`` that says what to do about it."""
    if 200 <= status < 300:
        return None
    code = f"http_{status}"
    wait = parse_retry_after(retry_after)
    if status in UNAVAILABLE_STATUSES:
        return DeliveryError(code, retry_after=wait, unavailable=True)
    if status >= 500 or status in RETRY_STATUSES:
        return DeliveryError(code, retry_after=wait)
    return DeliveryError(code, permanent=True)


def error_for_exception(exc: httpx.HTTPError) -> DeliveryError:
    """The ``DeliveryError`` for a request that got no usable answer: always worth another try."""
    return DeliveryError(type(exc).__name__, unavailable=isinstance(exc, httpx.TransportError))
