"""What IT needs besides the question: where, which device, and whether a patient is waiting.

The rules, applied to scrubbed text (anything found is quoted as the person wrote it):

* **location**: every unit, floor, room or department named, joined with ", " in the order written,
  each place once (a part equal to another but for case, or contained in another, is left out):
  unit abbreviations (ICU, NICU, PICU, CCU, MICU, SICU, CVICU, PACU, L&D; ED, ER and OR only in
  capitals, so "or" and "er" stay words), department words (emergency department, operating room,
  labor and delivery, cath lab, dialysis, pharmacy, radiology, oncology, infusion, med-surg,
  step-down, telemetry, nursery, the lab), wing names ("4 West", "5N", "3E"), floors ("floor 3",
  "3rd floor"), and "room/rm/bed/bay/unit/ward X"; in Spanish "UCI", "urgencias", "quirófano" and
  "cama/habitación/hab/sala/piso/planta X".
* **device**: a WOW or COW with its number ("wow 23"), an asset tag ("asset 48213", "tag A123"),
  a host or printer name in capitals with a dash ("PRN-4B-LBL01", "WS-4W-12"); else the first device
  word (label printer, wristband printer, printer, scanner, Pyxis, Omnicell, laptop, desktop,
  workstation, computer, PC, iPad, iPhone, phone, Vocera, badge reader, tablet).
* **patient waiting**: False for "no patient waiting", "not urgent", "no rush", "whenever"; True for
  "patient (is) waiting", "pt waiting", "patients waiting", "patient in the room", "urgent", "asap",
  "stat", "code blue" (and the other codes), "can't give meds"; when the text answers our question
  (``answering=True``) a part that is just "yes" or "no" (between commas, full stops or line breaks)
  says it too ("sí" too). In Spanish "paciente esperando" and "urgente" say True, "no hay paciente
  esperando" and "no es urgente" False. Otherwise unknown (None): nobody said.

What the person's answer says besides these (``problem_part``) is what is wrong, for a person who
asked for someone before saying it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.tickets.systems import known_system, system_named

_LOCATION_PATTERNS = (
    re.compile(r"\b(?:cv|n|p|m|s|c)?icu\b|\bccu\b|\bpacu\b|\bl ?& ?d\b|\buci\b", re.IGNORECASE),
    re.compile(r"\b(?:ED|ER|OR)\b"),
    re.compile(
        r"\b(?:emergency (?:department|room|dept)|operating room|labor and delivery|cath lab|dialysis|"
        r"pharmacy|radiology|oncology|infusion(?: center)?|med[- ]?surg|step[- ]?down|telemetry|nursery|"
        r"the lab|urgencias|quir[oó]fano)\b",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\w-])\d{1,2} ?(?:north|south|east|west|[nsew])(?![\w-])", re.IGNORECASE),
    re.compile(r"\b(?:floor|fl) ?\d{1,2}\b|\b\d{1,2}(?:st|nd|rd|th) floor\b", re.IGNORECASE),
    re.compile(
        r"\b(?:room|rm|bed|bay|unit|ward|cama|habitaci[oó]n|hab|sala|piso|planta)"
        r" ?#? ?[A-Za-z]?\d{1,4}[A-Za-z]?\b",
        re.IGNORECASE,
    ),
)
_DEVICE_IDS = (
    re.compile(r"\b(?:wow|cow)s? ?#? ?\d{1,5}\b", re.IGNORECASE),
    re.compile(r"\b(?:asset|tag)(?: ?(?:#|no\.?|number))? ?[A-Za-z]{0,3}\d{3,10}\b", re.IGNORECASE),
    re.compile(r"\b(?!IT-\d)[A-Z]{2,}[A-Z0-9]*-[A-Z0-9]+(?:-[A-Z0-9]+)*\b"),
)
_DEVICE_WORDS = re.compile(
    r"\b(?:label printer|wristband printer|printer|scanner|pyxis|omnicell|laptop|desktop|workstation|"
    r"computer|pc|ipad|iphone|phone|vocera|badge reader|tablet|wow|cow)\b",
    re.IGNORECASE,
)
NOT_WAITING = re.compile(
    r"\bno (?:patients?|pts?) (?:is |are )?(?:waiting|affected)\b|\bnot urgent\b|\bno rush\b|\bwhenever\b|"
    r"\bnot (?:patient[- ]facing|time[- ]sensitive)\b|\bno hay (?:ning[uú]n )?pacientes? esperando\b|"
    r"\bno es urgente\b",
    re.IGNORECASE,
)
_WAITING = re.compile(
    r"\b(?:patients?|pts?) (?:is |are )?(?:waiting|in the room|on the table|in front of me)\b|"
    r"\bwaiting patients?\b|\burgent(?:ly)?\b|\basap\b|\bstat\b|\bcode (?:blue|red|pink|white|stroke|sepsis|"
    r"stemi|trauma)\b|\bcan(?:'|no)?t give (?:meds|medications?)\b|\bpacientes? esperando\b|\burgente\b",
    re.IGNORECASE,
)
_YES = {"yes", "y", "yep", "yeah", "yes please", "yes!", "ya", "sí", "si"}
_NO = {"no", "n", "nope", "nah", "no!"}
_PARTS = re.compile(r"[,.;\n]+")
# Words that say nothing about the problem around a location or an urgency ("I'm in ICU", "yes it is").
_FILLER = frozenset(
    re.findall(
        r"\S+",
        "i i'm im am we we're are in on at the a an it it's is yes y yep yeah no n nope nah ya and "
        "or patient patients pt waiting not urgent room bed unit floor ward my our this here there "
        "now sí si en la el mi es hay un una y no paciente esperando cama sala piso planta "
        "habitación estoy",
    )
)

# Systems where one device is at fault more often than the whole system: asking which one helps.
DEVICE_CATEGORIES = frozenset({"devices", "printing", "desktop", "phones"})


@dataclass(frozen=True)
class Details:
    """Location, device and urgency as far as known; "" / None for not said."""

    location: str = ""
    device: str = ""
    patient_waiting: bool | None = None

    def merged(self, later: Details) -> Details:
        """These details with anything ``later`` says filled in (``later`` wins where both say)."""
        return replace(
            self,
            location=later.location or self.location,
            device=later.device or self.device,
            patient_waiting=later.patient_waiting
            if later.patient_waiting is not None
            else self.patient_waiting,
        )


def _location_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for pattern in _LOCATION_PATTERNS:
        for match in pattern.finditer(text):
            if not any(start < match.end() and match.start() < end for start, end in spans):
                spans.append((match.start(), match.end()))
    return sorted(spans)


def joined_locations(locations: list[str]) -> str:
    """The places of ``locations`` (each "" or ", "-joined parts) joined with ", " in order, each
    once: a part equal to one kept already but for case, or contained in one, is left out, and one
    that contains a part kept already takes its place ("ICU, bed 7, icu" -> "ICU, bed 7")."""
    kept: list[str] = []
    for location in locations:
        for part in (p.strip() for p in location.split(",")):
            low = " ".join(part.lower().split())
            if not low or any(low in " ".join(k.lower().split()) for k in kept):
                continue
            inside = [k for k in kept if " ".join(k.lower().split()) in low]
            if inside:
                kept[kept.index(inside[0])] = part
                kept = [k for k in kept if k not in inside[1:]]
            else:
                kept.append(part)
    return ", ".join(kept)[:128]


def find_location(text: str) -> str:
    """Every location ``text`` names, in the order written, each once, joined with ", " ("" when none)."""
    return joined_locations([", ".join(text[start:end] for start, end in _location_spans(text))])


def problem_part(text: str) -> str:
    """What ``text`` (an answer to the follow-up question) says besides where and how urgent: its
    parts (between commas, full stops, semicolons or line breaks) that say more than a location, a
    device id, "patient waiting" or "yes"/"no"; "" when none does."""
    kept: list[str] = []
    for part in _PARTS.split(text):
        rest = part
        for start, end in reversed(_location_spans(part)):
            rest = rest[:start] + " " + rest[end:]
        for pattern in (*_DEVICE_IDS, NOT_WAITING, _WAITING):
            rest = pattern.sub(" ", rest)
        words = [w.lower() for w in re.findall(r"[^\W_]+(?:'[^\W_]+)?", rest)]
        if any(w not in _FILLER for w in words):
            kept.append(" ".join(part.split()))
    return ", ".join(kept)


def find_device(text: str) -> str:
    """The device ``text`` names: an explicit id first, else the first device word ("" when none)."""
    for pattern in _DEVICE_IDS:
        match = pattern.search(text)
        if match is not None:
            return match.group(0)[:128]
    match = _DEVICE_WORDS.search(text)
    return match.group(0)[:128] if match is not None else ""


def find_patient_waiting(text: str, *, answering: bool = False) -> bool | None:
    """Whether ``text`` says a patient is waiting (True), says not (False), or does not say (None)."""
    if NOT_WAITING.search(text):
        return False
    if _WAITING.search(text):
        return True
    if answering:
        parts = {part.strip().lower() for part in _PARTS.split(text)}
        if parts & _YES:
            return True
        if parts & _NO:
            return False
    return None


def extract_details(text: str, *, answering: bool = False) -> Details:
    """The details one message gives (``answering``: it replies to our question for details)."""
    return Details(
        location=find_location(text),
        device=find_device(text),
        patient_waiting=find_patient_waiting(text, answering=answering),
    )


def gives_details(text: str) -> bool:
    """True when ``text`` says where, which device (by its id, not just its kind: "how do I set up
    Outlook on my iPhone" is a question), or whether a patient is waiting: what an answer to our
    question for details would say."""
    found = extract_details(text, answering=True)
    return bool(found.location) or identifies_device(found.device) or found.patient_waiting is not None


def details_from_texts(texts: list[str]) -> Details:
    """What a whole conversation (its person's messages, oldest first) says; later messages win."""
    found = Details()
    for text in texts:
        found = found.merged(extract_details(text))
    return found


def identifies_device(device: str) -> bool:
    """True when ``device`` says which one (a WOW number, an asset tag, a host name), not just what kind."""
    return any(pattern.fullmatch(device) for pattern in _DEVICE_IDS)


def missing_details(found: Details, *, category: str) -> tuple[str, ...]:
    """Which of "location", "device", "urgency" are worth asking for, given what is ``found``.

    The device is only worth asking when the problem is likely one device (``DEVICE_CATEGORIES``,
    or a system nobody named): for "Epic is slow" the device adds nothing. "The label printer" says
    what kind, not which one, so it is still asked.
    """
    missing: list[str] = []
    if not found.location:
        missing.append("location")
    if not identifies_device(found.device) and (category in DEVICE_CATEGORIES or not category):
        missing.append("device")
    if found.patient_waiting is None:
        missing.append("urgency")
    return tuple(missing)


def category_of(texts: list[str], articles: list[str], systems: list[str] | None = None) -> str:
    """The problem's category: the best article's folder, else the category of the first known
    system of ``systems``, else that of a system named in ``texts``."""
    for article in articles:
        if "/" in article:
            return article.split("/", 1)[0]
    for name in systems or []:
        entry = known_system(name)
        if entry is not None:
            return entry.category
    for text in texts:
        system = system_named(text)
        if system is not None:
            return system.category
    return ""
