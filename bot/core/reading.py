"""The conversation reader: what one message is, in the light of the conversation it is in.

Every message is one of the ``MessageKind``s: a new question, a refinement of the last one, "that
didn't work", a request for a person, "never mind / it works now" (``RESOLVED``), small talk, or a
question that is not for IT. (Whether it is the details a pending ticket asked for is the
conversation flow's call: only it knows the ticket is waiting.)

How, in order, with no rule about any one knowledge base:

1. **A person**: the phrases of ``bot.core.asking_for_person`` ("talk to a human", "need someone
   from IT").
2. **The problem is gone**: in a conversation, a short message closest to the "it works now"
   examples is ``RESOLVED`` even when it names something ("nvm it's back after I restarted").
3. **About the conversation, not a topic**: a message that names nothing new, meaning every content
   word of it is in the example messages (``data/message_kinds.yml``) or in the question before
   it, is read as the kind whose examples its embedding is closest to, when that closeness reaches
   ``KIND_THRESHOLD``. "still not working" is ``NOT_FIXED``; "printer not working" after a Pyxis
   answer names the printer, so it is a question of its own. The older lexical patterns of
   ``bot.core.followups`` still catch "not fixed" phrasings the examples lack.
4. **Refine or new**: as ``bot.core.followups`` reads it (a cue such as "what about", or a very
   short message, leans on the earlier question).

Not-IT questions are recognised after the search (``Phrasebook.elsewhere``): the assistant reads a
question as not for IT when no article answers it and it is closer to the examples of
``elsewhere.yml`` than to any article.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.core.asking_for_person import wants_person
from bot.core.followups import REFINE_CUES, FollowUp, classify_text, offered_articles
from bot.core.models import Turn
from indexer.encoder import Encoder
from indexer.lexical import STOPWORDS, stem_all, words

log = logging.getLogger(__name__)

# Chosen by hand from all-MiniLM-L6-v2 closeness of paraphrases written while building this (kind
# examples reworded: 0.63-0.86; new questions to the nearest kind: below 0.5), then checked on the
# dev half of the conversation set (benchmarks/conversations.py --split dev), not searched for.
KIND_THRESHOLD = 0.62
# How close a question must be to the not-IT examples, and how far ahead of the best article's
# cosine, to be read as not for IT: on the hospital dev half (benchmarks/hospital.py --split dev), the
# pair that took the most not-IT questions while sending no IT question (answerable or not) away,
# among those that ask for a question closer to the examples than to any article.
ELSEWHERE_THRESHOLD = 0.45
ELSEWHERE_LEAD = 0.0

# In a conversation, a message of at most this many words is compared with the "it works now"
# examples even when it names something new ("nvm its back after i restarted").
RESOLVED_MAX_WORDS = 10
_CLAUSE_BREAK = re.compile(r"\s*[,.;!\u2013\u2014]\s*|\s+-\s+")
# A message of more words than this that names something the conversation has not is a new question,
# however it is phrased; up to this many ("the wow?", "on 4 west") it is a refinement.
SHORT_NEW_TOPIC_WORDS = 2

_CONVERSATIONAL = ("not_fixed", "person", "resolved", "small_talk")
_WORD = re.compile(r"\w+", re.UNICODE)


class MessageKind(StrEnum):
    """What one message is (see the module docstring)."""

    NEW = "new"
    REFINE = "refine"
    NOT_FIXED = "not_fixed"
    PERSON = "person"
    RESOLVED = "resolved"
    SMALL_TALK = "small_talk"
    NOT_IT = "not_it"


@dataclass(frozen=True)
class Reading:
    """A message read in its conversation: its kind, and the earlier question it leans on."""

    kind: MessageKind
    earlier_question: str = ""
    offered: tuple[str, ...] = ()
    closeness: float = 0.0  # to the examples of its kind, when read by them

    def combined(self, text: str) -> str:
        """The earlier question and ``text`` as one search text."""
        return f"{self.earlier_question} {text}".strip()


@dataclass(frozen=True)
class ElsewhereTopic:
    """A kind of question that is not for IT, and where to send it."""

    name: str
    where: str


@dataclass(frozen=True)
class Elsewhere:
    """The match of a question to the not-IT examples: the closest topic and how close."""

    topic: ElsewhereTopic | None
    closeness: float


@dataclass
class Phrasebook:
    """The example messages of each kind, embedded once with the question encoder."""

    labels: list[str]
    vectors: np.ndarray
    vocabulary: frozenset[str]
    topics: list[ElsewhereTopic] = field(default_factory=list)
    topic_of: list[int] = field(default_factory=list)  # for each not-IT example, its topic's index
    elsewhere_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.float32))
    default_where: str = ""

    @classmethod
    def load(cls, encoder: Encoder, elsewhere_file: Path | None = None) -> Phrasebook:
        """Embed the packaged examples, and the not-IT topics of ``elsewhere_file`` when it exists
        (the packaged ``data/elsewhere.yml`` otherwise)."""
        kinds = _packaged_yaml("message_kinds.yml")
        labels: list[str] = []
        texts: list[str] = []
        for kind in _CONVERSATIONAL:
            for example in kinds.get(kind) or []:
                labels.append(kind)
                texts.append(str(example))
        vocabulary = _conversation_vocabulary()
        elsewhere = _read_elsewhere(elsewhere_file)
        topics: list[ElsewhereTopic] = []
        topic_of: list[int] = []
        away: list[str] = []
        for raw in elsewhere.get("topics") or []:
            topics.append(ElsewhereTopic(str(raw.get("name", "")), str(raw.get("where", "")).strip()))
            for example in raw.get("examples") or []:
                topic_of.append(len(topics) - 1)
                away.append(str(example))
        vectors = encoder.encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        away_vectors = encoder.encode(away) if away else np.zeros((0, 1), dtype=np.float32)
        return cls(
            labels,
            np.asarray(vectors, dtype=np.float32),
            vocabulary,
            topics,
            topic_of,
            np.asarray(away_vectors, dtype=np.float32),
            " ".join(str(elsewhere.get("default") or "").split()),
        )

    def closest(self, vector: np.ndarray | None) -> tuple[str, float]:
        """The conversational kind whose examples ``vector`` is closest to, and that closeness."""
        if vector is None or not self.labels or self.vectors.shape[1] != vector.shape[0]:
            return "", 0.0
        cosines = self.vectors @ vector
        best = int(np.argmax(cosines))
        return self.labels[best], float(cosines[best])

    def elsewhere(self, vector: np.ndarray | None) -> Elsewhere:
        """How close ``vector`` is to the not-IT examples, and the topic of the closest one."""
        if vector is None or not self.topic_of or self.elsewhere_vectors.shape[1] != vector.shape[0]:
            return Elsewhere(None, 0.0)
        cosines = self.elsewhere_vectors @ vector
        best = int(np.argmax(cosines))
        return Elsewhere(self.topics[self.topic_of[best]], float(cosines[best]))

    def names_nothing_new(self, text: str, earlier: str) -> bool:
        """True when every content word of ``text`` is in the examples or in ``earlier``."""
        known = self.vocabulary | set(_stems(earlier))
        return all(stem in known for stem in _stems(text))


def read_message(
    text: str,
    history: tuple[Turn, ...],
    *,
    encode: Callable[[str], np.ndarray] | None,
    phrasebook: Phrasebook | None,
) -> Reading:
    """What ``text`` is in the conversation ``history`` (oldest first); ``encode`` embeds a text
    with the encoder that embedded ``phrasebook``, and is called at most once: for a message that
    names nothing new, or a short one in a conversation (without a phrasebook, only the lexical
    rules apply).

    Never returns ``NOT_IT`` (that needs the search; see the module docstring) and returns
    ``NOT_FIXED`` or ``REFINE`` only when there is an earlier question to lean on.
    """
    earlier = question_of(history, phrasebook)
    offered = offered_articles(history)
    if wants_person(text):
        return Reading(MessageKind.PERSON, earlier, offered)
    lexical = classify_text(text)
    names_new = phrasebook is None or not phrasebook.names_nothing_new(text, earlier)
    if phrasebook is not None and names_new and history and len(_WORD.findall(text)) <= RESOLVED_MAX_WORDS:
        # "nvm its back after i restarted" names new things, yet only says the problem is gone; so
        # does "never mind, a coworker fixed it", whose opening clause alone is an example.
        for part in dict.fromkeys((text, _opening_clause(text))):
            if not part:
                continue
            kind, closeness = phrasebook.closest(encode(part) if encode is not None else None)
            if kind == MessageKind.RESOLVED and closeness >= KIND_THRESHOLD:
                return Reading(MessageKind.RESOLVED, earlier, offered, closeness)
    if phrasebook is not None and not names_new:
        kind, closeness = phrasebook.closest(encode(text) if encode is not None else None)
        if lexical is FollowUp.NOT_FIXED and earlier:
            return Reading(MessageKind.NOT_FIXED, earlier, offered, closeness)
        if closeness >= KIND_THRESHOLD and kind:
            found = MessageKind(kind)
            if found is not MessageKind.NOT_FIXED or earlier:
                return Reading(found, earlier, offered, closeness)
            return Reading(MessageKind.SMALL_TALK, "", offered, closeness)
    if not earlier:
        return Reading(MessageKind.NEW)
    if REFINE_CUES.search(text):
        return Reading(MessageKind.REFINE, earlier, offered)
    if lexical is FollowUp.NOT_FIXED and phrasebook is None:
        return Reading(MessageKind.NOT_FIXED, earlier, offered)
    if starts_question(text, earlier, phrasebook):
        return Reading(MessageKind.NEW)
    return Reading(MessageKind.REFINE, earlier, offered)


def _opening_clause(text: str) -> str:
    """The words of ``text`` before its first comma, full stop, semicolon or dash, when more words
    follow; "" otherwise."""
    parts = _CLAUSE_BREAK.split(text.strip(), maxsplit=1)
    return parts[0] if len(parts) > 1 and parts[1].strip() else ""


def starts_question(text: str, earlier: str, phrasebook: Phrasebook | None) -> bool:
    """True when ``text``, said after the question ``earlier``, is a question of its own: it is
    phrased as one (``bot.core.followups``), or it names something ``earlier`` did not in more than
    ``SHORT_NEW_TOPIC_WORDS`` words ("printer not working" after a Pyxis question) without a cue
    that leans on it ("what about", "and")."""
    if not earlier:
        return True
    if REFINE_CUES.search(text):
        return False
    if classify_text(text) is FollowUp.NEW:
        return True
    names_new = phrasebook is not None and not phrasebook.names_nothing_new(text, earlier)
    return names_new and len(_WORD.findall(text)) > SHORT_NEW_TOPIC_WORDS


def question_of(history: tuple[Turn, ...], phrasebook: Phrasebook | None) -> str:
    """The question ``history`` is about: its newest user turn that started a question of its own
    (``starts_question``); "" when it has none. A person's request for a person starts nothing."""
    question = ""
    for turn in history:
        if turn.role != "user" or not turn.text.strip() or wants_person(turn.text):
            continue
        if phrasebook is not None and phrasebook.names_nothing_new(turn.text, question):
            continue  # "thanks", "still not working": about the question, not a new one
        if starts_question(turn.text, question, phrasebook):
            question = turn.text
    return question


