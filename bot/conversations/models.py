"""The conversation tables, as the conversation flow's callers know them.

They are defined in ``bot.interactions.conversation_models``, below both the flow and tickets
(a ticket's transcript and spool read a ``Conversation``, and tickets may not import this package);
this module re-exports them so ``bot.conversations.models`` keeps working.
"""

from __future__ import annotations

from bot.interactions.conversation_models import MAX_TURNS, Conversation, Delivery, Turn

__all__ = ["MAX_TURNS", "Conversation", "Delivery", "Turn"]
