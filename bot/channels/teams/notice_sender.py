"""Notices into Teams channels and chats: the ``bot.notices.sender.NoticeSender`` for Teams.

A route's target is a Teams conversation id: a channel (``19:...@thread.tacv2``; a post there starts
a thread of its own) or a chat. The Bot Connector URL it is reached at comes from
``ITBOT_TEAMS_NOTICE_SERVICE_URL``, else from the Teams conversation references the bot stored
(tickets and subscriptions asked in Teams, that conversation's first), else Microsoft's global one;
it must be allowed by ``ITBOT_TEAMS_SERVICE_URLS`` like any reply.

* ``post``: a new message (an Adaptive Card) in the target, or, with ``thread``, a reply in the
  thread of that message (a chat has no threads: the line follows in the chat);
* ``update``: the message edited in place (the connector's update activity);
* ``find``: the Bot Connector cannot list what a bot posted, so each post is recorded
  (``teams_notice_post``) right after the connector took it; a retry after a crash finds it there.

The connector client does not retry on its own (``without_retries``): a 429 or 5xx is a
``DeliveryError`` the notices queue retries (a 429 after its ``Retry-After``), as for Slack.
The card of each post is kept (``teams_card``) so a "Got it" click can update its count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from botbuilder.schema import Activity, ChannelAccount, ConversationAccount
from botframework.connector import ConnectorClient
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.teams.activities import THREAD_MARK, channel_of, is_channel
from bot.channels.teams.auth import ClientCredentialsFactory, TokenError, service_url_allowed
from bot.channels.teams.connector import card_activity, without_retries
from bot.channels.teams.notice_cards import notice_card
from bot.channels.teams.queries import (
    find_notice_post,
    record_notice_post,
    save_card,
    stored_service_urls,
)
from bot.channels.teams.sender import classify
from bot.config import Settings
from bot.db import SessionFactory
from bot.interactions.recording import log_failure
from bot.notices.sender import NoticeMessage
from bot.tickets.delivery import DeliveryError

log = logging.getLogger(__name__)

GLOBAL_SERVICE_URL = "https://smba.trafficmanager.net/teams/"
# A service URL found for a target is used this long before it is looked up again.
SERVICE_URL_TTL_SECONDS = 3600.0


class TeamsNoticeSender:
    """Posts, edits and threads notice cards through the SDK's connector client."""

    channel = "teams"

    def __init__(
        self,
        *,
        credentials: ClientCredentialsFactory,
        app_id: str,
        allowed_service_urls: Sequence[str],
        sessions: SessionFactory,
        service_url: str = "",
        base_url: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.app_id = app_id
        self.allowed_service_urls = tuple(allowed_service_urls)
        self.sessions = sessions
        self.service_url = service_url
        self.base_url = base_url
        self.clock = clock
        self._urls: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, sessions: SessionFactory) -> TeamsNoticeSender:
        """The sender for ``settings``' Teams app, recording through ``sessions``."""
        return cls(
            credentials=ClientCredentialsFactory.from_settings(settings),
            app_id=settings.teams_app_id or "",
            allowed_service_urls=settings.teams_service_url_list,
            sessions=sessions,
            service_url=settings.teams_notice_service_url,
            base_url=settings.public_url,
        )

    # -- NoticeSender ------------------------------------------------------------------------------

    def post(self, *, target: str, message: NoticeMessage, key: str, thread: str | None = None) -> str:
        """Post ``message`` as a card into ``target`` (in the thread of ``thread``); its activity id."""
        card = notice_card(message, self.base_url)
        activity = self._activity(target, card, message.text)
        client = self._client(target)
        if thread:
            conversation = f"{channel_of(target)}{THREAD_MARK}{thread}" if is_channel(target) else target
            activity.conversation = ConversationAccount(id=conversation)
            response = self._call(client.conversations.reply_to_activity, conversation, thread, activity)
        else:
            response = self._call(client.conversations.send_to_conversation, target, activity)
        ref = str(getattr(response, "id", "") or "")
        if not ref:
            raise DeliveryError("teams_no_id")
        self._remember(target, key, ref, card)
        log.info("event=teams_notice_posted target=%s posted=%s threaded=%s", target, ref, bool(thread))
        return ref

    def update(self, *, target: str, ref: str, message: NoticeMessage) -> None:
        """Edit the card ``ref`` in ``target`` to show ``message``."""
        card = notice_card(message, self.base_url)
        activity = self._activity(target, card, message.text, activity_id=ref)
        client = self._client(target)
        self._call(client.conversations.update_activity, target, ref, activity)
        self._keep_card(target, ref, card)

    def find(self, *, target: str, key: str, thread: str | None, since: datetime) -> str | None:
        """The activity id recorded for the message tagged ``key`` in ``target`` since ``since``."""
        try:
            with self.sessions() as session:
                return find_notice_post(session=session, target=target, key=key, since=since)
        except SQLAlchemyError as exc:
            raise DeliveryError("teams_find_failed", unavailable=True) from exc

    # -- helpers -----------------------------------------------------------------------------------

    def service_url_for(self, target: str) -> str:
        """The Bot Connector URL for ``target`` (see the module docstring); cached for an hour."""
        if self.service_url:
            return self.service_url
        now = self.clock()
        with self._lock:
            cached = self._urls.get(target)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            with self.sessions() as session:
                found = stored_service_urls(session=session, conversation=channel_of(target))
        except SQLAlchemyError as exc:
            raise DeliveryError("teams_reference_lookup_failed", unavailable=True) from exc
        allowed = [url for url in found if service_url_allowed(url, self.allowed_service_urls)]
        url = allowed[0] if allowed else GLOBAL_SERVICE_URL
        with self._lock:
            self._urls[target] = (url, now + SERVICE_URL_TTL_SECONDS)
        return url

    def _client(self, target: str) -> ConnectorClient:
        if not target:
            raise DeliveryError("no_conversation", permanent=True)
        service_url = self.service_url_for(target)
        if not service_url_allowed(service_url, self.allowed_service_urls):
            raise DeliveryError("service_url_not_allowed", permanent=True)
        try:
            credentials = self.credentials.credentials(self.app_id)
        except PermissionError as exc:
            raise DeliveryError("teams_not_configured", permanent=True) from exc
        return without_retries(ConnectorClient(credentials, base_url=service_url))

    def _activity(
        self, target: str, card: dict[str, Any], markdown: str, *, activity_id: str | None = None
    ) -> Activity:
        activity = card_activity(card, markdown, activity_id=activity_id)
        activity.conversation = ConversationAccount(id=target)
        activity.from_property = ChannelAccount(id=f"28:{self.app_id}")
        activity.channel_id = "msteams"
        activity.service_url = self.service_url_for(target)
        return activity

    @staticmethod
    def _call(method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except TokenError as exc:
            raise DeliveryError(f"token_{exc}", unavailable=True) from exc
        except DeliveryError:
            raise
        except Exception as exc:  # msrest raises its own types; classified by the HTTP status
            raise classify(exc) from exc

    def _remember(self, target: str, key: str, ref: str, card: dict[str, Any]) -> None:
        """Record the post (for ``find``) and keep its card (for "Got it"); a failure here is logged:
        the post itself went out."""
        try:
            with self.sessions() as session:
                record_notice_post(session=session, target=target, key=key, ref=ref)
        except SQLAlchemyError as exc:
            log_failure(log, "teams_notice_post_not_recorded", exc, posted=ref)
        if card.get("actions"):
            self._keep_card(target, ref, card)

    def _keep_card(self, target: str, ref: str, card: dict[str, Any]) -> None:
        try:
            with self.sessions() as session:
                save_card(session=session, conversation_id=channel_of(target), posted_id=ref, card=card)
        except SQLAlchemyError as exc:
            log_failure(log, "teams_card_not_kept", exc, posted=ref)
