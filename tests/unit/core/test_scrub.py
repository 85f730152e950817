"""The PHI scrubber: what it replaces, what it keeps, and that it stays fast on any input."""

from __future__ import annotations

import dataclasses
import random
import re
import sys
import time
import unicodedata
from datetime import date, timedelta

import pytest

from bot.core.scrub import ScrubResult, scrub, scrub_text

MRN_CASES = [
    ("MRN 00482913", "MRN [MRN]"),
    ("mrn:1234567", "mrn:[MRN]"),
    ("MR# 1234567", "MR# [MRN]"),
    ("MRN00482913 again", "MRN[MRN] again"),
    ("medical record number 123456", "medical record number [MRN]"),
    ("MRN is 7654321", "MRN is [MRN]"),
    ("MR no. 1234567", "MR no. [MRN]"),
    ("med rec # E123456", "med rec # [MRN]"),
    ("chart # 2345678 won't open", "chart # [MRN] won't open"),
]

ID_CASES = [
    ("acct 123456789", "acct [ID]"),
    ("FIN 12345678", "FIN [ID]"),
    ("CSN 123456789", "CSN [ID]"),
    ("account # 55501234", "account # [ID]"),
    ("encounter 987654321 is locked", "encounter [ID] is locked"),
    ("patient id 1234567", "patient id [ID]"),
    ("HAR: 40012345", "HAR: [ID]"),
    ("accession 12345678", "accession [ID]"),
    ("can you look up 00482913 please", "can you look up [ID] please"),
    ("#12345678 on the whiteboard", "#[ID] on the whiteboard"),
    ("card 4111-1111-1111-1111", "card [ID]"),
]

DOB_CASES = [
    ("dob 03/14/1962", "dob [DOB]"),
    ("DOB: 3/14/62", "DOB: [DOB]"),
    ("d.o.b. 1962-03-14", "d.o.b. [DOB]"),
    ("born 14 March 1962", "born [DOB]"),
    ("birthdate March 14, 1962", "birthdate [DOB]"),
    ("date of birth: 14-MAR-1962", "date of birth: [DOB]"),
    ("born on 14th of March 1962", "born on [DOB]"),
    ("DOB 03141962", "DOB [DOB]"),
    ("dob 3/14 only", "dob [DOB] only"),
]

DATE_CASES = [
    ("admitted 11/02/2026", "admitted [DATE]"),
    ("discharged 2026-02-11 at 09:12", "discharged [DATE] at 09:12"),
    ("seen on March 14th, 2026", "seen on [DATE]"),
    ("surgery 14 Mar 2026", "surgery [DATE]"),
    ("arrived 14.03.2026", "arrived [DATE]"),
    ("expired 3/4/26", "expired [DATE]"),
    ("admission 2026-02-11", "admission [DATE]"),
]

PHONE_CASES = [
    ("555-123-4567", "[PHONE]"),
    ("(555) 123-4567", "[PHONE]"),
    ("555.123.4567", "[PHONE]"),
    ("+1 555 123 4567", "[PHONE]"),
    ("Call 1-800-555-0199 for help", "Call [PHONE] for help"),
    ("daughter is on +44 20 7946 0958", "daughter is on [PHONE]"),
    ("cell 5551234567", "cell [PHONE]"),
    ("555-123-4567x4357", "[PHONE]x4357"),
    ("call 555-123-4567 or ext 2201", "call [PHONE] or ext 2201"),
    ("call 555-123-4567/555-765-4321", "call [PHONE]/[PHONE]"),
    ("reach her at (555-123-4567) after 5", "reach her at ([PHONE]) after 5"),
]

SSN_AND_EMAIL_CASES = [
    ("SSN 123-45-6789", "SSN [SSN]"),
    ("123-45-6789", "[SSN]"),
    ("ssn 123456789", "ssn [SSN]"),
    ("social security number 123 45 6789", "social security number [SSN]"),
    ("jane.doe+er@example.org", "[EMAIL]"),
    ("mail j_smith@mail.hospital.example.com.", "mail [EMAIL]."),
]

