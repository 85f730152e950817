"""Which language a person writes in, so the bot's fixed texts can answer in it.

The evidence, counted per message (``bot/core/words/<language>.txt`` list the words):

* a word that is in a language's word list and not in any other's counts one for that language;
* a word with a letter only Spanish uses here (ñ, á, é, í, ó, ú, ü) counts one for Spanish unless its
  word already did, and an opening "¿" or "¡" counts two.

A language is *recognised* when it has at least ``MIN_EVIDENCE`` and more than every other language.
Otherwise the message is unsure, and unsure means English: "vpn" or "citrix frozen" are English.
A conversation speaks the language of its newest message that is recognised, so a short "ICU bed 7"
after a Spanish question keeps the conversation in Spanish.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from importlib import resources

MIN_EVIDENCE = 2

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_SPANISH_LETTERS = re.compile(r"[ñáéíóúü]")
_SPANISH_MARKS = re.compile(r"[¿¡]")


class Language(StrEnum):
    """A language the bot's fixed texts are written in (ISO 639-1 codes)."""

    EN = "en"
    ES = "es"


DEFAULT = Language.EN


@cache
def word_list(language: Language) -> frozenset[str]:
    """The words that are evidence of ``language`` (lower case), as packaged with the bot."""
    text = resources.files("bot.core").joinpath("words", f"{language.value}.txt").read_text("utf-8")
    words = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(word for word in words if word)


@cache
def _exclusive() -> dict[Language, frozenset[str]]:
    """Each language's words minus those any other language lists too."""
    lists = {language: word_list(language) for language in Language}
    return {
        language: words.difference(*(other for o, other in lists.items() if o is not language))
        for language, words in lists.items()
    }


def evidence(text: str) -> dict[Language, int]:
    """How much ``text`` says for each language, by the rules in this module's docstring."""
    text = text.lower().replace("\u2019", "'")
    exclusive = _exclusive()
    counts = dict.fromkeys(Language, 0)
    for word in _WORD.findall(text):
        found = [language for language, words in exclusive.items() if word in words]
        if found:
            counts[found[0]] += 1
        elif _SPANISH_LETTERS.search(word):
            counts[Language.ES] += 1
    counts[Language.ES] += 2 * len(_SPANISH_MARKS.findall(text))
    return counts


def recognise(text: str) -> Language | None:
    """The language ``text`` is clearly written in, or None when it does not say enough."""
    counts = evidence(text)
    best = max(counts, key=lambda language: counts[language])
    others = [n for language, n in counts.items() if language is not best]
    if counts[best] >= MIN_EVIDENCE and all(counts[best] > n for n in others):
        return best
    return None


def language_named(code: str) -> Language:
    """The language whose code is ``code`` ("es"), English for a code the bot has no texts for."""
    try:
        return Language(code)
    except ValueError:
        return DEFAULT


def language_of(text: str) -> Language:
    """The language of one message: the one recognised, else English."""
    return recognise(text) or DEFAULT


def conversation_language(texts: Iterable[str]) -> Language:
    """The language of a conversation whose person wrote ``texts`` (oldest first): that of the
    newest message recognised, else English."""
    for text in reversed(list(texts)):
        found = recognise(text)
        if found is not None:
            return found
    return DEFAULT
