"""Person names with no cue word before them: where they are in a message.

The scrubber's cue rules find "pt Smith" and "Mrs. Oberholtzer"; this module finds the names
that come with no cue: "can't open the chart for Rosa Mendez", "Lopez, Maria", "Tomasz Nowak's
MRI won't load", "chart for rosa mendez". A run of words is a name when the lists of first names
and surnames of many origins (:mod:`bot.core.name_lists`) hold its words and the message gives
enough evidence:

- two or more words (with any initials) that are all in the lists, in the order first name then
  surname, or surname, comma, first name; when they are written in lower case at least one of
  them must be a name that is not also an English word ("rosa mendez" yes, "will park" no);
- one capitalised word with an initial ("J. Smith", "Smith J."), with a possessive ("Smith's
  chart"), or that is no English word ("ask Nguyen", "Mendez called"); a capitalised English word
  that is also a name ("Page", "Long") counts only inside a sentence, not as its first word;
- one lower-case word only with a possessive and when it is no English word ("nowak's mri").

A word is never a name when it is a system, product, unit, place or everyday IT word
(:mod:`bot.core.name_vocabulary`, plus the site's vocabulary); given names that are common
words ("Will", "May", "Grace", "Hope") count only right before a surname. A run right after
"Dr", "St" or "Saint" (staff and saints' hospitals), right before "from IT" (the IT agent the
bot names when it relays a reply), or right before "Hospital", "Clinic", "West"... (a place),
is kept. Placeholders such as ``[NAME]`` are never looked at.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from itertools import pairwise

from bot.core.name_lists import fold, name_lists
from bot.core.name_vocabulary import (
    AMBIGUOUS_GIVEN_NAMES,
    PARTICLES,
    PLACE_WORDS,
    TITLE_WORDS,
    is_kept_word,
)

__all__ = ["find_names"]

_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*(?:['’]s?)?\.?")
_GAP = re.compile(r"[ \t]{1,2}|[ \t]?,[ \t]{0,2}")
_PARTS = re.compile(r"['’\-]")
_VOWEL = re.compile(r"[aeiouy]")
_TITLES = sorted({re.escape(word.rstrip(".")) for word in TITLE_WORDS}, key=len, reverse=True)
_TITLE_BEFORE = re.compile(rf"(?<![^\W\d_])(?:{'|'.join(_TITLES)})\.?[ \t]{{0,2}}\Z", re.IGNORECASE)
_STAFF_AFTER = re.compile(r"[ \t]{1,2}(?:from|in)[ \t]IT\b")
_WORD_AFTER = re.compile(r"[ \t]{1,2}([^\W\d_]+)")
_MAX_RUN = 4


@dataclass(frozen=True)
class _Token:
    """A word that may be part of a name, with what the lists and the message say about it."""

    start: int
    end: int  # the end of the word, an initial's period included, a possessive left out
    capital: bool  # "Nowak" or "NOWAK"
    shouted: bool  # "NOWAK"
    initial: bool  # "J." or "J"
    possessive: bool
    first: bool  # in the lists of first names
    last: bool  # in the lists of surnames
    english: bool
    ambiguous: bool  # "Will", "Grace": a name only before a surname
    particle: bool  # "van", "de": a name only between two name words
    unknown: bool  # in no list and no dictionary ("Raghunathan"): a name only beside a listed one
    key_length: int

    @property
    def listed(self) -> bool:
        """In a list of names (kept words never get this far)."""
        return self.first or self.last

    @property
    def distinctive(self) -> bool:
        """A listed name that is no English word and no common given name ("Mendez", not "Page")."""
        return self.listed and not self.english and not self.ambiguous


def find_names(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of ``text`` that are person names found without a cue word.

    Promises: spans are in order, do not overlap, and never cover a placeholder in brackets or a
    word of the packaged or site vocabulary; runs in time linear in ``len(text)``.
    """
    tokens = _tokens(text)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        n = _run(text, tokens, i)
        taken = _name_within(text, tokens[i : i + n]) if n else None
        # A run may end in words no list holds that are not part of the name ("ayesha siddiqui
        # fax failed"): shorter runs are tried, dropping such words from the end.
        m = n
        while taken is None and m > 2 and tokens[i + m - 1].unknown:
            m -= 1
            taken = _name_within(text, tokens[i : i + m])
        if taken is not None:
            spans.append(taken)
        i += max(n, 1)
    return spans


