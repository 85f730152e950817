"""The one thing a chat channel implements to carry notices: post, edit, reply in a thread, and find
what an earlier try may already have posted. Slack implements it in ``bot.channels.slack``; Teams
plugs in with one more sender. Failures are ``bot.tickets.delivery.DeliveryError`` (``retry_after``
for a rate limit, ``permanent`` for a channel that is gone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class NoticeMessage:
    """What to show, channel-neutral: Markdown text, for upgrades a "Got it" button with the count
    of people who tapped it so far, and the downtime-procedure article (its id) a channel may offer
    as a button beside the link the text already has."""

    text: str
    ack_notice_id: int | None = None
    ack_count: int = 0
    procedure_article: str = ""


class NoticeSender(Protocol):
    """Posts notices into one kind of chat channel (``channel``: ``slack``, ``teams``)."""

    @property
    def channel(self) -> str:
        """The channel kind routes name (``NoticeRoute.channel``)."""
        ...

    def post(self, *, target: str, message: NoticeMessage, key: str, thread: str | None = None) -> str:
        """Post ``message`` into ``target`` (in the thread of the message ``thread`` when given) tagged
        with ``key``; returns the posted message's reference. Raises ``DeliveryError``."""
        ...

    def update(self, *, target: str, ref: str, message: NoticeMessage) -> None:
        """Replace the message ``ref`` in ``target`` with ``message``. Raises ``DeliveryError``."""
        ...

    def find(self, *, target: str, key: str, thread: str | None, since: datetime) -> str | None:
        """The reference of a message tagged ``key`` posted into ``target`` (or ``thread``) since
        ``since``, or None: how a retry after a crash knows the first try got through."""
        ...
