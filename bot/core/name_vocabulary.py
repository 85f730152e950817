"""Words that are never a person's name in IT chat, even when a list of names holds them.

Systems and products ("Epic", "Citrix", "Vocera", "Teams", "Willow", "Cadence"), units and
places of a hospital ("ICU", "4 West", "Labor and Delivery", "Grace Hospital"), and the words IT
and clinical staff use every day. The packaged list covers what every hospital shares; a site's
own words (its knowledge base's vocabulary, its glossary's terms, its towns) are added at run
time with :func:`use_site_vocabulary`, so the scrubber needs no index to work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.name_lists import fold

__all__ = [
    "AMBIGUOUS_GIVEN_NAMES",
    "PLACE_WORDS",
    "TITLE_WORDS",
    "is_kept_word",
    "site_vocabulary",
    "use_site_vocabulary",
    "vocabulary_from_texts",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Systems, products, vendors and Epic's own module names, several of which are given names.
_PRODUCTS = _words(
    """
    epic hyperspace hyperdrive haiku canto rover mychart willow beaker cupid stork radiant cadence
    prelude resolute tapestry clarity caboodle cogito kaleidoscope optime asap bugsy phoenix beacon
    wisdom healthy planet grand central welcome identity bones orders inbasket brick
    citrix receiver workspace vdi vocera voalte ascom spok amcom pyxis omnicell cerner meditech
    allscripts athena athenahealth nextgen eclinicalworks imprivata onesign okta duo intune azure
    teams outlook excel word powerpoint onenote onedrive sharepoint windows office microsoft
    zoom webex jabber cisco meraki aruba globalprotect forticlient anyconnect chrome edge firefox
    safari adobe acrobat reader powerscribe dragon nuance dax powermic speechmike kronos workday
    servicenow jira confluence slack tigertext teletracking qgenda amion halo alaris
    sigma philips intellivue carescape hillrom stryker welch allyn dexcom medtronic sunquest
    zebra lexmark ricoh xerox canon brother sharp konica kyocera dell lenovo hp apple samsung google
    gmail ipad iphone android mac macbook surface thinkpad rauland tigerconnect doximity alexa siri
    cortana copilot chatgpt bing yahoo linux ubuntu vmware hyperv oracle sap peoplesoft ukg
    """
)
# Units, departments and places of a hospital.
_PLACES = _words(
    """
    icu nicu picu micu sicu cvicu ccu pacu ed er or ob gyn l&d nursery maternity labor delivery
    postpartum antepartum oncology cardiology radiology pharmacy pediatrics peds geriatrics psych
    psychiatry behavioral rehab dialysis endoscopy cath telemetry tele stepdown medsurg surgical
    surgery ortho neuro trauma burn women womens children childrens infants newborn hospice
    west east north south northwest northeast southwest southeast upper lower main central annex
    tower wing pavilion campus building bldg floor level lobby cafeteria atrium garage basement
    clinic hospital center centre medical health healthcare memorial general regional community
    university county city valley mercy providence sutter kaiser saint st sacred heart samaritan
    baptist methodist presbyterian adventist lutheran trinity
    """
)
# Everyday words of IT and clinical chat that name lists happen to hold.
_CHAT = _words(
    """
    patient patients pt pts nurse nurses doctor doctors dr md rn lpn cna np pa charge tech
    manager supervisor director admin administrator coordinator unit units room rooms bed beds
    bay suite desk station front back home work shift night day evening morning noon weekend
    help helpdesk service desk support team staff user users login password account badge
    printer scanner monitor pump label labels wristband chart charts order orders note notes
    error code system systems server network screen app apps phone phones cart carts device
    devices update upgrade downtime outage issue issues ticket tickets request access please
    thanks thank hi hello hey morning afternoon evening ok okay sorry urgent asap stat fyi
    cannot can't won't wont doesn't isn't still again now today tonight tomorrow yesterday
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december jan feb mar apr jun jul aug sep sept
    oct nov dec autumn winter spring
    """
)
# Given names that are also common words: a name only right before a surname ("Will Smith").
AMBIGUOUS_GIVEN_NAMES = _words(
    """
    will bill mark frank sue pat hope grace joy rose faith dawn summer may june april august
    christian sunny major sterling earnest ernest rich royal price king page case chase dean
    """
)
# Words that, right before a capitalised word, make it staff or a saint, not a patient.
TITLE_WORDS = _words("dr dr. doctor st st. saint prof professor")
# Words that, right after a capitalised run, make it a place: "Grace Hospital", "Mercy West".
PLACE_WORDS = _words(
    """
    hospital hospitals clinic clinics center centre campus building tower wing pavilion hall street
    st road rd avenue ave drive dr boulevard blvd lane way court medical health healthcare memorial
    regional general county city university college school church unit units floor west east north
    south office offices pharmacy lab labs institute foundation group associates llc inc
    """
)

_KEPT = _PRODUCTS | _PLACES | _CHAT
_site: frozenset[str] = frozenset()
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def is_kept_word(key: str) -> bool:
    """True when the folded word ``key`` is a system, unit, place or everyday IT word (never a name)."""
    return key in _KEPT or key in _site


def site_vocabulary() -> frozenset[str]:
    """The site's own words added with :func:`use_site_vocabulary` (empty until then)."""
    return _site


def use_site_vocabulary(words: Iterable[str]) -> None:
    """Treat ``words`` (any case; folded here) as never being a person's name, from now on.

    Meant for the words of the site's knowledge base and glossary, given once when an index is
    loaded; a later call replaces the earlier words.
    """
    global _site
    _site = frozenset(fold(word) for word in words if word)


def vocabulary_from_texts(texts: Iterable[str]) -> frozenset[str]:
    """The words that ``texts`` (articles, glossary terms) write in lower case at least once.

    A word an article writes in lower case is an ordinary word of the site ("willow", "grace
    period"); a word only ever capitalised may be a person named in an article, so it is left out.
    """
    words: set[str] = set()
    for text in texts:
        words.update(word for word in _WORD.findall(text) if word.islower() and len(word) > 1)
    return frozenset(words)
