"""Tables of the Teams channel: activities already taken (once-only delivery) and the cards posted.

* ``TeamsActivity``: one row per incoming activity claimed, by conversation and activity id; the
  primary key makes the claim atomic across any number of server processes.
* ``TeamsCard``: the Adaptive Card of each reply the bot posted, by the posted activity's id, so a
  click can replace the card's buttons with what was clicked (Teams does not send the card back).
  Cards hold the bot's own words only (articles, fixed sentences), never what a person wrote.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from bot.interactions.models import UtcDateTime, utcnow


def activity_key(conversation_id: str, activity_id: str) -> str:
    """A fixed-length key for an activity: Teams' ids are unique only within a conversation, and
    a conversation id can be longer than an index allows."""
    return hashlib.sha256(f"{conversation_id}\n{activity_id}".encode()).hexdigest()


class TeamsActivity(SQLModel, table=True):
    """The ``teams_activity`` table: incoming activities already claimed by a server process."""

    __tablename__ = "teams_activity"

    key: str = Field(primary_key=True, max_length=64, description="activity_key(conversation, activity)")
    activity_id: str = Field(max_length=255)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


class TeamsCard(SQLModel, table=True):
    """The ``teams_card`` table: the card of a posted reply, to update it after a click."""

    __tablename__ = "teams_card"

    key: str = Field(primary_key=True, max_length=64, description="activity_key(conversation, posted id)")
    card: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    posted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


class TeamsNoticePost(SQLModel, table=True):
    """The ``teams_notice_post`` table: a notice message posted into Teams, by its dispatch key.

    The Bot Connector cannot list what a bot posted, so this is how a retry after a crash finds that
    the first try got through (``NoticeSender.find``): the row is written right after the post.
    """

    __tablename__ = "teams_notice_post"

    key: str = Field(primary_key=True, max_length=64, description="activity_key(target, dispatch key)")
    ref: str = Field(max_length=255, description="The posted activity's id.")
    posted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
