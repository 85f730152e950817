"""IT's messages in a web chat: the outbox worker writes them into the conversation, the page reads them.

The web chat has no connection to push to, so ``WebChatSender`` (the worker's ``ChatSender`` for the
``web`` channel) appends each message to the person's stored conversation as a turn with role ``it``,
and the page polls ``GET /api/conversations/{id}/messages?after=N`` (``it_messages`` here).

Every IT turn carries ``seq``, the cursor the page polls with. A conversation keeps only its newest
``MAX_TURNS`` turns, so a turn's position is no cursor (it shifts once old turns are dropped);
``seq`` only grows: one more than the newest kept IT turn's, and never less than the clock in
milliseconds, so it keeps growing even after every earlier IT turn was dropped.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.conversations.queries import add_turns, get_conversation
from bot.db import SessionFactory, create_db_engine, session_factory
from bot.interactions.conversation_models import Conversation, Turn
from bot.tickets.delivery import DeliveryError

log = logging.getLogger(__name__)

CHANNEL = "web"
IT_ROLE = "it"
# A web conversation id: made by the page from 128 random bits ("web-" and 32 lowercase hex digits).
CONVERSATION_ID = re.compile(r"web-[0-9a-f]{32}")
# Cursors stay exact in a JavaScript number.
MAX_SEQ = 2**53 - 1


def is_conversation_id(value: object) -> TypeGuard[str]:
    """True when ``value`` is a web conversation id as the page makes them."""
    return isinstance(value, str) and CONVERSATION_ID.fullmatch(value) is not None


class ItTurn(Turn):
    """A message from IT in a web conversation (``text`` is Markdown, scrubbed before it was queued)."""

    role: str = IT_ROLE
    seq: int = 0
    ticket: str = ""
    kind: str = ""


@dataclass(frozen=True)
class ItMessage:
    """One IT message as the page gets it: its cursor, its Markdown, when it arrived, its ticket."""

    index: int
    text: str
    at: str
    ticket: str


def next_seq(conversation: Conversation | None, *, now_ms: int | None = None) -> int:
    """The ``seq`` for the next IT turn of ``conversation`` (see the module docstring)."""
    newest = max((m.index for m in it_messages(conversation)), default=0)
    clock = now_ms if now_ms is not None else int(time.time() * 1000)
    return min(max(newest + 1, clock), MAX_SEQ)


def it_messages(conversation: Conversation | None, *, after: int = 0) -> list[ItMessage]:
    """The IT messages the conversation still keeps whose cursor is above ``after``, oldest first."""
    if conversation is None:
        return []
    found: list[ItMessage] = []
    for raw in conversation.turns:
        if not isinstance(raw, dict) or raw.get("role") != IT_ROLE:
            continue
        seq = raw.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq <= after:
            continue
        found.append(
            ItMessage(
                index=seq,
                text=str(raw.get("text") or ""),
                at=str(raw.get("at") or ""),
                ticket=str(raw.get("ticket") or ""),
            )
        )
    return sorted(found, key=lambda m: m.index)


class WebChatSender:
    """A ``bot.tickets.delivery.ChatSender`` for the web chat: IT's messages become conversation turns."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    @classmethod
    def from_settings(cls, settings: Settings) -> WebChatSender:
        """A sender on its own engine for ``settings``' database (connects on the first message)."""
        return cls(session_factory(create_db_engine(settings)))

    def send(
        self,
        *,
        reply_to: Mapping[str, Any],
        text: str,
        actions: Sequence[str],
        ticket_number: str,
        kind: str,
    ) -> str:
        """Append ``text`` to the conversation ``reply_to["conversation"]``; returns ``"<row id>:<seq>"``.

        The reference names the conversation's row id, not the page's id: the page's id is what
        reads the conversation's messages, and references are logged.

        Raises ``DeliveryError``: permanent when there is no such web conversation (nobody will ever
        read it), ``unavailable`` when the database failed (the worker tries again later).
        ``actions`` are ignored: the page offers no buttons on IT's messages.
        """
        conversation_id = reply_to.get("conversation")
        if not is_conversation_id(conversation_id):
            raise DeliveryError("no_conversation", permanent=True)
        try:
            with self.sessions() as session:
                conversation = get_conversation(session=session, channel=CHANNEL, thread_key=conversation_id)
                if conversation is None:
                    raise DeliveryError("unknown_conversation", permanent=True)
                seq = next_seq(conversation)
                turn = ItTurn(text=text, seq=seq, ticket=ticket_number[:32], kind=kind[:32])
                add_turns(
                    session=session,
                    channel=CHANNEL,
                    thread_key=conversation_id,
                    user_id=conversation.user_id,
                    turns=[turn],
                )
        except SQLAlchemyError as exc:
            raise DeliveryError(type(exc).__name__, unavailable=True) from exc
        log.info(
            "event=web_ticket_message conversation=%s ticket=%s kind=%s seq=%d",
            conversation.id,
            ticket_number or "-",
            kind,
            seq,
        )
        return f"{conversation.id}:{seq}"
