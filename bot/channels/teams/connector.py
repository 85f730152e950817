"""Talking to the Bot Connector: activities to post, how a failure is classified, the back-off.

The SDK's connector client retries on its own (urllib3's policy); ours is switched off
(``without_retries``) so that one policy decides: ``SEND_ATTEMPTS`` tries, waiting
``Retry-After`` or a doubling delay after a 429 or 5xx, then the outbox (the worker keeps trying).
"""

from __future__ import annotations

from typing import Any

from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.channels.teams.cards import CARD_CONTENT_TYPE, plain_text

SEND_ATTEMPTS = 3
FIRST_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 2.0


def card_activity(card: dict[str, Any], markdown: str, *, activity_id: str | None = None) -> Activity:
    """A message activity carrying ``card`` (``markdown`` shortened as the notification text)."""
    return Activity(
        id=activity_id,
        type=ActivityTypes.message,
        text=plain_text(markdown),
        attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=card)],
    )


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a connector failure (msrest's exceptions carry the response), or None."""
    response = getattr(exc, "response", None)
    for name in ("status_code", "status"):
        value = getattr(response, name, None)
        if isinstance(value, int):
            return value
    return None


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the connector asked us to wait (``Retry-After``), when it said."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after") if hasattr(headers, "get") else None
    try:
        return float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def worth_retrying(exc: BaseException) -> bool:
    """True for a 429, a 5xx, or no answer at all (a connection failure)."""
    status = status_of(exc)
    return status is None or status == 429 or status >= 500


def delay_for(attempt: int, exc: BaseException) -> float:
    """How long to wait before try ``attempt + 1``: Retry-After (capped), else a doubling delay."""
    asked = retry_after_of(exc)
    if asked is not None:
        return min(max(asked, 0.0), MAX_DELAY_SECONDS)
    return float(min(FIRST_DELAY_SECONDS * (2**attempt), MAX_DELAY_SECONDS))


def without_retries(client: Any) -> Any:
    """``client`` (an SDK connector client) with msrest's own retries off; returns it."""
    policy = getattr(getattr(client, "config", None), "retry_policy", None)
    if policy is not None:
        policy.retries = 0
    return client