NAME_CASES = [
    ("pt John Carter", "pt [NAME]"),
    ("patient jane doe", "patient [NAME]"),
    ("Mr. Smith", "Mr. [NAME]"),
    ("Mrs O'Neil-Brown", "Mrs [NAME]"),
    ("patient name: John Carter", "patient name: [NAME]"),
    ("pt name is Mary", "pt name is [NAME]"),
    ("PT JOHN CARTER", "PT [NAME]"),
    ("Pt Carter, John A. needs a band", "Pt [NAME] needs a band"),
    ("pt. Maria García-López needs a label", "pt. [NAME] needs a label"),
    ("Ms. Jones is in 4B", "Ms. [NAME] is in 4B"),
    ("Miss Jones", "Miss [NAME]"),
    ("pt Will Smith", "pt [NAME]"),
    ("patient José Núñez", "patient [NAME]"),
    ("pt j smith", "pt [NAME]"),
    ("Mr. J. Smith called", "Mr. [NAME] called"),
    ("pt John is waiting", "pt [NAME] is waiting"),
    ("Pt Carter, Will needs a band", "Pt [NAME] needs a band"),
]

# The attack run's evasions, and their kin: each was stored verbatim before normalisation.
EVASION_CASES = [
    ("MRN 004 829 14", "MRN [MRN]"),
    ("MRN 0048 2924", "MRN [MRN]"),
    ("MRN 0048\u200b2913", "MRN [MRN]"),
    ("Mrs.Oberholtzer can't log in", "Mrs.[NAME] can't log in"),
    ("MRN is zero zero four eight two nine one three", "MRN is [MRN]"),
    ("j.doe.rt2 at hospital dot org", "[EMAIL]"),
    # spacing, dots and dashes inside the number after a label
    ("MRN 0 0 4 8 2 9 1 3 won't load", "MRN [MRN] won't load"),
    ("chart 0048-2924 won't open", "chart [MRN] won't open"),
    ("MRN 0048.2913", "MRN [MRN]"),
    ("acct 004 829 14", "acct [ID]"),
    ("SSN 402 19 8877", "SSN [SSN]"),
    # spelled digits after a label, "oh" for zero
    ("mrn oh oh four eight two nine one three", "mrn [MRN]"),
    ("MRN: double oh four eight, two nine one three", "MRN: [MRN]"),
    ("acct 12345678, 2 more locked", "acct [ID], 2 more locked"),
    ("MRN zero-zero-four-eight-two-nine-one-three", "MRN [MRN]"),
    ("acct is four four one two zero nine", "acct is [ID]"),
    # labels glued to the word before or to the number
    ("seen in clinic (chartMRN04857211)", "seen in clinic (chartMRN[MRN])"),
    ("MRN#0048", "MRN#[MRN]"),
    ("pt.Carter wristband", "pt.[NAME] wristband"),
    ("Mr.Smith called", "Mr.[NAME] called"),
    # e-mail addresses with "at" and "dot" written out or bracketed
    ("jdoe[at]hospital(dot)org", "[EMAIL]"),
    ("mail jdoe (at) hospital (dot) org please", "mail [EMAIL] please"),
    ("j_doe at grace.org can't sign in", "[EMAIL] can't sign in"),
    ("JDOE {AT} GRACE {DOT} ORG", "[EMAIL]"),
    # Unicode format characters (zero-width, soft hyphen, bidi marks), other spaces, fullwidth forms
    ("M\u200bRN 00482913", "M\u200bRN [MRN]"),
    ("MRN\u00a000482913", "MRN\u00a0[MRN]"),
    ("MRN \uff10\uff10\uff14\uff18\uff12\uff19\uff11\uff13", "MRN [MRN]"),
    ("\uff2d\uff32\uff2e 00482913", "\uff2d\uff32\uff2e [MRN]"),
    ("pt Jo\u00adhn Car\u00adter", "pt [NAME]"),
    ("call 555\u200e-123-4567", "call [PHONE]"),
    ("dob 03/\u200d14/1962", "dob [DOB]"),
    ("j.doe@hos\u2060pital.org", "[EMAIL]"),
]

