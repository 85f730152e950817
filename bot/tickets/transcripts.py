"""A conversation's turns as a ticket keeps them: scrubbed again, summarised, and as text for IT.

Turns arrive as ``Conversation.turns`` stores them (dicts with ``role``, ``text``, ``decision``,
``articles``, ``at``). Adapters store them scrubbed already; every function here scrubs again
anyway (scrubbing is idempotent), so nothing unscrubbed reaches a ticket whatever a caller passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.conversations.models import MAX_TURNS
from bot.core.asking_for_person import wants_person
from bot.core.followups import FollowUp, classify_text
from bot.core.scrub import scrub_text
from bot.interactions.models import utcnow

SUMMARY_CHARS = 120
NO_QUESTION = "(no question text)"


def scrub_turns(turns: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``turns`` with every text field scrubbed; other keys are kept as they are."""
    cleaned: list[dict[str, Any]] = []
    for turn in turns:
        copy = dict(turn)
        if isinstance(copy.get("text"), str):
            copy["text"] = scrub_text(copy["text"])
        cleaned.append(copy)
    return cleaned


def ticket_turns(turns: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The transcript a ticket stores: each turn's role, scrubbed text, decision, articles and time."""
    kept = ("role", "text", "decision", "articles", "at")
    return [
        {key: turn.get(key) for key in kept if turn.get(key) not in (None, "", [])}
        for turn in scrub_turns(turns)
    ]


def person_texts(turns: Iterable[dict[str, Any]]) -> list[str]:
    """What the person wrote, oldest first (scrubbed)."""
    return [
        t["text"] for t in scrub_turns(turns) if t.get("role") == "user" and str(t.get("text", "")).strip()
    ]


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` on one line, cut at a word to at most ``limit`` characters (with "…" when cut)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0] or flat[: limit - 1]
    return cut + "…"


def summary_of(turns: Iterable[dict[str, Any]], details: str = "") -> str:
    """The ticket's one-line summary: the person's first message that states a problem.

    Asking for a person ("talk to a human") and "still doesn't work" are skipped; when nothing else
    was written, the last message or the details stand in.
    """
    texts = person_texts(turns)
    stating = [t for t in texts if not wants_person(t) and classify_text(t) is not FollowUp.NOT_FIXED]
    for candidate in (*stating, *reversed(texts), scrub_text(details)):
        if candidate.strip():
            return one_line(candidate)
    return NO_QUESTION


def transcript_text(turns: Iterable[dict[str, Any]]) -> str:
    """The transcript as plain text for IT, one line a turn: ``[time] who: what``."""
    lines: list[str] = []
    for turn in scrub_turns(turns):
        at = str(turn.get("at") or "")
        stamp = f"[{at[11:16]}] " if len(at) >= 16 else ""
        role = str(turn.get("role") or "event")
        text = " ".join(str(turn.get("text") or "").split())
        articles = [str(a) for a in turn.get("articles") or []]
        if role == "user":
            lines.append(f"{stamp}person: {text}")
        elif role == "bot":
            decision = str(turn.get("decision") or "reply")
            offered = f" offered {', '.join(articles)}" if articles else ""
            said = f" {text}" if text else ""
            lines.append(f"{stamp}bot ({decision}):{offered}{said}".rstrip(":"))
        else:
            lines.append(f"{stamp}{role}: {text}")
    return "\n".join(lines)


def new_turn(role: str, text: str, **extra: Any) -> dict[str, Any]:
    """A turn to append to a conversation, stamped now, its text scrubbed."""
    return {"role": role, "text": scrub_text(text), "at": utcnow().isoformat(timespec="seconds"), **extra}


def appended(turns: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``turns`` and then ``new``, all scrubbed, keeping the newest ``MAX_TURNS`` as conversations do."""
    return scrub_turns([*turns, *new])[-MAX_TURNS:]
