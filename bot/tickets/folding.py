"""Duplicate folding: several people reporting one outage make one incident, not N tickets.

The rule. A new report joins an open ticket (new, open or waiting) when all three hold:

1. **related**: the same system (``bot.tickets.systems`` names, so "Omnicell" and "Pyxis MedStation"
   are one) or the same best article;
2. **recent**: the report comes at most ``WINDOW`` (60 minutes) after the ticket's last report;
3. **similar**: the report's words and the words of one of the ticket's reports are at least
   ``THRESHOLD`` alike (``similarity``).

Of several such tickets the most similar wins (then the most recent). ``similarity`` is the Dice
coefficient of the two texts' content words, after lower-casing, dropping common words, mapping the
ways staff say the same thing onto one word ("laggy", "freezing", "hanging" → "slow"; "wifi",
"wireless", "network" → "wifi"; "won't print" → "print" ...) and stemming the rest (Snowball).
Places ("ED", "4 West", "bay 7") and the system's own names ("epic", "wow") are left out: rule 1
already compared the system, and one outage is reported from many places.
The window and threshold were tuned on the dev half of ``benchmarks/tickets/reports.jsonl``
(``benchmarks/tickets.py`` reports pairwise precision and recall on the test half).

Known limits: two outages of one system at once with similar words fold together; a report in
words that share nothing with the others ("ED wireless down" for a WOW Wi-Fi outage under another
system) stays its own ticket. IT can still see both by system in the ticket list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import Stemmer

from bot.tickets.systems import known_system, system_named

WINDOW = timedelta(minutes=60)
THRESHOLD = 0.25

_TOKEN = re.compile(r"[a-z0-9]+")
_WING = re.compile(r"\b(\d{1,2}) ?(north|south|east|west|n|s|e|w)\b")


def _words(text: str) -> list[str]:
    return text.split()


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
    mychart teams
    """
    )
)
# Ways of saying the same thing, mapped onto one word.
_SYNONYMS = {
    **dict.fromkeys(
        _words(
            "slow slowly lag lags lagging laggy sluggish crawling freeze freezes freezing froze frozen "
            "hang hangs hanging hung spinning spin unresponsive forever take takes taking"
        ),
        "slow",
    ),
    **dict.fromkeys(_words("down outage offline unavailable dead lost"), "down"),
    **dict.fromkeys(_words("wifi wi fi wireless network internet connection connectivity"), "wifi"),
    **dict.fromkeys(_words("disconnect disconnects disconnecting disconnected drop drops dropping"), "drop"),
    **dict.fromkeys(_words("connect connects connecting connected"), "connect"),
    **dict.fromkeys(_words("print prints printing printed printer printers"), "print"),
    **dict.fromkeys(_words("scan scans scanning scanned scanner scanners read reads reading"), "scan"),
    **dict.fromkeys(_words("wristband wristbands armband armbands band bands"), "wristband"),
    **dict.fromkeys(_words("login logon log signin sign"), "login"),
    **dict.fromkeys(_words("open opens opening load loads loading launch launches launching start"), "open"),
    **dict.fromkeys(_words("chart charts charting"), "chart"),
    **dict.fromkeys(_words("label labels"), "label"),
    **dict.fromkeys(_words("image images imaging studies study xrays xray"), "image"),
    **dict.fromkeys(_words("black blank"), "black"),
    **dict.fromkeys(_words("badge badges tap"), "badge"),
}


@dataclass(frozen=True)
class Report:
    """A new report as folding sees it (text scrubbed)."""

    text: str
    system: str
    article: str
    at: datetime


@dataclass(frozen=True)
class OpenIncident:
    """An open ticket as folding sees it: its system, best article, reports' texts and last report time."""

    key: str
    system: str
    article: str
    texts: tuple[str, ...]
    last_reported_at: datetime


_STEMMER = Stemmer.Stemmer("english")


def content_words(text: str) -> frozenset[str]:
    """The words of ``text`` that say what the problem is, normalised (see the module docstring)."""
    lowered = _WING.sub(lambda m: f"{m.group(1)}{m.group(2)[0]}", text.lower().replace("'", ""))
    words: set[str] = set()
    for token in _TOKEN.findall(lowered):
        singular = token[:-1] if token.endswith("s") else token
        if token in _STOPWORDS or _LOCATION.match(token) or {token, singular} & (_PLACES | _SYSTEM_NAMES):
            continue
        words.add(_SYNONYMS.get(token) or _STEMMER.stemWord(token))
    return frozenset(words)


def similarity(first: str, second: str) -> float:
    """How alike two reports are, 0 to 1: the Dice coefficient of their content words."""
    a, b = content_words(first), content_words(second)
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


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


def best_similarity(report: Report, incident: OpenIncident) -> float:
    """Rule 3's measure: the report's similarity to the most alike of the incident's reports."""
    return max((similarity(report.text, text) for text in incident.texts), default=0.0)


def choose_incident(
    report: Report,
    incidents: Sequence[OpenIncident],
    *,
    window: timedelta = WINDOW,
    threshold: float = THRESHOLD,
) -> OpenIncident | None:
    """The open incident ``report`` folds into by the rule above, or None for a ticket of its own."""
    best: tuple[float, datetime, OpenIncident] | None = None
    for incident in incidents:
        if not (related(report, incident) and recent(report, incident, window=window)):
            continue
        score = best_similarity(report, incident)
        if score >= threshold and (best is None or (score, incident.last_reported_at) > best[:2]):
            best = (score, incident.last_reported_at, incident)
    return best[2] if best is not None else None
