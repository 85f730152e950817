"""An independent check of the PHI scrubber: deidgate's labelled, synthetic Safe Harbor corpus.

deidgate (MIT, a dev extra) plants known identifiers of the 18 HIPAA Safe Harbor categories in 15
short notes and reports each one that survives a de-identification function, verbatim, with its
digits reformatted, or as a name's words. ``bot.core.scrub`` let 23 through before it normalised
its input; this test keeps the count of unexplained survivors at zero.

What survives on purpose is declared here, with its reason, and decided in docs/phi-scrubbing.md:
whole categories that are hospital equipment or codes IT needs, and a few values the scrubber
does not recognise yet (a nickname alone, for one). A survivor outside both fails the
test, and so does a declared one that no longer survives (remove it here and in the doc).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import pytest

from bot.core.scrub import scrub_text


@pytest.fixture(scope="module")
def deidgate() -> ModuleType:
    """The deidgate package: skipped with the reason where it is not installed, failed in CI."""
    try:
        import deidgate as package
    except ImportError:
        reason = "deidgate is not installed (a dev extra: pip install -e '.[dev]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: this check must run, not skip")
        pytest.skip(reason)
    return package


# Safe Harbor categories kept on purpose, by deidgate's name for them.
KEPT_CATEGORIES = {
    "ip": "IP addresses are how IT finds the workstation, pump or monitor that fails",
    "device": "device serials and asset tags are how IT finds and replaces equipment",
    "vehicle": "a plate or VIN cannot be told from a serial or licence key, which IT needs",
    "biometric": "template ids look like asset codes; no fingerprint or voiceprint travels in chat",
    "photo": "file names are kept for IT; a file named after a patient is a known limit",
    "other": "study and project codes look like IT's own codes (PRN-4B-LBL01, CRIMSON-0447)",
    "geo": "towns and counties name the hospital's own sites; patients' addresses are a known limit",
}

# Single values that survive in the categories that are scrubbed: (sample, value) -> why.
KNOWN_SURVIVORS = {
    ("note-011", "Sunny"): "a nickname that is also a common word, alone, with no cue word before it",
    ("note-003", "the third of July"): "a day and month without a year, kept like '3/12' is",
    ("note-004", "https://portal.glucosense.example/u/marisol"): (
        "a web address naming a person by a word, with no patient key in it"
    ),
}


def survivors(deidgate: ModuleType) -> list[Any]:
    """Every planted identifier that ``scrub_text`` let through, warnings included."""
    result = deidgate.check_all(scrub_text)
    return [*result.leaks, *result.warnings]


def test_no_identifier_survives_outside_what_is_kept_on_purpose(deidgate: ModuleType) -> None:
    unexplained = [
        f"{leak.sample_id} [{leak.cat.value}] {leak.value!r} ({leak.kind})"
        for leak in survivors(deidgate)
        if leak.cat.value not in KEPT_CATEGORIES and (leak.sample_id, leak.value) not in KNOWN_SURVIVORS
    ]

    assert unexplained == []


def test_every_declared_survivor_still_survives(deidgate: ModuleType) -> None:
    seen = {(leak.sample_id, leak.value) for leak in survivors(deidgate)}

    assert [declared for declared in KNOWN_SURVIVORS if declared not in seen] == []


def test_the_corpus_plants_the_categories_that_are_scrubbed(deidgate: ModuleType) -> None:
    planted = {item["category"] for sample in deidgate.load_corpus() for item in sample["phi"]}
    scrubbed = {"name", "date", "phone", "fax", "email", "ssn", "mrn", "health_plan", "account", "url"}

    assert scrubbed <= planted
    assert set(KEPT_CATEGORIES) <= planted  # each decision is about something the corpus tests
