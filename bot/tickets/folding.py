"""Duplicate folding: several people reporting one outage make one incident, not N tickets.

An outage is many people, one system, a short window, each person in their own words ("black
screen", "can't connect", "storefront just spinning"). A near-miss is one person's own problem with
the same system, reported while the outage is on ("my scanner won't charge", "how do I enroll my new
badge", "it says no matching patient"); it needs a ticket of its own.

The rule. A new report joins an open ticket (new, open or waiting) when all three hold:

1. **related**: the same system (``bot.tickets.systems`` names, so "Omnicell" and "Pyxis MedStation"
   are one) or the same best article;
2. **recent**: the report comes at most ``WINDOW`` (60 minutes) after the ticket's last report;
3. **alike**: the report is alike enough to one of the ticket's reports, by what kind it is (``read``):

   * a **request** joins nothing, and a ticket of requests takes nothing: a personal report (below)
     that names no failure ("how do I enroll my badge", "my password expired", "new hire has no
     access"), or one that says others are fine ("everyone else's works", "only my laptop");
   * a **personal** report, about one person's account, device or set-up, has a cue ("enroll",
     "replacement", "new hire", "expired", "locked out", "fingerprint", "won't charge", "battery",
     "pair", "how do I", "one patient", "no matching patient"; or "my badge", "my account", "my
     laptop" ... when it names no outage symptom) and does not say that many are affected. It joins
     only a report that names no other device or place ("wow 7" and "wow 15", "5N" and "2W"), shares
     a cue with it when that one is personal too, and has at least ``PERSONAL_THRESHOLD`` of the same
     specific words (the words less the symptoms: "it doesn't work" about one system is not enough).
     A ticket of personal reports takes any report only on these terms;
   * any other report is about the system, and the bar falls with the number of people on the
     ticket: ``PAIR_THRESHOLD`` for a second person joining a one-person ticket, ``OUTAGE_THRESHOLD``
     once ``OUTAGE_REPORTERS`` people reported it (an outage in progress, which the next person may
     well describe in other words). Symptoms alone (no specific word in common) are enough only for
     a report about the ticket's own system (not merely its article) that says many are affected
     ("nobody can", "whole unit", "any computer", "is it down?", "me too"), or that has no best
     article or the ticket's.

Of several such tickets the most alike wins (then the most recent). Alike is the Dice coefficient of
two texts' content words (``similarity``): lower-cased, less common words, places ("ED", "4 West",
"bay 7"), the system's names ("epic", "wow") and the words for what people do with it
(``System.uses``: "scan", "wristband" for BCMA; "badge", "tap" for Imprivata), since rule 1 already
compared the system and one outage is reported from many places; the ways staff say one thing are
mapped onto one word and the rest stemmed (Snowball). An outage's symptoms map onto five words:
"laggy", "freezing", "spinning" → "slow"; "offline", "black screen", "no wifi", "searching for
server" → "down"; "won't connect", "not loading", "can't get in", "doesn't work" → "fail"; "kicked
out", "disconnected" → "drop"; "error", "invalid" → "error"; and a text naming any of them also gets
the word "outage", which any two such texts share.
The window and thresholds were tuned on the dev half of ``benchmarks/tickets/reports.jsonl``
(``benchmarks/tickets.py`` reports pairwise precision and recall on the test half).

Known limits: two outages of one system at once with similar words fold together, as does a problem
that is not personal but shares a specific word with an outage of its system ("PACS won't launch
from the chart" with "PACS images not loading"); a report in words that share nothing with the
others, or filed under another system ("ED wireless down" for a WOW Wi-Fi outage), stays its own
ticket; so does a person in an outage who words it as their own problem ("tapping my badge does
nothing"). The ticket's reports stand for its reporters (``bot.tickets.opening`` adds one a person).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache

import Stemmer

from bot.tickets.systems import known_system, system_named

WINDOW = timedelta(minutes=60)
# Rule 3: how alike (``similarity``) a report must be to one of the ticket's reports.
PAIR_THRESHOLD = 0.3
OUTAGE_THRESHOLD = 0.15
OUTAGE_REPORTERS = 2
PERSONAL_THRESHOLD = 0.5
_OUTAGE = "outage"

_TOKEN = re.compile(r"[a-z0-9]+")
_WING = re.compile(r"\b(\d{1,2}) ?(north|south|east|west|n|s|e|w)\b")


def _words(text: str) -> list[str]:
    return text.split()


def _any_of(phrases: str) -> re.Pattern[str]:
    """A pattern matching any of the ``|``-separated phrases (regular expressions) as whole words."""
    return re.compile(rf"\b(?:{phrases})\b")


_LOCATION = re.compile(r"^(?:\d+[nsew]?|[a-z]?\d+[a-z]?)$")
_STOPWORDS = frozenset(
    _words(
        """
    a an the and or but so if of to in on at by for from with into onto about as is are was were be been
    being am do does did doing done have has had having i me my mine we us our you your it its this
    that these those they them their there here what which who how why when where can could would
    should will shall may might must just still again already also very really too any all every
    each some no not nothing none nobody dont don doesnt isnt wont cant cannot couldnt didnt wasnt t s
    please pls thanks thank help hi hello hey ok okay now today anyone someone get got getting keep
    keeps kept seem seems say says said like know need needs want wants try tried trying work works
    working worked issue issues problem problems thing things everything one whole bad super few
    minute minutes min mins second seconds hour hours time times day
    name mrn dob phone id date ssn email patient patients pt pts waiting yes urgent asap stat
    up off over after before then through go goes going gone since yet way give gives come comes
    coming show shows showing everyone everybody anybody else
    """
    )
)
# Where, not what: rule 3 compares what is wrong (the same outage is reported from many places).
_PLACES = frozenset(
    _words(
        """
    ed er icu nicu picu ccu micu sicu cvicu pacu or bay room rm bed floor unit ward clinic station
    nurse nurses north south east west emergency dept department
    """
    )
)
# What it is wrong with: rule 1 already compared the system, so its names say nothing more here.
_SYSTEM_NAMES = frozenset(
    _words(
        """
    epic hyperspace emr ehr wow cow workstation wheels pyxis omnicell medstation citrix storefront workspace
    vocera pacs imprivata onesign bcma zebra dragon powerscribe outlook haiku rover spok globalprotect
    mychart teams email mail
    """
    )
)
# Symptoms said in several words, rewritten to one before the words are split ("'" already dropped).
_PHRASES = (
    (_any_of(r"reading rooms?"), " room "),
    (
        _any_of(
            r"black screen|blank screen|white screen|screen (?:goes|went|is|turns) (?:black|blank|white)"
            r"|no (?:wifi|wi fi|internet|network|signal|service|connection|power|dial tone)"
            r"|searching for (?:the )?server"
            r"|(?:no|cannot|cant|not) (?:connection to|contact\w*|reach\w*) (?:the )?server"
        ),
        " down ",
    ),
    (
        # Something does not happen: "won't connect", "not loading", "can't get in", "isn't reading".
        re.compile(
            r"\b(?:(?:cant|cannot|can not|wont|not|isnt|arent|doesnt|dont|didnt|wasnt|unable to|never)"
            r"(?: (?:just|even|really|always|ever|be able to|seem to|able to|get to))? "
            r"(?!(?:sure|a|an|the|my|our|your|his|her|their|this|that|these|me|us|it|you|yet|enough|much|many"
            r"|all|any|only|in|on|at|for|to|so|too|as|from|with|know|have|need|want|see|find)\b)[a-z]+"
            r"|no one can \w+|nobody can \w+|nothing \w+|does nothing|stopped working|trying to connect)\b"
        ),
        " fail ",
    ),
    (_any_of(r"kick\w* (?:\w+ )*?out|log\w* (?:us|everyone|everybody|people) out|booted"), " drop "),
)
# Ways of saying the same thing, mapped onto one word; the first five are an outage's symptoms.
_SYNONYMS = {
    **dict.fromkeys(
        _words(
            "slow slowly lag lags lagging laggy sluggish crawling crawl freeze freezes freezing froze frozen "
            "hang hangs hanging hung spinning spins spin unresponsive forever takes taking stuck"
        ),
        "slow",
    ),
    **dict.fromkeys(_words("down outage offline unavailable dead lost broken"), "down"),
    **dict.fromkeys(_words("fail fails failed failing failure"), "fail"),
    **dict.fromkeys(_words("disconnect disconnects disconnecting disconnected drop drops dropping"), "drop"),
    **dict.fromkeys(_words("error errors invalid"), "error"),
    **dict.fromkeys(_words("wifi wi fi wireless network internet"), "wifi"),
    **dict.fromkeys(_words("connect connects connecting connected connection connectivity"), "connect"),
    **dict.fromkeys(_words("print prints printing printed printer printers"), "print"),
    **dict.fromkeys(_words("scan scans scanning scanned scanner scanners read reads reading"), "scan"),
    **dict.fromkeys(_words("wristband wristbands armband band bands"), "wristband"),
    **dict.fromkeys(_words("login logon log signin sign"), "login"),
    **dict.fromkeys(_words("open opens opening load loads loading launches launching"), "open"),
    **dict.fromkeys(_words("chart charts charting"), "chart"),
    **dict.fromkeys(_words("label labels"), "label"),
    **dict.fromkeys(_words("image images imaging studies study xray"), "image"),
    **dict.fromkeys(_words("black blank"), "black"),
    **dict.fromkeys(_words("badge badges tap"), "badge"),
}
_SYMPTOMS = frozenset({"slow", "down", "fail", "drop", "error", _OUTAGE})
# Symptoms of a system rather than of one thing ("doesn't work" is either).
_OUTAGE_SYMPTOMS = _SYMPTOMS - {"fail", _OUTAGE}
# One person's account, device or set-up rather than the system: these always ...
_PERSONAL = _any_of(
    r"log me in|log me out|let me in|every ?time i|whenever i|enrol\w*|replacement|re-?register\w*"
    r"|new (?:hire|grad|nurse|employee|staff|starter)|first day|starting today|set ?up|install\w*"
    r"|how (?:do|can|should) i|how to|expired?|locked out|account (?:is )?locked|locked my|lockout"
    r"|forgot|reset|fingerprint|charg(?:e|es|ing)(?! nurse)|charger|batter(?:y|ies)|pair(?:s|ing|ed)?"
    r"|cradle|volume|personal|one patient|this patient|matching patient|patient not found|wrong patient"
)
# ... and one's own thing when no outage symptom is named ("my badge doesn't work at the reader").
_THINGS = (
    r"(?:badge|account|password|login|phone|iphone|cell|laptop|computer|pc|desktop|scanner|mic|microphone"
    r"|headset|pager|vocera|mailbox|inbox|profile|wow|cow|session|id)s?"
)
_MINE = _any_of(rf"my (?:\w+ )?{_THINGS}")
# Others are not affected: the person says so.
_OTHERS_FINE = _any_of(
    r"(?:everyone|everybody|someone|anyone) elses? (?:\w+ )?(?:is fine|are fine|is ok|works?|working|does|do)"
    r"|(?:coworkers?|co workers?|others?|other people)s? (?:\w+ )?(?:work\w*|are fine|is fine|are ok|is ok)"
    rf"|works? for (?:others|everyone else)|only (?:mine|my (?:\w+ )?{_THINGS})"
)
# Many people at once: such a report is about the system, whatever else it says.
_WIDESPREAD = _any_of(
    r"(?:everyone|everybody)s?(?! else)|nobody|no one|(?:anyone|anybody)s?(?! know)|all (?:of|our)"
    r"|all the (?!way)|whole|entire|every (?!time)\w+|any (?!time|ideas?|way|help|chance)\w+|none of"
    r"|we all|all over|unit ?wide|hospital ?wide|down|outage|(?:me|mine) (?:too|either|as well)"
    r"|for me either|same (?:here|issue|problem)"
)
# "wow 7", "scanner #12", "printer 3": one device, not another of its kind.
_DEVICE = re.compile(
    r"\b(wow|cow|workstation|computer|pc|scanner|printer|phone|pager|laptop|monitor|asset|device)s? ?"
    r"(?:#|no |number )?(\d+)\b"
)
# Where: a unit ("4w" once normalised) or a department.
_PLACE = _any_of(r"\d{1,2}[nsew]|ed|er|icu|nicu|picu|ccu|micu|sicu|cvicu|pacu|lobby|pharmacy|lab|radiology")


@dataclass(frozen=True)
class Report:
    """A new report as folding sees it (text scrubbed)."""

    text: str
    system: str
    article: str
    at: datetime


@dataclass(frozen=True)
class OpenIncident:
    """An open ticket as folding sees it: its system, best article, reports' texts (one a reporter)
    and last report time."""

    key: str
    system: str
    article: str
    texts: tuple[str, ...]
    last_reported_at: datetime


@dataclass(frozen=True)
class Reading:
    """What rule 3 reads in one report's text."""

    words: frozenset[str]
    cues: frozenset[str]
    widespread: bool
    others_fine: bool
    devices: frozenset[tuple[str, str]]
    places: frozenset[str]

    @property
    def personal(self) -> bool:
        """About one person's account, device or set-up (see the module docstring)."""
        return self.others_fine or (bool(self.cues) and not self.widespread)

    @property
    def request(self) -> bool:
        """Personal and nothing fails: a question or a request for one person ("how do I enroll my
        badge", "password expired", "new hire has no access"); it folds with nothing."""
        return self.others_fine or (self.personal and not self.words & _SYMPTOMS)

    @property
    def specific_words(self) -> frozenset[str]:
        """The words without the outage symptoms: what is wrong beyond "it doesn't work"."""
        return self.words - _SYMPTOMS


