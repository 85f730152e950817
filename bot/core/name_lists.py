"""First names and surnames of many origins, read once from installed packages.

The names come from Faker's person providers (MIT): first and last names of about eighty
locales, among them Hispanic, Polish, Vietnamese, Nigerian (Yoruba, Igbo, Hausa), Indian,
Pakistani, Chinese (romanised), Irish, Arabic and East African ones. Faker is used only as a
maintained, packaged list of names; nothing is generated and nothing is downloaded.

Which words are English words comes from the web2 word list of the english-words package (MIT):
a word the dictionary writes in lower case is a word, and a name that is one too ("Long",
"Page", "Smith", "Young") needs more evidence before the scrubber takes it for a name; a
capitalised word that is neither English nor in the lists ("Raghunathan") is a name only beside
one that is.

Everything is keyed by :func:`fold`: lower case, accents removed ("Núñez" -> "nunez",
"Nguyễn" -> "nguyen"), so that a name typed without its accents is still found.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["NameLists", "fold", "name_lists"]

# Letters that do not decompose into a base letter and an accent.
_UNDECOMPOSED = str.maketrans(
    {
        "đ": "d",
        "Đ": "d",
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ı": "i",
        "’": "'",
    }
)
_ASCII_NAME = re.compile(r"[a-z][a-z']*[a-z]")
_SEPARATORS = re.compile(r"[\s\-]+")
# "first_names", "first_names_female", "last_romanized_names", pl_PL's "male_last_names"...
_ATTRIBUTE = re.compile(r"(?:\w+_)?(first|middle|last)_(?:romanized_)?names(?:_\w+)?")
# Endings web2 leaves out: it lists "bridge", not "bridges"; "bake", not "baked" or "baking".
_ENDINGS = ("s", "es", "ed", "d", "ing", "er", "ers")


def fold(word: str) -> str:
    """``word`` in lower case without accents: the key every list is looked up by."""
    word = word.translate(_UNDECOMPOSED)
    if not word.isascii():
        word = "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))
    return word.lower()


@dataclass(frozen=True)
class NameLists:
    """Folded first names, folded surnames, and the English words (in lower case)."""

    first: frozenset[str]
    last: frozenset[str]
    dictionary: frozenset[str]

    def english(self, key: str) -> bool:
        """True when the folded ``key`` is an English word, plural and -ed/-ing forms included."""
        if key in self.dictionary:
            return True
        return any(
            key.endswith(ending) and key[: -len(ending)] in self.dictionary
            for ending in _ENDINGS
            if len(key) > len(ending) + 2
        )


@functools.cache
def name_lists() -> NameLists:
    """The lists, read on first use (about a third of a second) and kept for the process."""
    raw: dict[str, set[str]] = {"first": set(), "middle": set(), "last": set()}
    for kind, entries in _faker_names():
        raw[kind].update(entries)
    first = {key for entry in raw["first"] | raw["middle"] for key in _keys(entry)}
    last = {key for entry in raw["last"] for key in _keys(entry)}
    return NameLists(first=frozenset(first), last=frozenset(last), dictionary=frozenset(_lowercase_words()))


def _keys(name: str) -> Iterator[str]:
    """The folded ASCII words of one list entry ("María José" -> "maria", "jose")."""
    for part in _SEPARATORS.split(name):
        key = fold(part).strip("'")
        if _ASCII_NAME.fullmatch(key):
            yield key


def _faker_names() -> Iterator[tuple[str, Iterable[str]]]:
    import faker.providers.person as person  # only when names are first needed

    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attribute, value in vars(provider).items():
            match = _ATTRIBUTE.fullmatch(attribute)
            if match is not None and isinstance(value, tuple | list | dict):
                yield match.group(1), [str(name) for name in value]


def _lowercase_words() -> set[str]:
    from english_words import get_english_words_set

    return {word for word in get_english_words_set(["web2"], lower=False, alpha=True) if word.islower()}
