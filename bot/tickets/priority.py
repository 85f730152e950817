"""A ticket's priority by clinical impact: 1 critical, 2 high, 3 moderate, 4 low.

Three signals, read from the scrubbed conversation and the details the person gave:

* **urgent**: a patient is waiting (said, or answered "yes" when asked), or the words say care is held
  up: "code blue" (and the other codes), "stat", "can't give meds", "can't scan meds", "patient
  waiting", "surgery delayed", "rapid response", "emergency" (not "emergency department").
* **patient-facing system**: the ticket's system is one bedside care depends on
  (``bot.tickets.systems``: Epic, BCMA, Pyxis, PACS, WOWs, Vocera, paging, Citrix, badge tap ...).
* **clinical area**: a unit, floor, room or department is named (``bot.tickets.details``).

Rules, in order:

1. urgent, and a patient-facing system or a clinical area → **1**;
2. urgent alone, or a patient-facing system in a clinical area → **2**;
3. a patient-facing system or a clinical area → **3**;
4. a known system that is not patient-facing (Outlook, a password, a shared drive), or nothing known
   at all → **4** for the former, **3** for the latter (IT has not seen it yet; it is not low);
5. "no rush", "not urgent", "whenever", "when you get a chance" (and not urgent) → one level lower;
6. a folded incident that 3 or more people reported → one level higher: an outage, not one person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.tickets.details import NOT_WAITING, find_location
from bot.tickets.models import priority_label
from bot.tickets.systems import known_system, system_named

URGENT = re.compile(
    r"\bcode (?:blue|red|pink|white|stroke|sepsis|stemi|trauma)\b|\b(?:in|during|running) a code\b|"
    r"\bstat\b|\bcan(?:'|no)?t (?:give|scan|pull|chart|document) (?:meds|medications?|vitals)\b|"
    r"\bcannot (?:give|scan|pull) (?:meds|medications?)\b|\b(?:patients?|pts?) (?:is |are )?waiting\b|"
    r"\bwaiting patients?\b|\bsurgery (?:is )?(?:delayed|waiting|on hold)\b|\brapid response\b|"
    r"\bemergency\b(?! (?:department|room|dept))|\blife[- ]threatening\b",
    re.IGNORECASE,
)
LOW = re.compile(
    r"\bno rush\b|\bnot urgent\b|\bwhenever\b|\bwhen you (?:get|have) (?:a )?(?:chance|minute|moment)\b|"
    r"\blow priority\b",
    re.IGNORECASE,
)
OUTAGE_REPORTERS = 3


@dataclass(frozen=True)
class Priority:
    """A priority level and the signals that set it (for the ticket and IT's eyes)."""

    level: int
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        """critical, high, moderate or low."""
        return priority_label(self.level)


def assess_priority(
    *,
    texts: Iterable[str],
    system: str,
    location: str = "",
    patient_waiting: bool | None = None,
    affected_count: int = 1,
) -> Priority:
    """The priority of a ticket about ``system`` whose person wrote ``texts`` (scrubbed), by the rules
    in this module's docstring. ``location`` is what the details gave; a location named anywhere in
    ``texts`` counts too. ``patient_waiting`` None means nobody said: unknown is neither urgent nor
    "it can wait", so only the words decide."""
    words = " \n".join(texts)
    reasons: list[str] = []
    urgent_match = URGENT.search(NOT_WAITING.sub(" ", words))  # "no patient waiting" is not urgent
    urgent = patient_waiting is True or urgent_match is not None
    if patient_waiting is True:
        reasons.append("patient waiting")
    elif urgent_match is not None:
        reasons.append(f"urgent: {urgent_match.group(0).lower()}")
    entry = known_system(system) if system else system_named(words)
    facing = entry.patient_facing if entry is not None else False
    if facing and entry is not None:
        reasons.append(f"patient-facing system: {entry.name}")
    where = location or find_location(words)
    clinical = bool(where)
    if clinical:
        reasons.append(f"clinical area: {where}")
    if urgent and (facing or clinical):
        level = 1
    elif urgent or (facing and clinical):
        level = 2
    elif facing or clinical:
        level = 3
    elif entry is not None or system:
        level = 4
        reasons.append("not patient-facing")
    else:
        level = 3
    if not urgent and LOW.search(words):
        level = min(4, level + 1)
        reasons.append("person said it can wait")
    if affected_count >= OUTAGE_REPORTERS:
        level = max(1, level - 1)
        reasons.append(f"{affected_count} people affected")
    return Priority(level=level, reasons=tuple(reasons))