@functools.lru_cache(maxsize=65536)
def _lookup(key: str) -> tuple[bool, bool, bool]:
    """(first name, surname, English word) for a folded word.

    A word with a hyphen or an apostrophe goes by its parts ("Ferndale-Ostrowski", "O'Connell"):
    a name when one part is, an English word when one part is ("Idempotency-Key"), particles and
    single letters aside.
    """
    lists = name_lists()
    if "-" not in key and "'" not in key:
        return key in lists.first, key in lists.last or _feminine_surname(key), lists.english(key)
    parts = [part for part in _PARTS.split(key) if len(part) > 1 and part not in PARTICLES]
    first = key in lists.first or any(part in lists.first for part in parts)
    last = key in lists.last or any(part in lists.last for part in parts)
    return first, last, any(lists.english(part) for part in parts)


# Slavic surnames take a feminine ending the lists often lack: Ivanov -> Ivanova, Kowalski ->
# Kowalska, Nowicki -> Nowicka. The ending, and what the listed (masculine) form ends in instead.
_FEMININE_ENDINGS = (("ova", "ov"), ("eva", "ev"), ("ina", "in"), ("ska", "ski"), ("cka", "cki"))


def _feminine_surname(key: str) -> bool:
    """Whether ``key`` is the feminine form of a listed Slavic surname ("ivanova", "kowalska")."""
    lists = name_lists()
    for ending, masculine in _FEMININE_ENDINGS:
        if key.endswith(ending) and len(key) > len(ending) + 2:
            return key[: -len(ending)] + masculine in lists.last
    return False


def _tokens(text: str) -> list[_Token]:
    """The words of ``text`` that may be part of a name; any other word breaks a run by its gap."""
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        start, word = match.start(), match.group()
        if start > 0 and text[start - 1] == "[" and text.startswith("]", match.end()):
            continue  # a placeholder
        dotted = word.endswith(".")
        word = word.rstrip(".")
        possessive = len(word) > 2 and word[-2:].lower() in ("'s", "’s")
        bare = word[:-2] if possessive else word.rstrip("'’")
        if not bare or (len(bare) == 1 and not bare.isupper()):
            continue
        initial = len(bare) == 1 and (dotted or bare not in ("A", "I"))
        if len(bare) == 1 and not initial:
            continue
        key = fold(bare)
        shouted = bare.isupper() and len(bare) >= 4
        title = bare[0].isupper() and (bare[1:].islower() or not bare[1:].isalpha())
        ambiguous = title and key in AMBIGUOUS_GIVEN_NAMES
        kept = is_kept_word(key) or _kept_parts(key) or (shouted and "-" in bare)
        if kept and not initial and not ambiguous:
            continue  # a system, place or everyday word; "HOSP-BYOD" is a code
        first, last, english = (False, False, False) if initial or kept else _lookup(key)
        token = _Token(
            start=start,
            # A possessive stays outside the name: "[NAME]'s MRI".
            end=start + len(bare) + (1 if initial and dotted else 0),
            capital=title or shouted or initial,
            shouted=shouted,
            initial=initial,
            possessive=possessive,
            first=first,
            last=last,
            english=english,
            ambiguous=ambiguous,
            particle=key in PARTICLES,
            unknown=(
                not (first or last or english or initial)
                and len(key) >= 3
                and (title or bare.islower())
                and _VOWEL.search(key) is not None
            ),
            key_length=len(key),
        )
        if _candidate(token):
            tokens.append(token)
    return tokens


