"""Reading a message in the light of the thread it is in.

In a thread the bot is part of, people write follow-ups that make no sense alone: "still doesn't
work" (the answer did not help) or "what about on the wow?" (the same problem, somewhere else).
Rules, in order:

* **not fixed**: the message says the earlier answer did not help (``NOT_FIXED`` phrases, and it is
  short). The bot then looks again with the earlier question and offers the articles it has not
  offered yet, or hands over to IT.
* **refine**: the message leans on the earlier question: it starts with a cue such as "what about",
  "and", "also", "same", "it", or it has at most ``SHORT_FOLLOW_UP_WORDS`` words. The bot searches with
  the earlier question and the message together, and keeps that reading when it decides more firmly
  than the message alone (answer over clarify over escalate), or as firmly when the message alone
  does not answer. "What about epic?" after a Citrix question, which answers on its own, is about
  Epic.
* **new**: anything else is a question of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.core.models import Turn

SHORT_FOLLOW_UP_WORDS = 4
NOT_FIXED_MAX_WORDS = 12

NOT_FIXED = re.compile(
    r"\b(still\s+(does\s*n[o']?t|do\s*n[o']?t|is\s*n[o']?t|not|broken|stuck|the\s+same|having|getting|failing|"
    r"frozen|down|won'?t|can'?t|cannot)|"
    r"(did\s*n[o']?t|does\s*n[o']?t|do\s*n[o']?t)\s+(work|help|fix)|"
    r"not\s+(fixed|working|helpful|it)|no\s+luck|same\s+(problem|issue|thing|error)|"
    r"that\s+(did\s*n[o']?t|does\s*n[o']?t|was\s*n[o']?t)|nope|tried\s+(that|those|it)|wrong\s+article)\b",
    re.IGNORECASE,
)
REFINE_CUES = re.compile(
    r"^\s*(what|how)\s+about\b|^\s*(and|also|same|plus|but|or|what\s+if|even|it|it's|its|this|that|"
    r"on\s+the|in\s+the|for\s+the|from\s+the|with\s+the)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)


class FollowUp(StrEnum):
    """How a message relates to the thread before it."""

    NEW = "new"
    REFINE = "refine"
    NOT_FIXED = "not_fixed"


@dataclass(frozen=True)
class Reading:
    """A message read in its thread: what kind of follow-up, and the earlier question it leans on."""

    kind: FollowUp
    earlier_question: str = ""
    offered: tuple[str, ...] = ()

    def combined(self, text: str) -> str:
        """The earlier question and ``text`` as one search text."""
        return f"{self.earlier_question} {text}".strip()


def earlier_question(history: tuple[Turn, ...]) -> str:
    """The question the thread is about: its newest user turn that is a question of its own, or the
    turn that started the thread (which cannot be a follow-up, however short)."""
    question = ""
    for turn in history:
        if turn.role != "user" or not turn.text.strip():
            continue
        if not question or classify_text(turn.text) is FollowUp.NEW:
            question = turn.text
    return question


def offered_articles(history: tuple[Turn, ...]) -> tuple[str, ...]:
    """Every article the bot has offered in ``history``, first offered first, without repeats."""
    seen: dict[str, None] = {}
    for turn in history:
        if turn.role == "bot":
            for article in turn.articles:
                seen.setdefault(article, None)
    return tuple(seen)


def classify_text(text: str) -> FollowUp:
    """What ``text`` would be as a follow-up, judged on the text alone (typographic apostrophes, as
    phones type them, read as plain ones)."""
    text = text.replace("\u2019", "'").replace("\u02bc", "'")
    words = _WORD.findall(text)
    if len(words) <= NOT_FIXED_MAX_WORDS and NOT_FIXED.search(text):
        return FollowUp.NOT_FIXED
    if REFINE_CUES.search(text) or len(words) <= SHORT_FOLLOW_UP_WORDS:
        return FollowUp.REFINE
    return FollowUp.NEW


def read_in_thread(text: str, history: tuple[Turn, ...]) -> Reading:
    """How ``text`` relates to ``history``; ``NEW`` whenever there is no earlier question to lean on."""
    earlier = earlier_question(history)
    if not earlier:
        return Reading(FollowUp.NEW)
    kind = classify_text(text)
    if kind is FollowUp.NEW:
        return Reading(FollowUp.NEW)
    return Reading(kind, earlier, offered_articles(history))