# The deidgate corpus's survivors that matter in an IT chat.
SAFE_HARBOR_CASES = [
    ("SSN as written on the intake form: 402 19 8877.", "SSN as written on the intake form: [SSN]."),
    (
        "patient Reyes-Villalobos, who is also charted as Reyes Villalobos",
        "patient [NAME], who is also charted as [NAME]",
    ),
    ("pt John Carter: Carter's chart won't open", "pt [NAME]: [NAME]'s chart won't open"),
    (
        "https://mychart.corvidhealth.example/patient/994201 gives a 500",
        "[URL] gives a 500",
    ),
    ("(see https://portal.example/chart?mrn=00482913).", "(see [URL])."),
    ("https://portal.example/x?first_name=Ann&dob=1950-01-02", "[URL]"),
    ("a 94-year-old woman can't use the tablet", "a [AGE] woman can't use the tablet"),
    ("pt is 97 yo", "pt is [AGE]"),
    ("aged 101", "aged [AGE]"),
    ("age: 92", "age: [AGE]"),
]

REPLACED_CASES = (
    MRN_CASES
    + ID_CASES
    + DOB_CASES
    + DATE_CASES
    + PHONE_CASES
    + SSN_AND_EMAIL_CASES
    + NAME_CASES
    + EVASION_CASES
    + SAFE_HARBOR_CASES
)

KEPT_CASES = [
    # network addresses, codes and versions
    "ping 10.20.4.17 fails",
    "10.0.0.1:8080 refuses connections",
    "gateway 192.168.100.200",
    "error 0x45",
    "0x80070005 access denied",
    "error 1603 during install",
    "error 2147942405 from the installer",
    "exit code 1234567",
    "v2.13.0",
    "Windows 11 23H2",
    "version 2.13.10",
    "build 22631.3007",
    "guid 3f2504e0-4f89-11d3-9a0c-030512345678",
    # places, times, extensions, devices
    "room 4B",
    "bed 12",
    "bed 12, room 1234",
    "03:14",
    "at 09:12:33",
    "x4357",
    "ext 2201",
    "call 4357",
    "pager 555-1234",
    "PRN-4B-LBL01",
    "12345 is short",
    "drawer 3",
    # IT's own numbers
    "ticket 1234567",
    "INC0012345",
    "KB5034441",
    "KB 5034441",
    "account ab12345 locked",
    # partial dates
    "upgrade on 11/02",
    "since March 2026",
    # words after a cue that are not names
    "patient portal is down",
    "pt can't log in",
    "patient wristband won't print",
    "patient is waiting",
    "pt in room 4",
    "Patient Portal login fails",
    "patient name mismatch on wristband",
    "pt will be discharged",
    "pt I think the pump is broken",
    "12 pt font is too small",
    "MS Teams keeps crashing",
    "Ms Teams keeps crashing",
    "I miss the old version",
    "Dr. Patel can't log in",
    "the MR scanner is down",
    "outpatient clinic printer",
    "patients are waiting in ED",
    "Pt states the tv remote is broken",
    # what IT needs, next to the evasions the scrubber now normalises
    "Epic, Citrix, Vocera and Pyxis are down at Grace Hospital",
    "ICU and 4 West printers",
    "ticket IT-000123, INC0012345",
    "Epic slow since 09:12",
    "on 3/12 the upgrade broke bcma",
    "x4567 has no answer",
    "logged in at mychart.grace.org",
    "https://grace.org/patient/portal/login",
    "https://support.example.com/kb/5034441",
    "glucose monitor last seen at 10.34.201.7, serial SN-CG5-881207X",
    "Visalia clinic printer",
    "chart 3 of 4 won't load",
    "zero downtime upgrade tonight",
    "age 45",
    "89 years old is still kept",
    "Windows 95 years ago",
    "Mrs.smith@example is not an address",
    # IT's own words after a cue, and text that only looks like a spelled-out address
    "Enable the MRS Proxy endpoint, then check MRS Proxy again",
    "Epic ignores scans when no patient activity is open",
    "patient proxy access in MyChart",
    "(403) Forbidden.    at System.Net.HttpWebRequest.EndGetResponse(IAsyncResult asyncResult)",
    "ex.Message at System.Net.Http failed",
    "https://www.microsoft.com/en-us/wdsi/threats/description?Name=Exploit:O97M/DDEDownloader.A",
    "",
]


