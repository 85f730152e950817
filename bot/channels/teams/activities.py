"""What an incoming Teams activity means, as plain data. Pure functions over the activity's JSON.

* personal chat (``conversationType`` ``personal``): one stream of messages with the bot;
* a channel: a mention starts a thread (Teams gives the thread's conversation id a
  ``;messageid=<root>`` suffix, so the conversation id *is* the thread); replies in that thread
  reach the bot with the resource-specific ``ChannelMessage.Read.Group`` permission, mention or not;
* a group chat: one stream; the bot hears it when mentioned.

A click on a card's ``Action.Submit`` arrives as a message with a ``value`` (the button's data) and
``replyToId`` (the card's activity id), or as an ``invoke`` named ``adaptiveCard/action``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.channels.teams.cards import Click, decode_click

PERSONAL = "personal"
CHANNEL = "channel"
GROUP_CHAT = "groupChat"
CARD_ACTION_INVOKE = "adaptiveCard/action"
THREAD_MARK = ";messageid="
_AT = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class TeamsMessage:
    """One person's message (or click) in Teams, as the flow needs it.

    ``text`` has the bot's mention removed; ``reference`` is what the bot stores to reach the
    conversation again (the opaque ``reply_to`` of a question, a ticket, a notice subscription).
    """

    conversation_id: str
    conversation_type: str
    activity_id: str
    user: str
    text: str
    mentioned: bool
    service_url: str
    reference: dict[str, str]
    click: Click | None = None
    card_id: str = ""  # for a click: the activity id of the card clicked on

    @property
    def thread_key(self) -> str:
        """The conversation the message belongs to (a channel thread, a chat)."""
        return self.conversation_id

    @property
    def stream(self) -> bool:
        """True when the conversation has no threads (personal and group chats)."""
        return self.conversation_type != CHANNEL

    @property
    def in_channel_thread(self) -> bool:
        """True for a message in a channel thread (not a new post)."""
        return self.conversation_type == CHANNEL and THREAD_MARK in self.conversation_id


def channel_of(conversation: str) -> str:
    """The conversation id without a channel thread's ``;messageid=...`` suffix."""
    return conversation.split(THREAD_MARK, 1)[0]


def is_channel(conversation: str) -> bool:
    """True for a Teams channel's conversation id (where posts have threads), not a chat's."""
    return "@thread.tacv2" in conversation or "@thread.skype" in conversation


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def mentions_bot(activity: Mapping[str, Any]) -> bool:
    """True when one of the activity's mention entities names the bot (its ``recipient``)."""
    bot_id = _str(_dict(activity.get("recipient")).get("id"))
    for entity in activity.get("entities") or []:
        is_mention = isinstance(entity, Mapping) and entity.get("type") == "mention"
        if is_mention and bot_id and _str(_dict(entity.get("mentioned")).get("id")) == bot_id:
            return True
    return False


def without_mentions(text: str) -> str:
    """``text`` without ``<at>…</at>`` mentions and other markup Teams adds, whitespace tidied."""
    text = _AT.sub(" ", text)
    text = _TAG.sub(" ", text).replace("&nbsp;", " ").replace("&amp;", "&")
    return " ".join(text.split())


def reference_of(activity: Mapping[str, Any]) -> dict[str, str]:
    """Where the bot can reach this conversation again: the conversation reference, ids only."""
    conversation = _dict(activity.get("conversation"))
    channel_data = _dict(activity.get("channelData"))
    tenant = _str(conversation.get("tenantId")) or _str(_dict(channel_data.get("tenant")).get("id"))
    sender = _dict(activity.get("from"))
    return {
        "service_url": _str(activity.get("serviceUrl")),
        "conversation": _str(conversation.get("id")),
        "conversation_type": _str(conversation.get("conversationType")) or PERSONAL,
        "tenant": tenant,
        "bot": _str(_dict(activity.get("recipient")).get("id")),
        "user": _str(sender.get("id")),
        "activity_id": _str(activity.get("id")),
        "channel_id": _str(activity.get("channelId")) or "msteams",
    }


def message_from_activity(activity: Mapping[str, Any]) -> TeamsMessage | None:
    """The message (or click) an activity carries; None for anything the bot does not answer
    (conversation updates, typing, the bot's own messages, an empty message)."""
    kind = activity.get("type")
    is_card_invoke = kind == "invoke" and activity.get("name") == CARD_ACTION_INVOKE
    if kind != "message" and not is_card_invoke:
        return None
    conversation = _dict(activity.get("conversation"))
    sender = _dict(activity.get("from"))
    recipient = _dict(activity.get("recipient"))
    conversation_id = _str(conversation.get("id"))
    user = _str(sender.get("aadObjectId")) or _str(sender.get("id"))
    if not conversation_id or not user or _str(sender.get("id")) == _str(recipient.get("id")):
        return None
    value = activity.get("value")
    if is_card_invoke:
        value = _dict(_dict(value).get("action")).get("data")
    click = decode_click(value)
    text = without_mentions(_str(activity.get("text")))
    if click is None and not text:
        return None
    return TeamsMessage(
        conversation_id=conversation_id,
        conversation_type=_str(conversation.get("conversationType")) or PERSONAL,
        activity_id=_str(activity.get("id")),
        user=user,
        text=text,
        mentioned=mentions_bot(activity),
        service_url=_str(activity.get("serviceUrl")),
        reference=reference_of(activity),
        click=click,
        card_id=_str(activity.get("replyToId")),
    )
