"""What a web chat request body means: ``POST /api/ask`` and ``/api/feedback`` parsed into plain,
cleaned, bounded values. Pure functions; nothing here fails on odd input."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.channels.web.sender import is_conversation_id
from bot.core.models import Turn

MAX_HISTORY_TURNS = 10
MAX_USER_CHARS = 64
MAX_ARTICLE_ID_CHARS = 512

_USER_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@-]")


@dataclass(frozen=True)
class AskInput:
    """A ``POST /api/ask`` body after parsing: every field present, cleaned and bounded."""

    text: str
    user: str = ""
    history: tuple[Turn, ...] = ()
    article: str | None = None
    render_html: bool = False
    conversation: str | None = None


def clean_text(value: object, *, limit: int) -> str:
    """``value`` as text that is safe to answer, store and log the length of.

    Anything but a string becomes ``""``. Control characters other than newline and tab are
    dropped, unpaired surrogates (which JSON can carry) become U+FFFD, and the result is cut to
    ``limit`` characters.
    """
    if not isinstance(value, str):
        return ""
    kept = []
    for char in value[: limit * 2]:
        category = unicodedata.category(char)
        if category == "Cc" and char not in "\n\t":
            kept.append(" " if char == "\r" else "")
        elif category == "Cs":
            kept.append("\ufffd")
        else:
            kept.append(char)
    return "".join(kept)[:limit]


def parse_ask(payload: object, *, max_chars: int) -> AskInput:
    """Read a decoded JSON body into an ``AskInput``; never fails (odd fields are ignored)."""
    if not isinstance(payload, dict):
        return AskInput(text="")
    text = clean_text(payload.get("text"), limit=max_chars)
    user = clean_user(payload.get("user"))
    article = clean_text(payload.get("article"), limit=MAX_ARTICLE_ID_CHARS).strip() or None
    return AskInput(
        text=text,
        user=user,
        history=_parse_history(payload.get("history"), max_chars=max_chars),
        article=article,
        render_html=payload.get("render") == "html",
        conversation=conversation_of(payload),
    )


def conversation_of(payload: object) -> str | None:
    """The body's web conversation id, or None when it has none (or a malformed one)."""
    value = payload.get("conversation") if isinstance(payload, dict) else None
    return value if is_conversation_id(value) else None


def bad_conversation(payload: object) -> bool:
    """True when the body names a conversation that is not an id the page makes (null is none)."""
    if not isinstance(payload, dict) or payload.get("conversation") is None:
        return False
    return conversation_of(payload) is None


def _parse_history(value: object, *, max_chars: int) -> tuple[Turn, ...]:
    if not isinstance(value, list):
        return ()
    turns = []
    for item in value[-MAX_HISTORY_TURNS:]:
        if not isinstance(item, dict):
            continue
        role = item.get("role")
        text = clean_text(item.get("text"), limit=max_chars)
        if role in ("user", "bot") and text.strip():
            turns.append(Turn(role=str(role), text=text))
    return tuple(turns)


def clean_user(value: object) -> str:
    """A chat identity from the body: letters, digits and ``_.:@-`` only, at most 64 characters."""
    return _USER_UNSAFE.sub("", clean_text(value, limit=MAX_USER_CHARS))
