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
"Dr", "St" or "Saint" (staff and saints' hospitals), or right before "Hospital", "Clinic",
"West"... (a place), is kept. Placeholders such as ``[NAME]`` are never looked at.
"""

from __future__ import annotations

import re
from itertools import pairwise
from dataclasses import dataclass

from bot.core.name_lists import NameLists, fold, name_lists
from bot.core.name_vocabulary import AMBIGUOUS_GIVEN_NAMES, PLACE_WORDS, TITLE_WORDS, is_kept_word

__all__ = ["find_names"]

_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*(?:['’]s?)?\.?")
_GAP = re.compile(r"[ \t]{1,2}|[ \t]?,[ \t]{0,2}")
_MAX_RUN = 4


@dataclass(frozen=True)
class _Token:
    start: int
    end: int  # the end of the word, an initial's period included, a possessive left out
    key: str  # folded, without the possessive
    capital: bool
    initial: bool
    possessive: bool
    first: bool
    last: bool
    english: bool  # also an English word
    kept: bool  # a system, place or IT word: never a name
    ambiguous: bool  # "Will", "Grace": a name only before a surname

    @property
    def listed(self) -> bool:
        return (self.first or self.last) and not self.kept

    @property
    def distinctive(self) -> bool:
        return self.listed and not self.english and not self.ambiguous


def find_names(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of ``text`` that are person names found without a cue word.

    Promises: spans are in order, do not overlap, and never cover a placeholder in brackets or a
    word of the packaged or site vocabulary; runs in time linear in ``len(text)``.
    """
    lists = name_lists()
    tokens = _tokens(text, lists)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        run = _run(text, tokens, i)
        taken = _name_within(text, tokens, i, run)
        if taken is not None:
            spans.append(taken)
        i += max(run, 1)
    return spans


def _tokens(text: str, lists: NameLists) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        start, end = match.start(), match.end()
        word = match.group()
        if start > 0 and text[start - 1] == "[" and text.startswith("]", end):
            continue  # a placeholder
        dotted = word.endswith(".")
        word = word.rstrip(".")
        if not word:
            continue
        possessive = len(word) > 2 and word[-2:].lower() in ("'s", "’s")
        bare = word[:-2] if possessive else word.rstrip("'’")
        initial = len(bare) == 1 and bare.isupper() and (dotted or bare not in ("A", "I"))
        # A possessive stays outside the name: "[NAME]'s MRI".
        end = start + len(bare) + (1 if initial and dotted else 0)
        key = fold(bare)
        parts = [part for part in re.split(r"['’\-]", key) if part] if "-" in key else [key]
        first = any(part in lists.first for part in parts)
        last = any(part in lists.last for part in parts)
        english = all(part in lists.words for part in parts)
        kept = any(is_kept_word(part) for part in parts) or is_kept_word(key)
        tokens.append(
            _Token(
                start=start,
                end=end,
                key=key,
                capital=bare[0].isupper(),
                initial=initial,
                possessive=possessive,
                first=first,
                last=last,
                english=english,
                kept=kept and not initial,
                ambiguous=key in AMBIGUOUS_GIVEN_NAMES,
            )
        )
    return tokens


def _candidate(token: _Token) -> bool:
    return token.initial or token.listed or (token.ambiguous and token.capital)


def _run(text: str, tokens: list[_Token], i: int) -> int:
    """How many tokens from ``i`` may form one name (0 when ``tokens[i]`` cannot start one)."""
    if not _candidate(tokens[i]):
        return 0
    n = 1
    commas = 0
    while i + n < len(tokens) and n < _MAX_RUN:
        before, token = tokens[i + n - 1], tokens[i + n]
        gap = _GAP.fullmatch(text, before.end, token.start)
        if gap is None or before.possessive or not _candidate(token):
            break
        if "," in gap.group():
            # Only "Last, First": one comma, after one surname, before a first name or an initial.
            if commas or n != 1 or not before.last or not (token.first or token.initial):
                break
            commas += 1
        n += 1
    return n


def _name_within(text: str, tokens: list[_Token], i: int, n: int) -> tuple[int, int] | None:
    if n == 0:
        return None
    run = tokens[i : i + n]
    if i > 0 and _is_title(text, tokens[i - 1], run[0]):
        return None
    after = tokens[i + n] if i + n < len(tokens) else None
    if after is not None and after.key in PLACE_WORDS and _GAP.fullmatch(text, run[-1].end, after.start):
        return None
    words = [token for token in run if not token.initial]
    # Trailing or leading ambiguous words without a surname beside them drop out of the run.
    while words and words[-1].ambiguous and not words[-1].listed and len(words) > 1:
        words.pop()
    if not words:
        return None
    if _is_name(text, run, words):
        begin = run[0] if run[0].initial else words[0]
        end = max(words[-1].end, run[-1].end if run[-1].initial else 0)
        return begin.start, end
    return None


def _is_title(text: str, previous: _Token, first: _Token) -> bool:
    between = text[previous.end : first.start]
    return fold(text[previous.start : previous.end]).rstrip(".") in {
        word.rstrip(".") for word in TITLE_WORDS
    } and between.strip() in ("", ".")


def _is_name(text: str, run: list[_Token], words: list[_Token]) -> bool:
    capital = all(word.capital for word in words)
    has_initial = any(token.initial for token in run)
    comma = any("," in text[a.end : b.start] for a, b in pairwise(run))
    if len(words) >= 2:
        head, tail = words[0], words[-1]
        if any(word.ambiguous and not word.listed for word in words[1:]):
            return False
        if capital:
            if head.ambiguous and not head.listed:
                return tail.last and not tail.kept
            ordered = (head.first and tail.last) or (comma and head.last)
            return ordered or any(word.distinctive for word in words) or any(w.possessive for w in words)
        if not all(word.listed for word in words):
            return False
        ordered = head.first or (comma and head.last)
        return ordered and any(word.distinctive for word in words)
    word = words[0]
    if not word.listed:
        return False
    if word.capital:
        if has_initial or word.possessive or word.distinctive:
            return _shaped(text, word)
        inside = not _starts_sentence(text, word.start)
        return word.last and not word.ambiguous and inside and _shaped(text, word)
    return word.possessive and word.distinctive and len(word.key) >= 3


def _shaped(text: str, word: _Token) -> bool:
    """A capitalised name is "Nowak" or "NOWAK" (four letters or more), not "iPad"-like."""
    written = text[word.start : word.end]
    return not written.isupper() or len(word.key) >= 4


def _starts_sentence(text: str, at: int) -> bool:
    before = text[max(0, at - 16) : at].rstrip()
    return not before or before[-1] in ".!?:;>\"(-"