_STEMMER = Stemmer.Stemmer("english")


def _normalised(text: str) -> str:
    """Lower case, apostrophes dropped, "4 west" → "4w"."""
    lowered = text.lower().replace("'", "").replace("\u2019", "")
    return _WING.sub(lambda m: f"{m.group(1)}{m.group(2)[0]}", lowered)


def content_words(text: str) -> frozenset[str]:
    """The words of ``text`` that say what the problem is, normalised (see the module docstring)."""
    lowered = _normalised(text)
    for pattern, replacement in _PHRASES:
        lowered = pattern.sub(replacement, lowered)
    words: set[str] = set()
    for token in _TOKEN.findall(lowered):
        singular = token[:-1] if token.endswith("s") else token
        if _LOCATION.match(token) or {token, singular} & (_STOPWORDS | _PLACES | _SYSTEM_NAMES):
            continue
        words.add(_SYNONYMS.get(token) or _STEMMER.stemWord(token))
    if words & _SYMPTOMS:
        words.add(_OUTAGE)
    return frozenset(words)


def _cue(phrase: str) -> str:
    """One spelling of a personal cue: "my new badge" → "my badge", "charging" → "charg"."""
    words = phrase.split()
    if words[0] == "my":
        words = ["my", words[-1]]
    return " ".join(_STEMMER.stemWord(w) for w in words)