@pytest.mark.parametrize(("text", "expected"), MRN_CASES)
def test_mrn_after_label_is_replaced_and_label_kept(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), ID_CASES)
def test_account_numbers_and_standalone_long_numbers_become_id(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), DOB_CASES)
def test_date_after_birth_label_becomes_dob(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), DATE_CASES)
def test_other_full_dates_become_date(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), PHONE_CASES)
def test_phone_number_is_replaced_and_extension_kept(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), SSN_AND_EMAIL_CASES)
def test_ssn_and_email_are_replaced(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), NAME_CASES)
def test_name_after_patient_cue_or_honorific_is_replaced(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), EVASION_CASES)
def test_evasions_are_normalised_before_matching(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), SAFE_HARBOR_CASES)
def test_safe_harbor_identifiers_that_matter_in_it_chat_are_replaced(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_every_unicode_format_character_inside_an_mrn_is_seen_through() -> None:
    format_characters = [
        chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"
    ]

    survivors = [hex(ord(ch)) for ch in format_characters if scrub_text(f"MRN 0048{ch}2913") != "MRN [MRN]"]

    assert survivors == []


def test_text_around_an_identifier_keeps_its_format_characters() -> None:
    text = "\u200fEpic\u200b froze \u2066MRN 0048\u200b2913\u2069 on 4\u00a0West 👩🏽\u200d⚕️"

    assert scrub_text(text) == "\u200fEpic\u200b froze \u2066MRN [MRN]\u2069 on 4\u00a0West 👩🏽\u200d⚕️"


@pytest.mark.parametrize("text", KEPT_CASES)
def test_non_phi_is_kept_unchanged(text: str) -> None:
    result = scrub(text)

    assert result.text == text
    assert result.counts == {}
    assert not result.changed


@pytest.mark.parametrize(("text", "expected"), REPLACED_CASES)
def test_scrubbing_scrubbed_text_changes_nothing(text: str, expected: str) -> None:
    again = scrub(scrub_text(text))

    assert again.text == expected
    assert not again.changed


def test_contract_mrn_digits_vanish() -> None:
    assert "00482913" not in scrub_text("MRN 00482913")


def test_counts_report_how_many_of_each_kind_were_replaced() -> None:
    text = (
        "pt John Carter MRN 00482913 dob 3/14/62 cell 555-123-4567, wife on (555) 765-4321, "
        "SSN 123-45-6789, j.carter@example.org, admitted 11/02/2026, acct 123456789"
    )

    result = scrub(text)

    assert result.counts == {
        "NAME": 1,
        "MRN": 1,
        "DOB": 1,
        "PHONE": 2,
        "SSN": 1,
        "EMAIL": 1,
        "DATE": 1,
        "ID": 1,
    }
    assert result.changed


def test_changed_is_false_when_nothing_was_replaced() -> None:
    assert not scrub("printer on 4B is jammed").changed


def test_result_holds_only_the_scrubbed_text_and_counts() -> None:
    assert [field.name for field in dataclasses.fields(ScrubResult)] == ["text", "counts"]


def test_scrub_text_is_the_text_of_scrub() -> None:
    text = "pt jane doe dob 3/14/62 on 10.20.4.17"

    assert scrub_text(text) == scrub(text).text == "pt [NAME] dob [DOB] on 10.20.4.17"


def test_ip_address_and_hex_code_next_to_phi_are_kept_intact() -> None:
    text = "MRN 00482913 on 10.20.4.17 gave 0x80070005, call 555-123-4567 x4357"

    assert scrub_text(text) == "MRN [MRN] on 10.20.4.17 gave 0x80070005, call [PHONE] x4357"


def test_every_line_of_a_multiline_message_is_scrubbed() -> None:
    text = "Epic froze\nMRN 1234567\npatient Jane Doe\r\nDOB 1/2/1950\n"

    assert scrub_text(text) == "Epic froze\nMRN [MRN]\npatient [NAME]\r\nDOB [DOB]\n"


def test_identifiers_typed_without_spaces_are_all_replaced() -> None:
    assert scrub_text("MRN:1234567DOB:03/14/1962 cb555-123-4567") == "MRN:[MRN]DOB:[DOB] cb[PHONE]"


def test_unicode_emoji_and_control_characters_pass_through_untouched() -> None:
    text = "🙂 pt José Núñez\x00\u202e ünïcødé \x07\ttab ١٢٣ 👩🏽‍⚕️"

    assert scrub_text(text) == "🙂 pt [NAME]\x00\u202e ünïcødé \x07\ttab ١٢٣ 👩🏽‍⚕️"


_FIFTY_KB = 50_000
_LARGE_INPUTS = {
    "chat": ("pt John Carter MRN 00482913 dob 3/14/62 call 555-123-4567 on 10.20.4.17 error 0x45. " * 600),
    "digits": "1" * _FIFTY_KB,
    "digits then letter": "1" * _FIFTY_KB + "a",
    "letters": "a" * _FIFTY_KB,
    "spaces": " " * _FIFTY_KB,
    "cues": "pt " * (_FIFTY_KB // 3),
    "honorifics": "Mr. " * (_FIFTY_KB // 4),
    "labels": "mrn dob acct " * (_FIFTY_KB // 13),
    "at signs": "a@" * (_FIFTY_KB // 2),
    "dotted": "1." * (_FIFTY_KB // 2),
    "slashed": "1/" * (_FIFTY_KB // 2),
    "local part without domain": "a." * (_FIFTY_KB // 2) + "@",
    "emoji and controls": "\x00\u202e🙂" * (_FIFTY_KB // 3),
    "zero-width between digits": "\u200b1" * (_FIFTY_KB // 2),
    "spaced digits after a label": "MRN " + "1 " * (_FIFTY_KB // 2),
    "spelled digits after a label": "MRN " + "zero " * (_FIFTY_KB // 5),
    "spelled e-mail parts": "a.b at c dot " * (_FIFTY_KB // 13),
    "web addresses": "http://" * (_FIFTY_KB // 7),
    "ages": "94 years old " * (_FIFTY_KB // 13),
    "fullwidth labels": "ＭＲＮ１２３４５６７ " * (_FIFTY_KB // 11),
    "random": "".join(random.Random(1).choice("0123456789 .-/:@+()#aAxX,\n\t") for _ in range(_FIFTY_KB)),
}


@pytest.mark.parametrize("text", _LARGE_INPUTS.values(), ids=_LARGE_INPUTS.keys())
def test_fifty_kilobyte_input_is_scrubbed_well_under_a_second(text: str) -> None:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        scrub(text)
        timings.append(time.perf_counter() - started)

    assert min(timings) < 0.5


# --- property: seeded identifiers never survive, the rest of the message always does ---------

_FIRST_NAMES = ["John", "Maria", "Wei", "Aisha", "José", "Olivia", "Liam", "Fatima", "Noah", "Will", "Priya"]
_LAST_NAMES = ["Carter", "Nguyen", "O'Neil", "Smith-Jones", "García", "Patel", "Okafor", "Johansson", "Kim"]
_NAME_FORMS = [
    "pt {first} {last}",
    "patient {first} {last}",
    "Pt {last}, {first}",
    "patient name: {first} {last}",
    "pt {first_lower} {last_lower}",
    "Mrs. {last}",
]
_DOB_FORMS = ["%m/%d/%Y", "{m}/{d}/%y", "%Y-%m-%d", "%d %B %Y", "%B %d, %Y", "%d-%b-%Y"]
_PHONE_FORMS = ["{a}-{e}-{n}", "({a}) {e}-{n}", "{a}.{e}.{n}", "+1 {a} {e} {n}"]
# (template, non-PHI fragments that must survive verbatim)
_TEMPLATES = [
    (
        "{name} MRN {mrn} can't print wristband on PRN-4B-LBL01, error 0x80070005",
        ["can't print wristband on PRN-4B-LBL01, error 0x80070005"],
    ),
    (
        "{name} dob {dob} in room 4B, bcma scanner at 10.20.4.17 not reading",
        ["in room 4B, bcma scanner at 10.20.4.17 not reading"],
    ),
    (
        "Please call {phone} about {name} (MRN: {mrn}), ext 2201 if no answer",
        ["Please call", "about", "), ext 2201 if no answer"],
    ),
    (
        "Epic v2.13.0 froze while charting on {name}, DOB: {dob}, mrn {mrn}",
        ["Epic v2.13.0 froze while charting on"],
    ),
    (
        "{name} - callback {phone} - Windows 11 23H2 laptop, error 1603",
        ["Windows 11 23H2 laptop, error 1603"],
    ),
    (
        "re {mrn} dob {dob}: pyxis drawer 3 stuck at 03:14 for {name}, x4357 has no answer",
        ["pyxis drawer 3 stuck at 03:14 for", "x4357 has no answer"],
    ),
]


_HIDDEN = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")


def _synthetic_messages(count: int) -> list[tuple[str, list[str], list[str]]]:
    """Messages built from the templates: (message, seeded identifiers, non-PHI fragments)."""
    rng = random.Random(7)
    messages: list[tuple[str, list[str], list[str]]] = []
    for _ in range(count):
        template, fragments = rng.choice(_TEMPLATES)
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        name = rng.choice(_NAME_FORMS).format(
            first=first, last=last, first_lower=first.lower(), last_lower=last.lower()
        )
        mrn = f"{rng.randrange(10**7):0{rng.choice([7, 8])}d}"
        born = date(1920, 1, 1) + timedelta(days=rng.randrange(365 * 100))
        dob = born.strftime(rng.choice(_DOB_FORMS).format(m=born.month, d=born.day))
        phone = rng.choice(_PHONE_FORMS).format(
            a=rng.randint(201, 989), e=rng.randint(200, 999), n=f"{rng.randrange(10_000):04d}"
        )
        message = template.format(name=name, mrn=mrn, dob=dob, phone=phone)
        seeded = [
            value for value in (first, last, mrn, dob, phone) if value in message or value.lower() in message
        ]
        messages.append((message, seeded, fragments))
    return messages


def test_seeded_identifiers_never_survive_and_the_rest_of_the_message_does() -> None:
    for message, seeded, fragments in _synthetic_messages(200):
        scrubbed = scrub_text(message)

        for value in seeded:
            pattern = rf"(?<!\w){re.escape(value)}(?!\w)"
            assert re.search(pattern, scrubbed, re.IGNORECASE) is None, (message, scrubbed, value)
        for fragment in fragments:
            assert fragment in scrubbed, (message, scrubbed, fragment)


def test_seeded_identifiers_never_survive_format_characters_sprinkled_into_them() -> None:
    rng = random.Random(11)
    for message, seeded, _ in _synthetic_messages(200):
        sprinkled = "".join(
            ch + (rng.choice("\u00ad\u200b\u200c\u200d\u200e\u2060\ufeff") if rng.random() < 0.2 else "")
            for ch in message
        )

        seen = _HIDDEN.sub("", scrub_text(sprinkled))

        for value in seeded:
            pattern = rf"(?<!\w){re.escape(value)}(?!\w)"
            assert re.search(pattern, seen, re.IGNORECASE) is None, (message, seen, value)
