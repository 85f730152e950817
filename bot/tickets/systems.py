"""The systems a hospital ticket is usually about, and which of them touch patient care.

A ticket's system comes first from the articles the bot offered (their ``systems`` front matter, which
the adapter passes in); when there are none (the bot found nothing), it is the first system named in
the person's own words, by the patterns below. ``patient_facing`` marks the systems whose failure
delays care at the bedside (charting, medication, scanning, imaging, clinical communication); it
raises a ticket's priority (``bot.tickets.priority``).
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


def _system(name: str, category: str, patient_facing: bool, words: str) -> System:
    return System(name, category, patient_facing, re.compile(rf"\b(?:{words})\b", re.IGNORECASE))


# Order matters: the first match names the system ("bcma scanner" is BCMA, not a generic scanner).
SYSTEMS: tuple[System, ...] = (
    _system(
        "Zebra wristband printer", "printing", True, r"wristband printers?|band printers?|armband printers?"
    ),
    _system(
        "BCMA", "devices", True, r"bcma|barcode (?:med|medication)s?|scanning meds|wristbands?|arm ?bands?"
    ),
    _system("Pyxis MedStation", "clinical-apps", True, r"pyxis|med ?station|dispensing cabinet|omnicell"),
    _system(
        "PACS viewer", "clinical-apps", True, r"pacs|imaging viewer|x-?ray images?|ct images?|mri images?"
    ),
    _system("Dragon Medical", "clinical-apps", True, r"dragon|powerscribe|dictation|dictating"),
    _system("Vocera", "phones", True, r"vocera|clinical badges?|call badges?"),
    _system("Spok paging", "phones", True, r"pagers?|paging|spok|overhead page"),
    _system("Secure Chat", "phones", True, r"secure chat|haiku|rover|zebra phones?|unit phones?"),
    _system("Telehealth", "clinical-apps", True, r"telehealth|video visits?|virtual visits?"),
    _system("Citrix Workspace", "citrix", True, r"citrix|storefront"),
    _system(
        "Imprivata OneSign",
        "access",
        True,
        r"imprivata|badge tap|tap (?:in|out)|tap badge|onesign|badge reader",
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
    _system("Zebra label printer", "printing", True, r"label printers?|specimen labels?|zebra printers?"),
    _system(
        "Windows print server", "printing", False, r"printers?|printing|print queue|prints?|toner|paper jam"
    ),
    _system("Staff Wi-Fi", "network", False, r"wi-?fi|wireless|network|internet|no connection"),
    _system("GlobalProtect VPN", "network", False, r"vpn|globalprotect"),
    _system("Outlook", "email", False, r"outlook|e-?mail|mailbox|calendar"),
    _system("Microsoft Teams", "email", False, r"teams"),
    _system("Microsoft Authenticator", "access", False, r"mfa|authenticator|two[- ]factor|2fa"),
    _system("Active Directory", "access", False, r"password|locked out|account locked|lockout"),
    _system(
        "Windows file server", "desktop", False, r"shared drive|s: ?drive|h: ?drive|file share|network drive"
    ),
    _system(
        "Docking station",
        "desktop",
        False,
        r"dock(?:ing station)?|second (?:screen|monitor)|external monitor",
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