@lru_cache(maxsize=4096)
def read(text: str) -> Reading:
    """The words, personal cues, and reach of one report (see the module docstring)."""
    normalised = _normalised(text)
    plain = " ".join(_TOKEN.findall(normalised.replace("-", "")))
    words = content_words(text)
    cues = {_cue(m.group(0)) for m in _PERSONAL.finditer(plain)}
    if not words & _OUTAGE_SYMPTOMS:
        cues |= {_cue(m.group(0)) for m in _MINE.finditer(plain)}
    return Reading(
        words=words,
        cues=frozenset(cues),
        widespread=_WIDESPREAD.search(normalised) is not None,
        others_fine=_OTHERS_FINE.search(plain) is not None,
        devices=frozenset(_DEVICE.findall(plain)),
        places=frozenset(_PLACE.findall(normalised)),
    )


def is_personal(text: str) -> bool:
    """True when ``text`` is about one person's account, device or set-up and says nothing of others."""
    return read(text).personal


@lru_cache(maxsize=256)
def use_words(system: str) -> frozenset[str]:
    """The words for what people do with ``system`` (``System.uses``), normalised as content words."""
    entry = known_system(system) if system else None
    return content_words(" ".join(entry.uses)) - _SYMPTOMS if entry is not None else frozenset()


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def similarity(first: str, second: str, *, system: str = "") -> float:
    """How alike two reports about ``system`` are, 0 to 1: the Dice coefficient of their content words
    less the words for what people do with the system."""
    drop = use_words(system)
    return _dice(read(first).words - drop, read(second).words - drop)


