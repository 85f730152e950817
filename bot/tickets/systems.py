"""The systems a hospital ticket is usually about, and which of them touch patient care.

A ticket's system comes first from the articles the bot offered (their ``systems`` front matter, which
the adapter passes in); when there are none (the bot found nothing), it is the first system named in
the person's own words, by the patterns below. ``patient_facing`` marks the systems whose failure
delays care at the bedside (charting, medication, scanning, imaging, clinical communication); it
raises a ticket's priority (``bot.tickets.priority``). ``uses`` are the words for what people do
with the system ("scan", "wristband" for BCMA; "badge", "tap" for Imprivata): said about it, they tell
nothing of what is wrong with it (``bot.tickets.folding`` leaves them out, like the system's name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    """A system people report problems with."""

    name: str
    category: str
    patient_facing: bool
    pattern: re.Pattern[str]
    uses: tuple[str, ...] = ()


def _system(name: str, category: str, patient_facing: bool, words: str, uses: str = "") -> System:
    pattern = re.compile(rf"\b(?:{words})\b", re.IGNORECASE)
    return System(name, category, patient_facing, pattern, tuple(uses.split()))


# Order matters: the first match names the system ("bcma scanner" is BCMA, not a generic scanner).
SYSTEMS: tuple[System, ...] = (
    _system(
        "Zebra wristband printer",
        "printing",
        True,
        r"wristband printers?|band printers?|armband printers?",
        uses="print printer wristband band",
    ),
    _system(
        "BCMA",
        "devices",
        True,
        r"bcma|barcode (?:med|medication)s?|scanning meds|wristbands?|arm ?bands?",
        uses="scan scanner barcode wristband band",
    ),
    _system(
        "Pyxis MedStation",
        "clinical-apps",
        True,
        r"pyxis|med ?station|dispensing cabinet|omnicell",
        uses="med meds medication cabinet",
    ),
    _system(
        "PACS viewer",
        "clinical-apps",
        True,
        r"pacs|imaging viewer|x-?ray images?|ct images?|mri images?",
        uses="image images study studies xray ct mri viewer",
    ),
    _system(
        "Dragon Medical",
        "clinical-apps",
        True,
        r"dragon|powerscribe|dictation|dictating",
        uses="dictation dictations dictate transcribe",
    ),
    _system("Vocera", "phones", True, r"vocera|clinical badges?|call badges?", uses="badge call"),
    _system("Spok paging", "phones", True, r"pagers?|paging|spok|overhead page", uses="page pager"),
    _system(
        "Secure Chat",
        "phones",
        True,
        r"secure chat|haiku|rover|zebra phones?|unit phones?",
        uses="message text chat",
    ),
    _system(
        "Telehealth", "clinical-apps", True, r"telehealth|video visits?|virtual visits?", uses="video visit"
    ),
    _system("Citrix Workspace", "citrix", True, r"citrix|storefront"),
    _system(
        "Imprivata OneSign",
        "access",
        True,
        r"imprivata|badge tap|tap (?:in|out)|tap badge|onesign|badge reader",
        uses="badge tap reader",
    ),
    _system(
        "Epic",
        "ehr",
        True,
        r"epic|hyperspace|emr|ehr|emar|chart(?:ing)?|flowsheets?|in ?basket|order entry|order sets?",
    ),
    _system(
        "Workstation on wheels", "devices", True, r"wows?|cows?|workstation on wheels|computer on wheels"
    ),
    _system(
        "Zebra label printer",
        "printing",
        True,
        r"label printers?|specimen labels?|zebra printers?",
        uses="label print printer specimen",
    ),
    _system(
        "Windows print server",
        "printing",
        False,
        r"printers?|printing|print queue|prints?|toner|paper jam",
        uses="print printer",
    ),
    _system(
        "Staff Wi-Fi",
        "network",
        False,
        r"wi-?fi|wireless|network|internet|no connection",
        uses="wifi wireless network internet",
    ),
    _system("GlobalProtect VPN", "network", False, r"vpn|globalprotect"),
    _system("Outlook", "email", False, r"outlook|e-?mail|mailbox|calendar", uses="email mail message"),
    _system("Microsoft Teams", "email", False, r"teams"),
    _system("Microsoft Authenticator", "access", False, r"mfa|authenticator|two[- ]factor|2fa"),
    _system("Active Directory", "access", False, r"password|locked out|account locked|lockout"),
    _system(
        "Windows file server",
        "desktop",
        False,
        r"shared drive|s: ?drive|h: ?drive|file share|network drive",
        uses="drive folder share shared",
    ),
    _system(
        "Docking station",
        "desktop",
        False,
        r"dock(?:ing station)?|second (?:screen|monitor)|external monitor",
        uses="monitor screen dock",
    ),
)

_BY_NAME = {s.name.lower(): s for s in SYSTEMS}
# Names that articles use for the same system as one of the above.
_ALIASES = {
    "omnicell": "pyxis medstation",
    "powerscribe": "dragon medical",
    "epic secure chat": "secure chat",
    "zebra smartphone": "secure chat",
    "zebra scanner": "bcma",
    "imprivata": "imprivata onesign",
    "pager": "spok paging",
    "epic haiku": "secure chat",
    "epic rover": "secure chat",
    "mychart": "epic",
    "outlook mobile": "outlook",
    "zoom": "telehealth",
}


def system_named(text: str) -> System | None:
    """The known system ``text`` mentions, or None; earlier entries of ``SYSTEMS`` are more specific."""
    return next((system for system in SYSTEMS if system.pattern.search(text)), None)


def known_system(name: str) -> System | None:
    """The lexicon's entry for a system name as articles spell it ("Pyxis MedStation", "Omnicell")."""
    key = name.strip().lower()
    return _BY_NAME.get(_ALIASES.get(key, key))


def is_patient_facing(name: str) -> bool:
    """True when ``name`` (as articles or the lexicon spell it) is a system bedside care depends on."""
    system = known_system(name)
    return system.patient_facing if system is not None else False