def _kept_parts(key: str) -> bool:
    return ("-" in key or "'" in key) and any(is_kept_word(part) for part in _PARTS.split(key) if part)


def _candidate(token: _Token) -> bool:
    return (
        token.initial
        or token.listed
        or token.unknown
        or token.particle
        or (token.ambiguous and token.capital)
    )


def _run(text: str, tokens: list[_Token], i: int) -> int:
    """How many tokens from ``i`` may form one name (0 when ``tokens[i]`` cannot start one)."""
    if tokens[i].particle:
        return 0
    n = 1
    commas = 0
    while i + n < len(tokens) and n < _MAX_RUN:
        before, token = tokens[i + n - 1], tokens[i + n]
        gap = _GAP.fullmatch(text, before.end, token.start)
        if gap is None or before.possessive:
            break
        if token.unknown and token.capital != tokens[i].capital:
            break  # a word in no list joins a name only in the same case ("Okafor acct")
        if token.capital and not before.capital and before.english:
            break  # "please ring Ivanova": a lower-case word does not start a capitalised name
        if "," in gap.group():
            # Only "Last, First": one comma, after one surname, before a first name or an initial.
            surname = before.last or (before.unknown and before.capital)
            given = token.first or token.initial or (token.unknown and token.capital)
            if commas or n != 1 or not surname or not given or token.particle:
                break
            commas += 1
        n += 1
    # "Nguyen Van" ends before "Van"; "Huong Le's" is a name to its last word.
    while n > 1 and tokens[i + n - 1].particle and not tokens[i + n - 1].possessive:
        n -= 1
    return n


def _name_within(text: str, run: list[_Token]) -> tuple[int, int] | None:
    if _TITLE_BEFORE.search(text, max(0, run[0].start - 12), run[0].start) is not None:
        return None  # "Dr. Patel", "St. Mary's": staff and saints' hospitals
    if _STAFF_AFTER.match(text, run[-1].end) is not None:
        return None  # "Dana from IT": the IT agent the bot names when it relays a reply
    after = _WORD_AFTER.match(text, run[-1].end)
    if after is not None and not run[-1].possessive and fold(after.group(1)) in PLACE_WORDS:
        return None  # "Grace Hospital", "Long Beach clinic"
    words = [token for token in run if not token.initial and not (token.particle and not token.possessive)]
    if words and _is_name(text, run, words):
        return run[0].start, run[-1].end
    return None


def _is_name(text: str, run: list[_Token], words: list[_Token]) -> bool:
    has_initial = any(token.initial for token in run)
    comma = any("," in text[a.end : b.start] for a, b in pairwise(run))
    head, tail = words[0], words[-1]
    listed = [word for word in words if word.listed]
    if any(word.ambiguous and not word.listed for word in words[1:]):
        return False
    if all(word.capital for word in words):
        if len(words) == 1:
            if head.shouted:
                return head.listed and (has_initial or head.possessive)  # "HOSP", "EPIC": acronyms
            if head.unknown:
                return has_initial
            return head.listed and (has_initial or head.possessive or head.distinctive)
        if head.ambiguous and not head.listed:
            return (tail.last or tail.unknown) and not tail.ambiguous
        if not listed:
            # Two words in no list, no dictionary and no site vocabulary, both capitalised
            # ("Abimbola Adewale"): names the packaged lists lack.
            return has_initial or (len(words) >= 2 and all(word.unknown for word in words))
        ordered = (head.first and tail.last) or comma
        evidence = has_initial or any(w.possessive or w.unknown or not w.english for w in words)
        return ordered or evidence
    if len(words) == 1:
        return head.possessive and head.distinctive and head.key_length >= 3
    # In lower case, any order ("tran thi mai"), but one word must be a name that is no English word.
    return any(word.distinctive for word in words) and len(listed) * 2 >= len(words)
