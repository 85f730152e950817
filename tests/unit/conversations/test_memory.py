"""What the flow remembers of recent conversations for when the database is down: copies, bounded in
number and age (``bot.conversations.memory.RecentConversations``)."""

from __future__ import annotations

from datetime import timedelta

from bot.conversations.memory import RecentConversations
from bot.conversations.models import Conversation


def conversation(key: str) -> Conversation:
    return Conversation(channel="web", thread_key=key, turns=[{"role": "user", "text": "printer [MRN]"}])


def test_a_kept_conversation_is_recalled_as_it_was_kept() -> None:
    memory = RecentConversations()
    original = conversation("web-1")
    memory.keep(original)
    original.turns.append({"role": "bot"})
    original.state = "changed later"

    recalled = memory.recall("web", "web-1")

    assert recalled is not None and recalled.id == original.id
    assert recalled.turns == [{"role": "user", "text": "printer [MRN]"}] and recalled.state == ""
    assert memory.recall("slack", "web-1") is None


def test_the_oldest_conversation_is_forgotten_past_the_limit() -> None:
    memory = RecentConversations(limit=2)
    for key in ("web-1", "web-2", "web-3"):
        memory.keep(conversation(key))

    assert memory.recall("web", "web-1") is None
    assert memory.recall("web", "web-3") is not None


def test_a_conversation_older_than_the_age_limit_is_forgotten() -> None:
    memory = RecentConversations(max_age=timedelta(seconds=-1))
    memory.keep(conversation("web-1"))

    assert memory.recall("web", "web-1") is None
