"""The worker's way into Slack: posts ticket messages (to requesters, into IT's triage channel) that the
outbox holds, and says whether a failure is worth retrying."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.channels.slack.blocks import message_blocks, plain_text
from bot.tickets.delivery import DeliveryError

log = logging.getLogger(__name__)

# Slack errors that another try cannot fix: the channel is gone or the app lost access.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "no_permission",
        "missing_scope",
        "msg_too_long",
        "invalid_blocks",
        "user_not_found",
    }
)


class SlackChatSender:
    """A ``bot.tickets.delivery.ChatSender`` for Slack, over one ``WebClient``."""

    def __init__(self, client: WebClient, *, base_url: str = "") -> None:
        self.client = client
        self.base_url = base_url

    def send(
        self,
        *,
        reply_to: Mapping[str, Any],
        text: str,
        actions: Sequence[str],
        ticket_number: str,
        kind: str,
    ) -> str:
        """Post ``text`` where ``reply_to`` says (its ``channel`` and ``thread_ts``, or the ``user``'s DM
        with the bot); the posted message's ts. Raises ``DeliveryError`` when Slack did not take it."""
        channel = str(reply_to.get("channel") or "")
        thread_ts = reply_to.get("thread_ts")
        in_dm = channel.startswith("D")
        if not channel or (kind == "requester" and not thread_ts and not in_dm and reply_to.get("user")):
            # An answer that had no thread (a slash command in a channel) is followed up in the DM.
            channel = str(reply_to.get("user") or channel)
        if not channel:
            raise DeliveryError("no_channel", permanent=True)
        blocks = message_blocks(text, base_url=self.base_url, ticket_number=ticket_number, actions=actions)
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                thread_ts=str(thread_ts) if thread_ts else None,
                text=plain_text(text),
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            raise _classify(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(type(exc).__name__, unavailable=True) from exc
        log.info("event=slack_ticket_posted ticket=%s kind=%s ts=%s", ticket_number, kind, response.get("ts"))
        return str(response.get("ts") or "")


def _classify(exc: SlackApiError) -> DeliveryError:
    status = int(getattr(exc.response, "status_code", 0) or 0)
    error = str(exc.response.get("error") or "") if exc.response is not None else ""
    if status == 429 or error == "ratelimited":
        retry_after = exc.response.headers.get("retry-after") if exc.response is not None else None
        seconds = (
            float(retry_after) if retry_after and str(retry_after).replace(".", "", 1).isdigit() else None
        )
        return DeliveryError("http_429", retry_after=seconds, unavailable=True)
    if error in PERMANENT_ERRORS:
        return DeliveryError(f"slack_{error}", permanent=True)
    if status >= 500:
        return DeliveryError(f"http_{status}", unavailable=True)
    return DeliveryError(f"slack_{error or status}")