def topic_stems(text: str) -> set[str]:
    """The word stems of ``text`` that name a topic: its content words less those of the example
    messages ("still", "work", "thanks"), which any conversation uses."""
    return set(_stems(text)) - _conversation_vocabulary()


@functools.cache
def _conversation_vocabulary() -> frozenset[str]:
    kinds = _packaged_yaml("message_kinds.yml")
    return frozenset(_stems(" ".join(str(e) for kind in _CONVERSATIONAL for e in kinds.get(kind) or [])))


def _stems(text: str) -> list[str]:
    content = [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return stem_all(content)


def _packaged_yaml(name: str) -> Mapping[str, Any]:
    loaded = yaml.safe_load(resources.files("bot.core").joinpath("data", name).read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, Mapping) else {}


def _read_elsewhere(path: Path | None) -> Mapping[str, Any]:
    """The knowledge folder's ``elsewhere.yml`` when it exists and reads, else the packaged one."""
    if path is not None and path.is_file():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            log.error("elsewhere.unreadable", extra={"file": str(path), "error": str(exc)[:300]})
            loaded = None
        if isinstance(loaded, Mapping) and isinstance(loaded.get("topics"), Sequence):
            return loaded
        if loaded is not None:
            log.error("elsewhere.unreadable", extra={"file": str(path), "error": "no list of topics"})
    return _packaged_yaml("elsewhere.yml")
