"""Notices into Slack channels: the ``bot.notices.sender.NoticeSender`` for Slack.

Each post carries its dispatch key in Slack message metadata (``event_type`` ``itbot_notice``), so
that a retry after a crash can ask ``conversations.history`` (or ``.replies`` for a thread line)
whether the first try got through. The client here does not retry 429s itself: the notices queue
does, after Slack's ``Retry-After``, without holding a worker thread asleep.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.channels.slack.client import quiet_logger
from bot.channels.slack.notice_post_blocks import fallback_text, notice_blocks
from bot.channels.slack.sender import PERMANENT_ERRORS
from bot.config import Settings
from bot.notices.sender import NoticeMessage
from bot.tickets.delivery import DeliveryError

log = logging.getLogger(__name__)

EVENT_TYPE = "itbot_notice"
HISTORY_PAGES = 5
HISTORY_PAGE_SIZE = 200


def make_notice_client(settings: Settings) -> WebClient:
    """A ``WebClient`` for ``settings.slack_api_url`` with no retry handlers (the queue retries)."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        logger=quiet_logger("itbot.slack.sdk"),
    )


class SlackNoticeSender:
    """Posts, edits and threads notice messages through one ``WebClient``."""

    channel = "slack"

    def __init__(self, client: WebClient, *, base_url: str = "") -> None:
        self.client = client
        self.base_url = base_url

    def post(self, *, target: str, message: NoticeMessage, key: str, thread: str | None = None) -> str:
        """``chat.postMessage`` into ``target`` (in ``thread``), tagged with ``key``; the message's ts."""
        response = self._call(
            self.client.chat_postMessage,
            channel=target,
            thread_ts=thread,
            text=fallback_text(message),
            blocks=notice_blocks(message, self.base_url),
            metadata={"event_type": EVENT_TYPE, "event_payload": {"key": key}},
            unfurl_links=False,
            unfurl_media=False,
        )
        ts = str(response.get("ts") or "")
        if not ts:
            raise DeliveryError("slack_no_ts")
        return ts

    def update(self, *, target: str, ref: str, message: NoticeMessage) -> None:
        """``chat.update`` the message ``ref`` in ``target`` to ``message``."""
        self._call(
            self.client.chat_update,
            channel=target,
            ts=ref,
            text=fallback_text(message),
            blocks=notice_blocks(message, self.base_url),
        )

    def find(self, *, target: str, key: str, thread: str | None, since: datetime) -> str | None:
        """The ts of the message tagged ``key`` in ``target`` (or in ``thread``) since ``since``."""
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            common: dict[str, Any] = {
                "channel": target,
                "oldest": f"{since.timestamp():.6f}",
                "include_all_metadata": True,
                "limit": HISTORY_PAGE_SIZE,
                "cursor": cursor,
            }
            if thread:
                response = self._call(self.client.conversations_replies, ts=thread, **common)
            else:
                response = self._call(self.client.conversations_history, **common)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == EVENT_TYPE
                    and (metadata.get("event_payload") or {}).get("key") == key
                ):
                    return str(message.get("ts"))
            cursor = ((response.get("response_metadata") or {}).get("next_cursor")) or None
            if not cursor:
                return None
        return None

    @staticmethod
    def _call(method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except SlackApiError as exc:
            raise classify(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(type(exc).__name__, unavailable=True) from exc


def classify(exc: SlackApiError) -> DeliveryError:
    """What a Slack error means for the queue: a 429 with its Retry-After, a channel gone for good,
    Slack down, or a failure worth another try."""
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    error = str(response.get("error") or "") if response is not None else ""
    if status == 429 or error == "ratelimited":
        header = response.headers.get("retry-after") if response is not None else None
        try:
            retry_after = max(float(header), 0.0) if header is not None else 1.0
        except ValueError:
            retry_after = 1.0
        return DeliveryError("http_429", retry_after=retry_after, unavailable=True)
    if error in PERMANENT_ERRORS or error == "message_not_found":
        return DeliveryError(f"slack_{error}", permanent=True)
    if status >= 500:
        return DeliveryError(f"http_{status}", unavailable=True)
    return DeliveryError(f"slack_{error or status}")
