"""The worker's way into Teams: proactive messages (IT's replies, status changes, notices) posted to
the conversation reference stored with the ticket or subscription, and how a failure is classified.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from botbuilder.schema import ChannelAccount, ConversationAccount
from botframework.connector import ConnectorClient

from bot.channels.teams.auth import ClientCredentialsFactory, TokenError, service_url_allowed
from bot.channels.teams.bot import proactive_activity
from bot.channels.teams.connector import retry_after_of, status_of, without_retries
from bot.config import Settings
from bot.tickets.delivery import DeliveryError

log = logging.getLogger(__name__)

# Answers another try cannot change: the bot was removed, the conversation is gone, the card is refused.
PERMANENT_STATUSES = frozenset({400, 403, 404, 410, 413})


class TeamsChatSender:
    """A ``bot.tickets.delivery.ChatSender`` for Teams, through the SDK's connector client."""

    def __init__(
        self,
        *,
        credentials: ClientCredentialsFactory,
        app_id: str,
        allowed_service_urls: Sequence[str],
        base_url: str = "",
    ) -> None:
        self.credentials = credentials
        self.app_id = app_id
        self.allowed_service_urls = tuple(allowed_service_urls)
        self.base_url = base_url

    @classmethod
    def from_settings(cls, settings: Settings) -> TeamsChatSender:
        """The sender for ``settings``' Teams app."""
        return cls(
            credentials=ClientCredentialsFactory.from_settings(settings),
            app_id=settings.teams_app_id or "",
            allowed_service_urls=settings.teams_service_url_list,
            base_url=settings.public_url,
        )

    def send(
        self,
        *,
        reply_to: Mapping[str, Any],
        text: str,
        actions: Sequence[str],
        ticket_number: str,
        kind: str,
    ) -> str:
        """Post ``text`` as a card into the conversation ``reply_to`` names (a channel thread stays a
        thread); returns the posted activity's id. Raises ``DeliveryError``: permanent for a reference
        without a conversation or with a service URL not allowed, and for 4xx answers; ``unavailable``
        for 429, 5xx and no answer. ``actions`` are not offered: IT's messages carry no buttons."""
        service_url = str(reply_to.get("service_url") or "")
        conversation = str(reply_to.get("conversation") or "")
        if not conversation:
            raise DeliveryError("no_conversation", permanent=True)
        if not service_url_allowed(service_url, self.allowed_service_urls):
            raise DeliveryError("service_url_not_allowed", permanent=True)
        activity = proactive_activity(text, ticket_number, self.base_url)
        activity.conversation = ConversationAccount(id=conversation, tenant_id=reply_to.get("tenant") or None)
        activity.from_property = ChannelAccount(id=str(reply_to.get("bot") or self.app_id))
        activity.channel_id = str(reply_to.get("channel_id") or "msteams")
        activity.service_url = service_url
        try:
            client = without_retries(
                ConnectorClient(self.credentials.credentials(self.app_id), base_url=service_url)
            )
            response = client.conversations.send_to_conversation(conversation, activity)
        except TokenError as exc:
            raise DeliveryError(f"token_{exc}", unavailable=True) from exc
        except Exception as exc:  # msrest raises its own types; classified by the HTTP status
            raise classify(exc) from exc
        posted = str(getattr(response, "id", "") or "")
        log.info(
            "event=teams_ticket_posted ticket=%s kind=%s posted=%s", ticket_number or "-", kind, posted or "-"
        )
        return posted


def classify(exc: BaseException) -> DeliveryError:
    """What a connector failure means for a queue: a 429 with its Retry-After, the connector down
    (5xx, no answer), a conversation gone for good (4xx such as 403, 404), or worth another try."""
    status = status_of(exc)
    if status is None:
        return DeliveryError(type(exc).__name__, unavailable=True)
    if status == 429:
        return DeliveryError("http_429", retry_after=retry_after_of(exc), unavailable=True)
    if status >= 500:
        return DeliveryError(f"http_{status}", unavailable=True)
    if status in PERMANENT_STATUSES:
        return DeliveryError(f"http_{status}", permanent=True)
    return DeliveryError(f"http_{status}")
