"""Plain types that cross the seam between channels and the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    """What the bot decided to do with a question."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"
    OUTAGE = "outage"


@dataclass(frozen=True)
class Turn:
    """One earlier message in the same conversation (already scrubbed by whoever stored it)."""

    role: str  # "user" or "bot"
    text: str
    articles: tuple[str, ...] = ()  # for a bot turn: the articles it offered, best first


@dataclass(frozen=True)
class Question:
    """A question as the core sees it, whatever channel it came from.

    ``reply_to`` is an opaque reference only the originating adapter reads (a Slack channel and
    thread, a web session); the core stores it and never interprets it. ``scrubbed_counts``: what
    was replaced in ``text`` before it reached the core (the conversation flow scrubs a message as it
    enters), by placeholder kind, so the core still knows the person sent identifiers.
    """

    text: str
    channel: str = "cli"
    user: str = ""
    reply_to: dict[str, Any] = field(default_factory=dict)
    history: tuple[Turn, ...] = ()
    scrubbed_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Citation:
    """An article the reply points to, best first."""

    article: str
    title: str
    section: str
    score: float
    url: str = ""

    def to_json(self) -> dict[str, Any]:
        """The citation as the ``itbot ask --json`` contract spells it."""
        return {
            "article": self.article,
            "title": self.title,
            "section": self.section,
            "score": round(float(self.score), 4),
            "url": self.url,
        }


@dataclass(frozen=True)
class NoticeRef:
    """The outage or upgrade notice a reply is about.

    ``details`` holds the rest of the notice's JSON (kind, status, systems, body, next_update ...),
    as the notices package spells it; the core passes it through without reading it.
    """

    id: int | str
    title: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The notice as the JSON contract spells it."""
        return {**self.details, "id": self.id, "title": self.title}


@dataclass(frozen=True)
class Reply:
    """What the bot answers: Markdown text, citations best first, and what the person can do next.

    ``text`` is Markdown; each channel renders it its own way. ``actions`` names the buttons the
    channel should offer ("fixed", "stuck", or "choose:<article id>"), never their look.
    """

    decision: Decision
    text: str
    citations: tuple[Citation, ...] = ()
    notice: NoticeRef | None = None
    actions: tuple[str, ...] = ()
    interaction_id: str | None = None
    signals: dict[str, float] = field(default_factory=dict)
    asked: str = ""  # the question as scrubbed: what may be stored; never part of the JSON contract
    reason: str = ""  # the policy's reason, for logs and analytics
    reading: str = "new"  # what the message was in its conversation (bot.core.reading.MessageKind)
    language: str = "en"  # the language the fixed texts are in (``bot.core.language``); not in the JSON

    def to_json(self) -> dict[str, Any]:
        """The reply as the ``itbot ask --json`` / ``POST /api/ask`` contract spells it."""
        return {
            "decision": self.decision.value,
            "text": self.text,
            "citations": [c.to_json() for c in self.citations],
            "notice": self.notice.to_json() if self.notice else None,
            "actions": list(self.actions),
            "interaction_id": self.interaction_id,
        }
