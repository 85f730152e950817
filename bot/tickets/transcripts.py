"""A conversation's turns as a ticket keeps them: scrubbed again, summarised, and as text for IT.

**The problem escalated** (``current_problem``) is what a ticket is about, not the conversation's
first message. The rules:

* a "fixed" event, or a ticket opened or joined, ends a problem: only what comes after it counts;
* among what the person wrote since, the problem is stated by the newest message that is a question
  of its own (``is_own_question``); a follow-up such as "still not working" or "what about on the
  wow" belongs to the question before it. When no message is one, the first one stands in (a thread's
  first message cannot be a follow-up);
* asking for a person ("talk to a human") states no problem, unless the message says more than the
  ask ("talk to a human, vocera can't hear"); a message of only the ask is skipped;
* the details the person gave when asked (``details``) say where and how urgent, not what: they
  state the problem only when nothing before did (and then without the unit, room and urgency).

Turns arrive as ``Conversation.turns`` stores them (dicts with ``role``, ``text``, ``decision``,
``articles``, ``at``). Adapters store them scrubbed already; every function here scrubs again
anyway (scrubbing is idempotent), so nothing unscrubbed reaches a ticket whatever a caller passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.core.asking_for_person import wants_person, without_human_ask
from bot.core.followups import REFINE_CUES, FollowUp, classify_text
from bot.core.scrub import scrub_text
from bot.interactions.conversation_models import MAX_TURNS
from bot.interactions.models import utcnow
from bot.tickets.details import problem_part
from bot.tickets.systems import system_named

SUMMARY_CHARS = 120
NO_QUESTION = "(no question text)"
# The ``decision`` of a person's turn that only asked for a person (read so by the conversation
# reader): it states no problem.
PERSON_ASK = "person"
FIXED_EVENT = "fixed"
# Event turns after which the person's next words are a new problem.
_ENDS_PROBLEM = re.compile(r"^(?:fixed|ticket \S+ opened|joined ticket \S+)$")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
# What a bare ask for a person says besides the ask: nothing about the problem.
_ASK_FILLER = frozenset(
    re.findall(
        r"\S+",
        "i i'm im i'd id can could would please pls plz want need like to a an the me now just hi "
        "hello hey help thanks thank you someone somebody with for about this it here quiero "
        "necesito hablar con una persona alguien por favor ayuda hola gracias de",
    )
)


@dataclass(frozen=True)
class Problem:
    """The problem a conversation escalates, by the rules in this module's docstring.

    ``question`` states it ("" when the person never said what is wrong); ``texts`` are the question
    and what the person wrote after it; ``since`` everything the person wrote since the last problem
    ended (for where and how urgent); ``start`` the index of the question's turn (or of the first turn
    since the last problem ended) in the turns given.
    """

    question: str = ""
    texts: tuple[str, ...] = ()
    since: tuple[str, ...] = ()
    start: int = 0


def scrub_turns(turns: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``turns`` with every text field scrubbed; other keys are kept as they are.

    Stored turns are scrubbed already (the flow scrubs on entry, ``new_turn`` scrubs IT's); this is
    defence in depth for turns from outside the database (a spool file, a conversation never stored),
    and changes nothing in text scrubbed before.
    """
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


def is_own_question(text: str) -> bool:
    """True when ``text`` (scrubbed) states a problem of its own rather than following up on the
    question before it. The one place that decides it, so a richer reader can take its place:
    today ``bot.core.followups.classify_text`` says "new", or the message is short without a
    follow-up cue ("what about", "and", "on the" ...) and names a system of its own ("can't hear on
    vocera" after a Citrix question)."""
    kind = classify_text(text)
    if kind is FollowUp.NEW:
        return True
    return kind is FollowUp.REFINE and not REFINE_CUES.search(text) and system_named(text) is not None


def states_problem(text: str) -> bool:
    """False for a message that only asks for a person ("talk to a human please") or is empty."""
    said = without_human_ask(text) if wants_person(text) else text
    words = [w.lower() for w in _WORD.findall(said)]
    return any(w not in _ASK_FILLER for w in words) if wants_person(text) else bool(words)


def current_problem(turns: Iterable[dict[str, Any]], details: str = "") -> Problem:
    """The problem ``turns`` escalate (see this module's docstring). ``details``, the person's answer
    to the follow-up question, is left out when it is the newest message (it says where, not what)."""
    cleaned = scrub_turns(turns)
    begin = 0
    for index, turn in enumerate(cleaned):
        if turn.get("role") == "event" and _ENDS_PROBLEM.match(str(turn.get("text") or "").strip()):
            begin = index + 1
    said = [
        (index, str(turn["text"]))
        for index, turn in enumerate(cleaned)
        if index >= begin
        and turn.get("role") == "user"
        and turn.get("decision") != PERSON_ASK
        and str(turn.get("text") or "").strip()
    ]
    details = scrub_text(details).strip()
    if details and said and said[-1][1].strip() == details:
        said.pop()
    since = tuple(text for _, text in said)
    stating = [(index, text) for index, text in said if states_problem(text)]
    if not stating:
        return Problem(since=since, start=begin)
    own = [position for position, (_, text) in enumerate(stating) if is_own_question(text)]
    first = own[-1] if own else 0
    start, question = stating[first]
    texts = tuple(text for _, text in stating[first:])
    return Problem(question=question, texts=texts, since=since, start=start)


def answered_articles(turns: Iterable[dict[str, Any]]) -> list[str]:
    """The articles the bot answered with in ``turns``, newest answer first, each once (a clarify's
    unpicked candidates are guesses and left out)."""
    seen: dict[str, None] = {}
    for turn in reversed(list(turns)):
        if turn.get("role") == "bot" and turn.get("decision") == "answer":
            for article in turn.get("articles") or []:
                seen.setdefault(str(article), None)
    return list(seen)


def problem_articles(turns: Iterable[dict[str, Any]]) -> list[str]:
    """The articles the bot answered the escalated problem (``current_problem``) with, newest first."""
    cleaned = scrub_turns(turns)
    return answered_articles(cleaned[current_problem(cleaned).start :])


def earlier_problem_articles(turns: Iterable[dict[str, Any]]) -> list[str]:
    """The articles the bot answered earlier problems of the conversation with, and not this one."""
    cleaned = scrub_turns(turns)
    start = current_problem(cleaned).start
    now = set(answered_articles(cleaned[start:]))
    return [a for a in answered_articles(cleaned[:start]) if a not in now]


def _without_ask(text: str) -> str:
    """``text`` without its ask for a person, when it has one and says more ("talk to a human, vocera
    can't hear" -> "vocera can't hear")."""
    if not wants_person(text):
        return text
    return without_human_ask(text).strip(" \t,.;:-!?") or text


def summary_of(turns: Iterable[dict[str, Any]], details: str = "") -> str:
    """The ticket's one-line summary: the question of the problem escalated (``current_problem``),
    without an ask for a person it may carry; when the person never said what is wrong before being
    asked, what ``details`` says besides the unit, room and urgency; else whatever there is (the last
    message, the details)."""
    cleaned = scrub_turns(turns)
    problem = current_problem(cleaned, details)
    texts = person_texts(cleaned)
    details = scrub_text(details)
    for candidate in (_without_ask(problem.question), problem_part(details), *reversed(texts), details):
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
