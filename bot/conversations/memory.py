"""The last known state of recent conversations, kept in this process for when the database is down.

The flow copies every conversation it reads or writes here (scrubbed turns, as stored). When the
database cannot be read, the flow still knows what the thread was waiting for: a person who answers
the escalation's follow-up question just as the database dies has their answer kept with the request
(``bot.tickets.spool``) instead of being asked again by a bot that forgot. Bounded in size and age;
each server process has its own, so it is a safety net, never the record.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from bot.interactions.conversation_models import Conversation

DEFAULT_LIMIT = 5000
DEFAULT_MAX_AGE = timedelta(hours=4)
# ``Conversation.state`` (in memory only) after an escalation was kept in the spool: asking again
# while the database is still down changes nothing.
KEPT_STATE = "escalation:kept"


class RecentConversations:
    """A bounded, thread-safe map (channel, thread key) → the newest copy of that conversation."""

    def __init__(self, *, limit: int = DEFAULT_LIMIT, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        self._limit = limit
        self._max_age = max_age
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, str], tuple[datetime, Conversation]] = OrderedDict()

    def keep(self, conversation: Conversation) -> None:
        """Remember a copy of ``conversation`` (later changes to the caller's object do not show)."""
        copy = Conversation.model_validate(conversation.model_dump())
        key = (conversation.channel, conversation.thread_key)
        with self._lock:
            self._items[key] = (datetime.now(UTC), copy)
            self._items.move_to_end(key)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def recall(self, channel: str, thread_key: str) -> Conversation | None:
        """A copy of the newest state of that conversation, or None (never kept, or too old)."""
        key = (channel, thread_key[:255])
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            if datetime.now(UTC) - found[0] > self._max_age:
                del self._items[key]
                return None
            return Conversation.model_validate(found[1].model_dump())
