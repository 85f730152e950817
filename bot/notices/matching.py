"""Does a question ask about an active notice? Pure and fast: built once per set of active notices,
then a few microseconds a question.

A question matches a notice when it names one of the notice's systems (its registry name, an alias,
a glossary synonym, compared by word stems: "charting" names Epic through "chart") and says that
something is wrong the way an outage or an upgrade makes it wrong. The evidence, added up:

* an availability cue ("down", "slow", "timing out", "won't load", "anyone else") counts
  ``STRONG``; a plain trouble cue ("not working", "error", "can't") counts ``WEAK``;
* for an upgrade, a change cue ("looks different", "moved", "where did", "upgrade") counts ``STRONG``;
* each word the question shares with the notice's own words (title, body, what changes for staff;
  glossary synonyms count as the same word, system names do not count) adds ``OVERLAP`` (at most
  ``MAX_OVERLAP`` of them);
* a how-to or account cue ("how do I", "password", "request access", "new hire") subtracts
  ``HOW_TO``: those questions are about using the system, not about it failing, unless the notice
  itself speaks of the same thing.

It matches at ``THRESHOLD`` or more. A notice limited to some sites or units never matches a question
that names only other units. A question that names no system of the notice can still match through a
unit the notice names ("badge won't connect on 4W" for Vocera on 4 West) when it names no other system,
shares at least one word with the notice and reaches ``SITE_THRESHOLD``. The best-scoring notice wins;
ties go to the one that named the system. The constants were tuned on the dev half of
``benchmarks/notices`` (``benchmarks/notices.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.notices.models import NoticeKind
from bot.notices.snapshot import ActiveNotice
from indexer.lexical import STOPWORDS, Glossary, stem_all, words

STRONG = 2
WEAK = 1
OVERLAP = 1
MAX_OVERLAP = 2
HOW_TO = 2
THRESHOLD = 2
SITE_THRESHOLD = 3

# Each cue list is alternatives of one regular expression over the question's words (" ?" lets an
# apostrophe's gap be there or not: "won t", "wont").
_STRONG = (
    r"down|outage|offline|unavailable|slow|slowly|slowness|sluggish|lag|lags|lagging|laggy|crawling",
    r"freez\w*|froze|frozen|hang|hangs|hanging|hung|crash\w*|not loading",
    r"(?:won ?t|wont|doesn ?t|will not) load|not responding|unresponsive|spinning|spinning wheel",
    r"tim(?:ing|ed|es) out|time ?out|kick(?:ed|ing|s) (?:me )?(?:out|off)|log(?:ging|s|ged) me (?:out|off)",
    r"disconnect\w*|dropp\w*|not (?:syncing|updating|showing|receiving|arriving)|delay\w*",
    r"taking forever|forever|searching for server",
    r"(?:can ?t|cant|cannot|won ?t|wont|unable to|not) ?connect\w*",
    r"fail\w*|anyone else|everyone|every one|whole unit|nobody can|no one can|is \w+ up",
    r"hasn ?t arrived|haven ?t arrived|stuck in (?:the )?outbox|not (?:coming|going) through",
)
_WEAK = (
    r"not working|isn ?t working|doesn ?t work|stopped working|broken|error\w*|issue\w*|problem\w*",
    r"acting up|weird|glitch\w*|can ?t|cant|cannot|won ?t|wont|unable|missing|stuck|not",
)
_CHANGE = (
    r"different|changed|change|new look|looks new|moved|gone|disappeared|where did|where.s",
    r"can ?t find|cant find|upgrad\w*|update[ds]?|new version|again after",
    r"new (?:sign ?in|login|log ?in|screen)",
)
_HOW_TO = (
    r"how (?:do|can|to|would|should)|where (?:is|do|can)|can i|set ?up|install\w*|request\w*|access for",
    r"new hire|new employee|password|reset|template|add (?:a|an|my)|change my|signature|battery|training",
    r"security class|mapping|favou?rite|out of office|shared mailbox|phishing",
)
_UNIT = re.compile(r"\b(?:\d{1,2} (?:north|south|east|west)|[a-z]?icu|pacu|ccu|\w+ tower)\b")
_DIRECTIONS = {"n": "north", "s": "south", "e": "east", "w": "west"}
_SPLIT = re.compile(r"^(\d{1,2})([a-z]+)$")


def _cue(alternatives: tuple[str, ...]) -> re.Pattern[str]:
    pattern = "|".join(alternatives).replace(" ?", "[ ]?")
    return re.compile(rf"(?<![\w'])(?:{pattern})(?![\w'])")


STRONG_CUES = _cue(_STRONG)
WEAK_CUES = _cue(_WEAK)
CHANGE_CUES = _cue(_CHANGE)
HOW_TO_CUES = _cue(_HOW_TO)


def tokens(text: str) -> list[str]:
    """The words of ``text`` as matching reads them: lower case, a unit like "4W" or "4west" spelled
    "4 west", apostrophes dropped ("can't" → "cant" is read by the cues either way)."""
    out: list[str] = []
    for word in words(text):
        split = _SPLIT.match(word)
        if split and split.group(2) in ({*_DIRECTIONS, *_DIRECTIONS.values()}):
            out += [split.group(1), _DIRECTIONS.get(split.group(2), split.group(2))]
        else:
            out.append(word.replace("'", " "))
    return " ".join(out).split()


@dataclass(frozen=True)
class _Prepared:
    notice: ActiveNotice
    systems: frozenset[str]
    sites: tuple[str, ...]
    features: frozenset[str]


class NoticeMatcher:
    """Matches questions to a fixed set of active notices; build a new one when the set changes."""

    def __init__(
        self,
        notices: Sequence[ActiveNotice],
        systems: Mapping[str, Sequence[str]],
        glossary: Glossary | None = None,
    ) -> None:
        """``systems``: every registry name with its aliases (the words that name it)."""
        self.glossary = glossary or Glossary()
        # A term already in stem form ("chart") also names its system by its inflections ("charting");
        # any other ("receiver") only as written, or "receiving" would name Citrix.
        self._terms: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._exact: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._system_stems: set[str] = set()
        named = [(name, term) for name, aliases in systems.items() for term in (name, *aliases)]
        named += [(name, name) for notice in notices for name in notice.systems]
        for name, term in named:
            toks = tuple(tokens(term))
            if not toks:
                continue
            stems = tuple(stem_all(list(toks)))
            index, key = (self._terms, stems) if stems == toks else (self._exact, toks)
            entry = (key, name.casefold())
            if entry not in index.setdefault(key[0], []):
                index[key[0]].append(entry)
            self._system_stems.update(stems)
        self._group_of_term: dict[tuple[str, ...], int] = {}
        for g, group in enumerate(self.glossary.groups):
            for phrase in group:
                self._group_of_term[phrase] = g
        self._max_term = max((len(t) for t in self._group_of_term), default=1)
        self._system_groups = {
            f"g{g}" for t, g in self._group_of_term.items() if set(stem_all(list(t))) & self._system_stems
        }
        site_names: set[str] = set()
        prepared = []
        for notice in notices:
            sites = tuple(" ".join(tokens(site)) for site in notice.sites if tokens(site))
            site_names.update(sites)
            text = " ".join((notice.title, notice.body, notice.staff_changes))
            prepared.append(
                _Prepared(
                    notice=notice,
                    systems=frozenset(s.casefold() for s in notice.systems),
                    sites=sites,
                    features=frozenset(self._features(tokens(text))),
                )
            )
        self._notices = tuple(prepared)
        self._sites = tuple(sorted(site_names, key=len, reverse=True))

    @property
    def notices(self) -> tuple[ActiveNotice, ...]:
        """The active notices this matcher was built for."""
        return tuple(p.notice for p in self._notices)

    def match(self, text: str) -> ActiveNotice | None:
        """The active notice ``text`` (a scrubbed question) asks about, or None."""
        if not self._notices or not text.strip():
            return None
        toks = tokens(text[:2000])
        joined = " ".join(toks)
        stems = stem_all(toks)
        named = self._systems_named(stems, self._terms) | self._systems_named(toks, self._exact)
        units = self._units_named(joined)
        strong = bool(STRONG_CUES.search(joined))
        weak = bool(WEAK_CUES.search(joined))
        change = bool(CHANGE_CUES.search(joined))
        how_to = bool(HOW_TO_CUES.search(joined))
        features = self._features(toks)
        best: tuple[int, int, ActiveNotice] | None = None
        for prepared in self._notices:
            if units and prepared.sites and not any(u in prepared.sites for u in units):
                continue
            hit = bool(prepared.systems & named)
            site_hit = any(site in units for site in prepared.sites)
            if not hit and not (site_hit and not named):
                continue
            overlap = len(features & prepared.features)
            score = STRONG if strong else WEAK if weak else 0
            if prepared.notice.kind is NoticeKind.UPGRADE and change:
                score = max(score, STRONG)
            score += OVERLAP * min(overlap, MAX_OVERLAP)
            if how_to and overlap == 0:
                score -= HOW_TO
            needed = THRESHOLD if hit else SITE_THRESHOLD
            if score < needed or (not hit and overlap == 0):
                continue
            key = (int(hit), score)
            if best is None or key > best[:2]:
                best = (key[0], key[1], prepared.notice)
        return best[2] if best is not None else None

    @staticmethod
    def _systems_named(
        seq: Sequence[str], index: Mapping[str, list[tuple[tuple[str, ...], str]]]
    ) -> set[str]:
        named: set[str] = set()
        for start, word in enumerate(seq):
            for term, system in index.get(word, ()):
                if tuple(seq[start : start + len(term)]) == term:
                    named.add(system)
        return named

    def _units_named(self, joined: str) -> set[str]:
        found = {site for site in self._sites if re.search(rf"(?<!\w){re.escape(site)}(?!\w)", joined)}
        found.update(m.group(0) for m in _UNIT.finditer(joined))
        return found

    def _features(self, toks: Sequence[str]) -> set[str]:
        """The words that carry meaning, as glossary groups ("g12") where one covers them, else stems;
        system names and stopwords left out."""
        features: set[str] = set()
        covered = [False] * len(toks)
        for start in range(len(toks)):
            for length in range(min(self._max_term, len(toks) - start), 0, -1):
                group = self._group_of_term.get(tuple(toks[start : start + length]))
                if group is not None:
                    features.add(f"g{group}")
                    covered[start : start + length] = [True] * length
                    break
        rest = [t for t, c in zip(toks, covered, strict=True) if not c and t not in STOPWORDS and len(t) > 2]
        features.update(s for s in stem_all(rest) if s not in self._system_stems)
        return features - self._system_groups


def systems_of(rows: Iterable[tuple[str, Sequence[str]]]) -> dict[str, list[str]]:
    """The registry as the matcher takes it: each name with its aliases."""
    return {name: list(aliases) for name, aliases in rows}
