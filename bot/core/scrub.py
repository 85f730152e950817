"""PHI scrubbing: replace patient identifiers in chat text with placeholders.

Staff sometimes paste patient details into chat by mistake. Every message goes through
:func:`scrub` before anything of it is stored, logged or forwarded. The scrubber is pure (no I/O
once the lists of names it reads from installed packages are loaded, on first use), never raises
on any ``str``, runs in time linear in the input, and is idempotent: scrubbing scrubbed text
changes nothing. Labels are kept and only the value is replaced ("MRN 00482913" -> "MRN [MRN]"),
so a reader still knows what was there.

Rules match a normalised copy of the text, so that the ways an identifier can be disguised, on
purpose or by a phone's keyboard, do not hide it: Unicode format characters (category Cf:
zero-width space and joiner, soft hyphen, bidi marks) are ignored, other spaces (no-break, thin)
count as spaces, and fullwidth forms ("ＭＲＮ ００４８") as their ASCII twins. What is kept is
given back from the original, character for character; a placeholder replaces the whole of what
it covers, format characters inside it included.

What is replaced, by placeholder:

- ``[EMAIL]`` any e-mail address, also with "at" and "dot" written out or bracketed
  ("j.doe.rt2 at hospital dot org", "jdoe[at]hospital(dot)org", "j_doe at grace.org"; with a
  plain " at " and real dots the part before it must look like an address: "logged in at
  mychart.grace.org" stays).
- ``[SSN]`` ``123-45-6789`` and ``123 45 6789``; and any number after "SSN", "SS#" or
  "social security".
- ``[MRN]`` the value after a medical-record label: "MRN 00482913", "mrn:1234567", "MR# 1234567",
  "MR no 1234567", "medical record number 123456", "med rec # E123456", "chart 123456",
  "chart # 123456", "hospital number 123456". A letter prefix of up to three letters goes with the
  digits. After any label below (MRN, SSN, phone, account and the other patient numbers) the
  value is one number even when written in groups ("MRN 0048 2924", "004-829-14", "0048.2924"),
  digit by digit ("0 0 4 8"), or in words ("MRN is zero zero four eight two nine one three",
  "oh" for zero, "double oh"), as long as it holds four digits or more. An upper-case label may
  be glued to the word before it ("chartMRN04857211") or to the number ("MRN#0048").
- ``[ID]`` the value after another patient-number label: "acct", "account", "FIN", "CSN", "HAR",
  "encounter", "enc", "visit", "admission", "episode", "patient id", "pt #", "MPI", "EMPI",
  "member id", "subscriber id", "policy", "insurance id", "claim", "accession", "specimen",
  "NHS number". Also every other run of six or more digits standing on its own (not part of a
  word, an IP address, a decimal, a hex code or a dashed name): in a hospital chat it is most likely
  an MRN or an account number and the scrubber cannot tell which, so it says no more than it knows.
  A 16-digit card-like number (``1234-5678-9012-3456``) too.
- ``[DOB]`` a date after a birth label ("dob", "DOB:", "d.o.b.", "date of birth", "birth date",
  "birthdate", "birthday", "born", "born on", "born in"), in any common form, partial ones included:
  "3/14/62", "1962-03-14", "14 March 1962", "March 14, 1962", "14-MAR-1962", "03141962",
  "3/14", "March 1962", "1962".
- ``[DATE]`` every other full date (day, month and year): "admitted 11/02/2026", "2026-02-11",
  "14 Mar 2026", "March 14th, 2026". HIPAA counts admission, discharge and death dates as
  identifiers; the scrubber cannot tell a patient's admission date from the date of an upgrade, and
  IT rarely needs the exact day, so every full date goes. Numeric dates must be plausible
  (a month 1-12, a day 1-31, a four-digit year 1900-2099); dotted ones need a four-digit year
  so that versions such as "2.13.10" survive.
- ``[PHONE]`` North American numbers written with separators ("555-123-4567", "(555) 123-4567",
  "555.123.4567", "+1 555 123 4567", "1-555-123-4567"); international numbers starting with "+"
  (8 to 15 digits); 10 or 11 digits after a phone label ("cell 5551234567", "cb: 555-123-4567").
- ``[NAME]`` one or two name-like words, with any initials ("J.", "j"), after a cue: "patient",
  "pt", "pt.", "patient name:", "pt name is", "patient's name" (any case; not "pt" after a number,
  as in "12 pt font"), and "Mr", "Mrs", "Mx" (any case, "MR" only as "MR." so the "MR scanner"
  stays), "Ms", "Miss" (as written, so "MS Teams" stays), with or without a period. "Last, First"
  and "Last, First Middle" are taken whole. A word is name-like when it is letters of any script
  with inner apostrophes or hyphens ("O'Neil-Brown", "Núñez"), not lowercase-then-capital
  ("iPad"), and not in a list of common English, IT and clinical words, so "patient portal",
  "pt can't log in", "patient is waiting", "pt in room 4" and "Ms Teams" keep every word. After a
  capitalised first word a second is taken only if capitalised too ("pt John needs a band");
  after a lowercase one ("patient jane doe") either. "Miss" needs a capitalised name. Given names
  that are also common words ("Will", "May", "Hope") count only before a surname
  ("pt Will Smith") or after a comma ("Carter, Will"). The cue may be glued to a capitalised
  name by its period ("Mrs.Oberholtzer"). Once a cue has shown a word to be the patient's name,
  that word is replaced wherever else the message has it ("patient Reyes-Villalobos, also charted
  as Reyes Villalobos" -> "patient [NAME], also charted as [NAME]").
  Names with no cue are replaced too (:mod:`bot.core.names`), from lists of first names and
  surnames of many origins (Faker's person providers) and the message's own evidence:
  "can't open the chart for Rosa Mendez", "Lopez, Maria", "Tomasz Nowak's MRI" (the possessive
  stays: "[NAME]'s MRI"), "J. Kaminski", "Priya Raghunathan" (a word in no list beside one that
  is), and in lower case "chart for rosa mendez" when one of the words is a name that is no
  English word. A single capitalised word needs an initial, a possessive, or to be a name that is
  no English word ("ask Nguyen"). Systems, products, units, places, languages and everyday IT
  words (:mod:`bot.core.name_vocabulary`, plus a site's own words given with
  :func:`bot.core.name_vocabulary.use_site_vocabulary`) are never names; "Will", "May", "Grace"
  count only before a surname; a name after "Dr" or "St", before "from IT", or before "Hospital",
  "Clinic", "West"... is kept.
- ``[AGE]`` an age over 89 (HIPAA's Safe Harbor keeps younger ones): "a 94-year-old",
  "94 yo", "97 y/o", "aged 101", "age: 92". Younger ages are kept.
- ``[URL]`` a web address that holds a patient's number or details: a path segment after
  "patient", "pt", "person", "member", "chart", "mrn", "encounter", "csn" or "fin" with a digit in
  it ("https://mychart.example/patient/994201"), or a query value named for one ("?mrn=",
  "?patientId=", "?dob=", "?last_name="). The whole address goes: its host and path are most of
  what identifies it. Other addresses are kept ("https://grace.org/patient/portal/login").

What is deliberately kept: IP addresses ("10.20.4.17"), hex and error codes ("0x80070005",
"error 1603"), versions ("v2.13.0", "Windows 11 23H2"), room and bed numbers ("room 4B",
"bed 12"), times ("03:14", "09:12:33"), extensions ("x4357", "ext 2201", "call 4357"), printer and
device names ("PRN-4B-LBL01"), numbers of five digits or fewer, partial dates ("11/02",
"March 2026") and years outside a birth label, local seven-digit numbers ("555-1234"), logins
after "account" ("account ab12345 locked"), and long numbers right after an IT word ("error",
"code", "exit", "hresult", "event", "kb", "build", "version", "port", "ticket", "incident", "inc",
"request", "ritm", "task", "change", "chg", "asset", "serial", "sn", "tag", "ext", "extension"):
"ticket 1234567" stays for IT to find.
Doctors ("Dr. Patel") and the IT agent the bot names ("Dana from IT") are kept; other staff
named without a cue ("Sarah from registration") go like any name, since nothing tells them from
a patient.

Known limits: a name with no cue that the lists miss and nothing beside it gives away ("ask
Oyelaran", a first name alone at the start of a sentence, "Priyanka"), a name that is also an
English or everyday word on its own ("Singh in bed 8", "Sunny"), Vietnamese and Chinese names
written with particles or month names ("nguyen van an", "Jun Huang"), a date
written in words ("the third of July"), street addresses, towns and ZIP codes, and web
addresses naming a person without a patient key ("/u/marisol") are not recognised. Device serials,
IP addresses and other codes are kept on purpose; docs/phi-scrubbing.md gives the decision for each
Safe Harbor category. Staff should still be told not to paste patient details.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from bot.core.name_vocabulary import EVERYDAY_WORDS as _STOPWORDS
from bot.core.names import find_names

__all__ = ["ScrubResult", "scrub", "scrub_text"]


@dataclass(frozen=True)
class ScrubResult:
    """The scrubbed text and how many identifiers of each kind were replaced.

    It never holds the original text. ``counts`` maps a placeholder kind without brackets
    ("MRN", "DOB", "PHONE", "SSN", "EMAIL", "NAME", "DATE", "ID", "AGE", "URL") to a positive count; kinds not
    found are absent.
    """

    text: str
    counts: dict[str, int]

    @property
    def changed(self) -> bool:
        """True when at least one identifier was replaced."""
        return any(self.counts.values())


def scrub(text: str) -> ScrubResult:
    """Replace the patient identifiers in ``text`` with placeholders such as ``[MRN]``.

    Promises: never raises on any string (Unicode, emoji and control characters included), runs
    in time linear in ``len(text)``, leaves everything it does not replace character for character as it
    was, and is idempotent. What is replaced and what is kept is listed in this module's docstring.
    """
    counts: Counter[str] = Counter()
    work, origin = _normalise(text)
    # Only a normalised text needs to know where each of its characters came from.
    spans = None if origin is None else _Spans(origin, [at + 1 for at in origin])
    # A replacement can free an identifier glued to it ("555-123-4567+555-765-4321"), so a round
    # that found something is followed by another, up to a fixed number of rounds.
    for _ in range(_ROUNDS):
        found = counts.total()
        for pattern, classify in _RULES:
            work = _replace(pattern, classify, work, counts, spans)
        work = _replace_names(work, counts, spans)
        if counts.total() == found:
            break
    # Names with no cue go last, once: what the rules replaced is no longer there to be mistaken.
    work = _replace_uncued_names(work, counts, spans)
    if spans is not None:
        work = _restore(text, work, spans)
    return ScrubResult(text=work, counts=dict(counts))


def scrub_text(text: str) -> str:
    """Return ``text`` with patient identifiers replaced: the same as ``scrub(text).text``."""
    return scrub(text).text


# --- normalisation ---------------------------------------------------------------------------
# Rules match a normalised copy of the text: Unicode format characters (category Cf: zero-width
# space and joiner, soft hyphen, bidi marks...) removed, other spaces made " ", fullwidth ASCII
# made ASCII. Each character of the copy remembers where it came from, so that what is kept is
# given back from the original, character for character, and a placeholder covers the whole of
# what it replaced, format characters inside it included.

_FORMAT_CHARS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_SPACES = "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_FULLWIDTH = "\uff01-\uff5e"
_UNUSUAL = re.compile(f"[{_FORMAT_CHARS}]|(?P<space>[{_SPACES}])|(?P<wide>[{_FULLWIDTH}])")


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """The text rules match, and for each of its characters its index in ``text`` (None: the same)."""
    if text.isascii() or _UNUSUAL.search(text) is None:
        return text, None
    pieces: list[str] = []
    origin: list[int] = []
    done = 0
    for match in _UNUSUAL.finditer(text):
        at = match.start()
        pieces.append(text[done:at])
        origin.extend(range(done, at))
        if match.group("space") is not None:
            pieces.append(" ")
            origin.append(at)
        elif match.group("wide") is not None:
            pieces.append(chr(ord(text[at]) - 0xFEE0))
            origin.append(at)
        done = match.end()
    pieces.append(text[done:])
    origin.extend(range(done, len(text)))
    return "".join(pieces), origin


@dataclass
class _Spans:
    """For each character of a normalised text, the slice of the original it stands for.

    A kept character stands for one original character; each character of a placeholder stands
    for the whole slice the placeholder replaced.
    """

    starts: list[int]
    ends: list[int]

    def edit(self, edits: list[tuple[int, int, int]]) -> None:
        """Follow ``edits`` (start, end, length of the placeholder) made, in order, to the text."""
        starts: list[int] = []
        ends: list[int] = []
        done = 0
        for start, end, length in edits:
            starts += self.starts[done:start]
            ends += self.ends[done:start]
            first, last = self.starts[start], self.ends[end - 1]
            starts += [first] * length
            ends += [last] * length
            done = end
        starts += self.starts[done:]
        ends += self.ends[done:]
        self.starts, self.ends = starts, ends


def _restore(original: str, scrubbed: str, spans: _Spans) -> str:
    """``scrubbed`` with every kept character (and the format characters around it) from ``original``."""
    pieces: list[str] = []
    done = i = 0
    while i < len(scrubbed):
        start, end = spans.starts[i], spans.ends[i]
        run = i + 1
        while run < len(scrubbed) and spans.starts[run] == start and spans.ends[run] == end:
            run += 1
        pieces.append(original[done:start])
        # Placeholders are several characters long; a kept character is alone with its slice.
        pieces.append(scrubbed[i:run] if run - i > 1 else original[start:end])
        done, i = end, run
    pieces.append(original[done:])
    return "".join(pieces)


_ROUNDS = 3

_Classifier = Callable[[re.Match[str]], str | None]

_LETTER = r"[^\W\d_]"  # a letter of any script

_EMAIL = re.compile(r"(?<![\w.+\-])(?P<v>[\w.+\-]++@[\w\-]++(?:\.[\w\-]++)+)")

_SSN = re.compile(r"(?<![\d_\-.])(?P<v>\d{3}(?P<ss>[\- ])\d{2}(?P=ss)\d{4})(?!\d|[\-.]\d)")

# "j.doe.rt2 at hospital dot org", "jdoe[at]hospital(dot)org", "jdoe (at) hospital.org".
_SPELLED_AT = r"(?:[ \t]*(?P<bracketed>[\[({<][ \t]*at[ \t]*[\])}>])[ \t]*|[ \t]+at[ \t]+)"
_SPELLED_DOT = r"(?:[ \t]*[\[({<][ \t]*dot[ \t]*[\])}>][ \t]*|[ \t]+dot[ \t]+|\.)"
_SPELLED_EMAIL = re.compile(
    rf"""(?<![\w.+\-])(?P<v>(?P<local>[\w+\-]++(?:\.[\w+\-]++)*+){_SPELLED_AT}
    (?P<domain>[a-z0-9\-]++(?:{_SPELLED_DOT}[a-z0-9\-]++)*?{_SPELLED_DOT}[a-z]{{2,24}}))(?![\w\-])""",
    re.IGNORECASE | re.VERBOSE,
)
_SPELLED_DOT_IN = re.compile(r"[ \t\[({<]dot", re.IGNORECASE)
_LOCAL_PART_MARKS = re.compile(r"\w[._+]\w|\d")

# Ages over 89: "a 94-year-old", "94 yo", "94 y/o", "aged 94", "age: 101".
_AGE = re.compile(
    rf"""(?<![\w.\-/])(?P<v>(?:9\d|1[0-2]\d)
    [ \t\-]{{0,2}}(?:years?|yrs?|y/o|y\.o\.?|yo[fm]?)(?:[ \t\-]{{0,2}}old)?)(?!{_LETTER})(?![ \t]+ago)""",
    re.IGNORECASE | re.VERBOSE,
)
_AGE_LABELLED = re.compile(
    rf"""(?<!{_LETTER})age[ds]?(?!{_LETTER})
    (?:[ \t]{{0,3}}(?:[:=\-]|(?:is|of|was)(?!{_LETTER}))){{0,2}}[ \t]{{0,3}}
    (?P<v>9\d|1[0-2]\d)(?!\d|[.,:/]\d)""",
    re.IGNORECASE | re.VERBOSE,
)

# An identifier inside a web address: "https://mychart.example/patient/994201", "?mrn=00482913".
_URL = re.compile(r"(?<![\w/])(?P<v>(?:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]])", re.IGNORECASE)
_URL_VALUE = re.compile(
    r"""
    /(?:patients?|pt|pts|persons?|people|members?|charts?|mrns?|encounters?|csn|fin)/
        [^/?#&;]*\d
  | [?&;](?P<key>(?:patient|pat|pt|person|member|encounter|chart)[_\-]?(?:id|num|no|number)?|pid|mrn|csn|fin
        |dob|birth[_\-]?date|ssn|(?:first|last|full|patient|pt)[_\-]?name|fname|lname)=[^&#;]
    """,
    re.IGNORECASE | re.VERBOSE,
)

# A digit written as a word: "MRN is zero zero four eight two nine one three", "oh" for 0.
_DIGIT_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|niner)"
_DIGIT_TOKEN = rf"(?:\d++(?![:/]\d)|(?:(?:double|triple)[ \t\-])?{_DIGIT_WORD}(?!{_LETTER}))"
_DIGIT_TOKENS = re.compile(rf"(?P<times>double|triple)?[ \t\-]?(?P<word>{_DIGIT_WORD})|\d", re.IGNORECASE)
# Upper-case labels that may be glued to the word before them: "chartMRN04857211".
_GLUED_LABELS = r"MRN|MR\#|SSN|FIN|CSN|HAR|MPI|EMPI|ACCT"

_LABELLED = re.compile(
    rf"""
    (?:(?<!{_LETTER})|(?<=[a-z])(?=(?-i:{_GLUED_LABELS})(?!{_LETTER})))
    (?:
        (?P<mrn>mrn|mr[ \t]?\#|mr[ \t]?(?:no|num|number)
            |medical[ \t]record(?:[ \t](?:number|num|no|\#))?|med[ \t]?rec(?:[ \t](?:number|num|no|\#))?
            |chart(?:[ \t]?(?:number|num|no|\#))?|record[ \t]?(?:number|num|no|\#)
            |hospital[ \t](?:number|num|no))
      | (?P<ssn>ssn|ss\#|social[ \t]security(?:[ \t](?:number|num|no))?)
      | (?P<phone>phone|ph|tel|telephone|cell|mobile|cb|call[ \t]?back)
      | (?P<account>acct|acc|account)
      | (?P<id>fin|csn|har|enc|encounter|visit|admission|adm|episode|(?:patient|pt)[ \t]?(?:id|\#)
            |e?mpi|member(?:[ \t]id)?|subscriber(?:[ \t]id)?|policy|insurance[ \t]id|claim
            |accession|specimen|nhs(?:[ \t]number)?)
    )
    (?!{_LETTER})
    (?:[ \t]{{0,3}}(?:[:\#=\-–.]|(?:no|num|nbr|number|is|was|of|id)(?!\w))){{0,3}}[ \t]{{0,3}}
    # One number, even when written in groups ("0048 2924", "004-829-14", "0048.2924"), digit by
    # digit ("0 0 4 8") or in words; a letter prefix of up to three letters goes with it.
    (?P<v>(?:(?P<prefix>[A-Za-z]{{1,3}})-?)?{_DIGIT_TOKEN}
        (?:(?:[ \t]{{1,2}}|[ \t]?[\-–][ \t]?|\.|,[ \t]?(?!\d)){_DIGIT_TOKEN})*)
    (?!\d)
    """,
    re.IGNORECASE | re.VERBOSE,
)

_MONTH = (
    rf"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    rf"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?!{_LETTER})"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_FULL_DATE_FORMS = rf"""
    (?P<a>\d{{1,2}})(?P<s>[/\-.])(?P<b>\d{{1,2}})(?P=s)(?P<y>\d{{4}}|\d{{2}})
  | (?P<iy>\d{{4}})(?P<isep>[/\-.])(?P<im>\d{{1,2}})(?P=isep)(?P<id>\d{{1,2}})
  | (?P<dd>\d{{1,2}}){_ORDINAL}(?:[ \t]{{1,3}}of)?(?P<dsep>[ \t\-/]{{0,3}}){_MONTH},?[ \t\-/]{{0,3}}
    (?P<dy>\d{{4}}|\d{{2}})
  | {_MONTH}[ \t]{{0,3}}(?P<md>\d{{1,2}}){_ORDINAL},?[ \t]{{1,3}}(?P<my>\d{{4}})
"""
_FULL_DATE = re.compile(
    rf"(?<![\w./:\-])(?P<v>{_FULL_DATE_FORMS})(?![^\WT]|[/\-.:]\d)", re.IGNORECASE | re.VERBOSE
)

_DOB = re.compile(
    rf"""
    (?<!{_LETTER})(?:d\.?o\.?b\.?|date[ \t]of[ \t]birth|birth[ \t]?date|birthday|b-?day|born)(?!{_LETTER})
    (?:[ \t]{{0,3}}(?:[:=\-–]|(?:is|was|of|on|in)(?!\w))){{0,2}}[ \t]{{0,3}}
    (?P<v>
        {_FULL_DATE_FORMS}
      | \d{{6,8}}
      | {_MONTH}[ \t]{{0,3}}\d{{1,2}}{_ORDINAL}(?!\w)
      | \d{{1,2}}{_ORDINAL}[ \t\-/]{{0,3}}{_MONTH}
      | {_MONTH},?[ \t]{{0,3}}\d{{4}}
      | \d{{1,2}}[/\-]\d{{1,2}}
      | (?:19|20)\d{{2}}
    )
    (?!\d)
    """,
    re.IGNORECASE | re.VERBOSE,
)

_PHONE = re.compile(
    r"""
    (?<![\d_+\-.])
    (?P<v>
        (?:\+?1[ \t.\-]?)?(?:\(\d{3}\)[ \t]?|\d{3}[ \t.\-])\d{3}[ \t.\-]\d{4}
      | (?P<intl>\+\d{1,3}(?:[ \t.\-]?\d{1,4}){2,5})
    )
    (?!\d|[\-.]\d)
    """,
    re.VERBOSE,
)

_CARD = re.compile(r"(?<![\w\-])(?P<v>\d{4}(?P<cs>[ \-])\d{4}(?P=cs)\d{4}(?P=cs)\d{4})(?![\w\-])")

_BARE_NUMBER = re.compile(r"(?<![\w.:/\-+$€£@])(?P<v>\d{6,}+)(?![\w\-@]|[.,:/]\d)")

_WORD_BEFORE = re.compile(r"([^\W\d_]+)[ \t]{0,3}[:#]?[ \t]{0,3}\Z")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_IT_NUMBER_WORDS = _words(
    """error err code exit hresult status event kb build version ver port ticket incident inc
    request req ritm task sctask change chg asset serial sn tag ext extension"""
)


def _replace(
    pattern: re.Pattern[str], classify: _Classifier, text: str, counts: Counter[str], spans: _Spans | None
) -> str:
    """Replace group ``v`` of each match that ``classify`` gives a kind, counting by kind."""
    edits: list[tuple[int, int, int]] = []

    def substitute(match: re.Match[str]) -> str:
        kind = classify(match)
        if kind is None:
            return match.group(0)
        counts[kind] += 1
        placeholder = f"[{kind}]"
        edits.append((match.start("v"), match.end("v"), len(placeholder)))
        start, end = match.start("v") - match.start(), match.end("v") - match.start()
        whole = match.group(0)
        return f"{whole[:start]}{placeholder}{whole[end:]}"

    result = pattern.sub(substitute, text)
    if spans is not None and edits:
        spans.edit(edits)
    return result


def _digits(value: str) -> int:
    return sum(ch.isdigit() for ch in value)


def _classify_url(match: re.Match[str]) -> str | None:
    # Keeping the host would keep most of the address: once it holds a patient's number, it all goes.
    return "URL" if _URL_VALUE.search(match.group("v")) is not None else None


def _digit_count(value: str) -> int:
    """How many digits ``value`` holds, digits written as words ("double zero" is two) included."""
    count = 0
    for token in _DIGIT_TOKENS.finditer(value):
        times = (token.group("times") or "").lower()
        count += _TIMES.get(times, 1)
    return count


_TIMES = {"double": 2, "triple": 3}


def _classify_labelled(match: re.Match[str]) -> str | None:
    value = match.group("v")
    digits = _digit_count(value)
    if digits < 4:
        return None
    if match.group("mrn") is not None:
        return "MRN"
    if match.group("ssn") is not None:
        return "SSN"
    if match.group("phone") is not None:
        return "PHONE" if digits in (10, 11) else None
    date = _FULL_DATE.fullmatch(value)
    if date is not None and _classify_full_date(date) is not None:
        return "DATE"
    if match.group("account") is not None and match.group("prefix") is not None:
        return None  # "account ab12345" is usually a staff login, which IT needs
    return "ID"


def _classify_full_date(match: re.Match[str]) -> str | None:
    group = match.group
    if group("a") is not None:
        first, second, year = int(group("a")), int(group("b")), group("y")
        if group("s") == "." and len(year) != 4:
            return None
        plausible = (1 <= first <= 12 and 1 <= second <= 31) or (1 <= second <= 12 and 1 <= first <= 31)
        return "DATE" if plausible and (len(year) == 2 or 1900 <= int(year) <= 2099) else None
    if group("iy") is not None:
        ok = 1900 <= int(group("iy")) <= 2099 and 1 <= int(group("im")) <= 12 and 1 <= int(group("id")) <= 31
        return "DATE" if ok else None
    if group("dd") is not None:
        if len(group("dy")) == 2 and "-" not in group("dsep") and "/" not in group("dsep"):
            return None  # "4 may 12" is too often not a date; "14-Mar-62" is one
        return "DATE" if 1 <= int(group("dd")) <= 31 else None
    return "DATE" if 1 <= int(group("md")) <= 31 else None


def _classify_spelled_email(match: re.Match[str]) -> str | None:
    domain = match.group("domain")
    if match.group("bracketed") is not None or _SPELLED_DOT_IN.search(domain):
        return "EMAIL"
    # "logged in at mychart.grace.org" is not an address, nor is "ex.Message at System.Net.Http"
    # from a stack trace; "j.doe at grace.org" is.
    looks_like_one = _LOCAL_PART_MARKS.search(match.group("local")) and domain.islower()
    return "EMAIL" if looks_like_one else None


def _classify_phone(match: re.Match[str]) -> str | None:
    if match.group("intl") is not None and not 8 <= _digits(match.group("intl")) <= 15:
        return None
    return "PHONE"


def _classify_bare_number(match: re.Match[str]) -> str | None:
    window = match.string[max(0, match.start() - 24) : match.start()]
    before = _WORD_BEFORE.search(window)
    if before is not None and before.group(1).lower() in _IT_NUMBER_WORDS:
        return None
    return "ID"


_RULES: tuple[tuple[re.Pattern[str], _Classifier], ...] = (
    (_URL, _classify_url),
    (_EMAIL, lambda _: "EMAIL"),
    (_SPELLED_EMAIL, _classify_spelled_email),
    (_SSN, lambda _: "SSN"),
    (_LABELLED, _classify_labelled),
    (_DOB, lambda _: "DOB"),
    (_PHONE, _classify_phone),
    (_CARD, lambda _: "ID"),
    (_FULL_DATE, _classify_full_date),
    (_BARE_NUMBER, _classify_bare_number),
    (_AGE, lambda _: "AGE"),
    (_AGE_LABELLED, lambda _: "AGE"),
)


# --- names -----------------------------------------------------------------------------------

_NAME_CUE = re.compile(
    r"""
    (?<!\w)
    (?:
        (?P<patient>(?:(?i:patient)|(?P<pt>(?i:pt)))(?:['’]?s)?\.?
            (?:[ \t]{1,3}(?i:name)(?:[ \t]{1,3}(?i:is|was))?)?)
      | (?P<honorific>(?:[Mm]rs?|MRS|Mx)\.?|MR\.|Ms\.?|Miss)
    )
    (?:[ \t]{0,3}[:=\-–][ \t]{0,3}|[ \t]{1,3}|(?<=\.)(?=[A-ZÀ-ÖØ-Þ]))  # "Mrs.Oberholtzer"
    """,
    re.VERBOSE,
)
_NAME_TOKEN = re.compile(rf"{_LETTER}{{1,40}}(?:['’\-]{_LETTER}{{1,40}}){{0,3}}(?!\w|['’\-]{_LETTER})")
_NAME_GAP = re.compile(r"[ \t]{0,2},[ \t]{0,3}|[ \t]{1,3}")

_AMBIGUOUS_GIVEN_NAMES = _words(
    "will may june april august hope grace joy rose faith dawn summer pat bill mark frank sue"
)


def _key(word: str) -> str:
    key = word.lower().replace("’", "'")
    return key[:-2] if key.endswith("'s") else key


def _name_shaped(word: str) -> bool:
    return len(word) >= 2 and not (word[0].islower() and not word.islower())


def _first_word(word: str, *, capital_required: bool) -> Literal["name", "maybe", "no"]:
    """Whether a word right after a cue is a name; "maybe" for "Will", "May", "Hope"..."""
    if not _name_shaped(word) or (capital_required and word[0].islower()):
        return "no"
    key = _key(word)
    if key not in _STOPWORDS:
        return "name"
    return "maybe" if key in _AMBIGUOUS_GIVEN_NAMES else "no"


def _next_name_word(word: str, first: str, *, last_first: bool) -> bool:
    if not _name_shaped(word):
        return False
    key, capitalised = _key(word), not word[0].islower()
    # In "Carter, Will" the comma says a given name follows, even one that is also a word.
    if key in _STOPWORDS and not (last_first and capitalised and key in _AMBIGUOUS_GIVEN_NAMES):
        return False
    return capitalised or first.islower()


def _name_tokens(text: str, pos: int) -> Iterator[tuple[str, int, bool, bool]]:
    """The next few words from ``pos``: (word, end, after a comma, is an initial)."""
    comma = False
    for _ in range(5):
        token = _NAME_TOKEN.match(text, pos)
        if token is None:
            return
        word, end = token.group(), token.end()
        dotted = text.startswith(".", end)
        # "a" and "i" are words, not initials, unless written "A." or "I."
        initial = len(word) == 1 and (dotted or word not in ("a", "i", "I"))
        end += 1 if initial and dotted else 0
        yield word, end, comma, initial
        gap = _NAME_GAP.match(text, end)
        if gap is None:
            return
        comma, pos = "," in gap.group(), gap.end()


def _name_end(text: str, pos: int, *, capital_required: bool) -> int | None:
    """Where the name starting at ``pos`` ends, or None when what follows is not a name."""
    words: list[str] = []
    name_end: int | None = None
    seen_comma = tentative = False
    for word, end, after_comma, initial in _name_tokens(text, pos):
        if after_comma and (seen_comma or not words):
            break
        if initial:
            if words and not tentative and text[end - 1] == ".":
                name_end = end
            continue
        if not words:
            verdict = _first_word(word, capital_required=capital_required)
            if verdict == "no":
                break
            tentative = verdict == "maybe"  # a name only if a surname follows
        elif _next_name_word(word, words[0], last_first=seen_comma or after_comma):
            tentative = False
        else:
            break
        seen_comma = seen_comma or after_comma
        words.append(word)
        name_end = None if tentative else end
        if len(words) == (3 if seen_comma else 2):
            break
    return name_end


def _replace_names(text: str, counts: Counter[str], spans: _Spans | None) -> str:
    """Replace the names after a cue, then the same names wherever else the message has them."""
    pieces: list[str] = []
    edits: list[tuple[int, int, int]] = []
    words: set[str] = set()
    done = 0
    for cue in _NAME_CUE.finditer(text):
        if cue.start() < done:
            continue
        if cue.group("pt") is not None and text[max(0, cue.start() - 3) : cue.start()].strip()[-1:].isdigit():
            continue  # "12 pt font": typographic points
        end = _name_end(text, cue.end(), capital_required=cue.group("honorific") == "Miss")
        if end is None:
            continue
        pieces += [text[done : cue.end()], "[NAME]"]
        edits.append((cue.end(), end, len("[NAME]")))
        words.update(_name_words(text[cue.end() : end]))
        counts["NAME"] += 1
        done = end
    if not edits:
        return text
    pieces.append(text[done:])
    if spans is not None:
        spans.edit(edits)
    text = "".join(pieces)
    if not words:
        return text
    # "patient Reyes-Villalobos, also charted as Reyes Villalobos": once a cue has shown that a
    # capitalised word is the patient's name, it goes wherever it appears, capitalised, in the message.
    forms = {form for word in words for form in (word, word.upper())}
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    again = re.compile(
        rf"(?<![\w'’\-])(?P<v>(?:{alternatives})(?:[ \t\-]{{1,3}}(?:{alternatives}))*)(?![\w\-])"
    )
    return _replace(again, lambda _: "NAME", text, counts, spans)


def _name_words(name: str) -> Iterator[str]:
    """The words of a replaced name worth looking for again: capitalised, no initials, no common words.

    A lowercase word after a cue ("patient activity") is too often a word, not a name, to be
    hunted through the rest of the message.
    """
    for token in _NAME_TOKEN.findall(name):
        for word in re.split(r"[\-'’]", token):
            key = _key(word)
            if (
                len(word) >= 2
                and word[0].isupper()
                and key not in _STOPWORDS
                and key not in _AMBIGUOUS_GIVEN_NAMES
            ):
                yield word


def _replace_uncued_names(text: str, counts: Counter[str], spans: _Spans | None) -> str:
    """Replace the names that no cue word announces ("chart for Rosa Mendez", "Lopez, Maria")."""
    found = find_names(text)
    if not found:
        return text
    pieces: list[str] = []
    done = 0
    for start, end in found:
        pieces += [text[done:start], "[NAME]"]
        done = end
    pieces.append(text[done:])
    counts["NAME"] += len(found)
    if spans is not None:
        spans.edit([(start, end, len("[NAME]")) for start, end in found])
    return "".join(pieces)