def canonical_system(system: str, text: str = "") -> str:
    """The system's lexicon name (aliases joined), or as given; named from ``text`` when empty."""
    if not system:
        found = system_named(text)
        return found.name if found is not None else ""
    entry = known_system(system)
    return entry.name if entry is not None else system.strip()


def related(report: Report, incident: OpenIncident) -> bool:
    """Rule 1: the same system or the same best article."""
    system = canonical_system(report.system, report.text)
    if system and system.lower() == canonical_system(incident.system).lower():
        return True
    return bool(report.article) and report.article == incident.article


def recent(report: Report, incident: OpenIncident, *, window: timedelta = WINDOW) -> bool:
    """Rule 2: the report is no later than ``window`` after the incident's last report (nor before it
    by more than that, for reports replayed late)."""
    return abs(report.at - incident.last_reported_at) <= window


def _same_spot(a: Reading, b: Reading) -> bool:
    """Not two devices of one kind ("wow 7", "wow 15"), nor two places ("5n", "2w"), as far as said."""
    if any(kind == k and number != n for kind, number in a.devices for k, n in b.devices):
        return False
    return not (a.places and b.places and a.places.isdisjoint(b.places))


def _strip(r: Reading, drop: frozenset[str]) -> Reading:
    return replace(r, words=r.words - drop) if drop else r


