"""Tables that make chat adapters stateless across processes.

* ``Conversation``: one chat thread the bot takes part in (a Slack thread, a Teams reply chain), with
  its turns as scrubbed text. A follow-up in the thread is answered with the earlier question in mind,
  and an escalation attaches the whole transcript. ``state`` is what the thread waits for next
  (nothing, or e.g. the details an escalation asked for).
* ``Delivery``: one inbound delivery the bot has taken (a Slack ``event_id``, a button click). Its
  primary key makes "answer once" hold across server processes sharing one database.

They live here, beside the interactions, because the conversation flow writes them and tickets read
them (transcripts, the spool), and tickets may not import ``bot.conversations``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.interactions.models import UtcDateTime, new_id, utcnow

# Turns kept per conversation: enough for a ticket's transcript, bounded for a thread that never ends.
MAX_TURNS = 40


class Turn(SQLModel):
    """One entry of a conversation's transcript (stored as JSON in ``Conversation.turns``).

    ``role`` is "user" (the person, ``text`` scrubbed; ``decision`` "person" when it only asked for a
    person), "bot" (the reply's decision and the articles it offered), or "event" (feedback, a
    choice, an escalation: ``text`` says which).
    """

    role: str
    text: str = ""
    decision: str = ""
    articles: list[str] = Field(default_factory=list)
    interaction_id: str | None = None
    at: str = ""


class Conversation(SQLModel, table=True):
    """The ``conversation`` table: one row per chat thread the bot is in."""

    __table_args__ = (UniqueConstraint("channel", "thread_key", name="uq_conversation_thread"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    channel: str = Field(max_length=32, description="slack, teams, web ...")
    thread_key: str = Field(max_length=255, description="Where the thread is, as the adapter spells it.")
    user_id: str = Field(default="", max_length=255, description="Who started it (a chat identity).")
    turns: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    state: str = Field(default="", max_length=64, description="What the thread waits for next, if anything.")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


class Delivery(SQLModel, table=True):
    """The ``delivery`` table: inbound deliveries already taken, by the sender's own id."""

    key: str = Field(primary_key=True, max_length=255, description="e.g. slack:event:Ev123")
    channel: str = Field(max_length=32)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    note: str = Field(default="", sa_type=Text, description="What was done with it (ids only).")