def alike(report: Report, incident: OpenIncident) -> float | None:
    """Rule 3: how alike ``report`` is to the most alike of the incident's reports, when it is alike
    enough by the bar for who reports what (the module docstring); None when it is not."""
    system = canonical_system(report.system, report.text)
    drop = use_words(system) | use_words(incident.system)
    new = _strip(read(report.text), drop)
    old = [o for o in (_strip(read(text), drop) for text in incident.texts) if not o.request]
    if new.request or not old:
        return None
    if new.personal or all(o.personal for o in old):
        scores = [
            _dice(new.specific_words, o.specific_words)
            for o in old
            if _same_spot(new, o) and (new.cues & o.cues or not (new.personal and o.personal))
        ]
        return _at_least(max(scores, default=0.0), PERSONAL_THRESHOLD)
    bar = OUTAGE_THRESHOLD if len(old) >= OUTAGE_REPORTERS else PAIR_THRESHOLD
    same_system = bool(system) and system.lower() == canonical_system(incident.system).lower()
    if not (same_system and (new.widespread or not report.article or report.article == incident.article)):
        old = [o for o in old if new.specific_words & o.specific_words]
    return _at_least(max((_dice(new.words, o.words) for o in old), default=0.0), bar)


def _at_least(score: float, bar: float) -> float | None:
    return score if score > 0 and score >= bar else None


def choose_incident(
    report: Report, incidents: Sequence[OpenIncident], *, window: timedelta = WINDOW
) -> OpenIncident | None:
    """The open incident ``report`` folds into by the rule above, or None for a ticket of its own."""
    best: tuple[float, datetime, OpenIncident] | None = None
    for incident in incidents:
        if not (related(report, incident) and recent(report, incident, window=window)):
            continue
        score = alike(report, incident)
        if score is not None and (best is None or (score, incident.last_reported_at) > best[:2]):
            best = (score, incident.last_reported_at, incident)
    return best[2] if best is not None else None
