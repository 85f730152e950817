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
    "EVERYDAY_WORDS",
    "PARTICLES",
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
    sigma philips intellivue carescape hillrom hill-rom stryker welch allyn dexcom medtronic sunquest
    zebra lexmark ricoh xerox canon brother sharp konica kyocera dell lenovo hp apple samsung google
    gmail ipad iphone android mac macbook surface thinkpad rauland tigerconnect doximity alexa siri
    cortana copilot chatgpt bing yahoo linux ubuntu vmware hyperv oracle sap peoplesoft ukg lawson infor
    """
)
# Chat shorthand, and function words a names list may hold ("the" is Vietnamese "Thế").
_PARTICLES_AND_CHAT = _words(
    """
    pls plz thx ty u ur r y cant wont dont didnt isnt doesnt im ive id ill avs mri ct xr us cxr
    ekg labs meds vitals census thanks via re fwd fw cc bc btw asap eta fyi idk lol omg nvm acct
    pt's pts rm dept msg msgs pw pwd appt appts dx rx hx sx tx
    """
)
# Name particles: part of a name between two name words ("Nguyen Van Minh", "Maria de la Cruz").
PARTICLES = _words("van von de da del della di du la le al el bin ibn binti abu thi ter den der dos das")
# Languages and nationalities: capitalised, and some are surnames ("English", "French").
_LANGUAGES = _words(
    """
    english spanish french german italian portuguese polish russian ukrainian chinese mandarin
    cantonese vietnamese korean japanese tagalog filipino hindi punjabi urdu bengali gujarati
    tamil arabic farsi persian somali amharic swahili yoruba igbo hausa haitian creole hmong
    khmer lao thai burmese nepali greek turkish armenian hebrew dutch swedish american british
    irish scottish welsh canadian mexican asl sign
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
# Words of ordinary IT chat that are not names, even right after "patient", "pt" or "Mr".
EVERYDAY_WORDS = _words(
    """
    a an the and or but nor so yet if then than as at by for from in into of off on onto out over to
    up upon with within without about above across after against along among around before behind
    below beside between beyond during except inside near outside past since through till toward
    towards under until via per i me my mine we us our you your he him his she her it its they them
    their this that these those who whom whose which what where when why how all any both each either
    neither every few many more most much other another some such no not only own same too very just
    also still again already even ever never now here there today tonight tomorrow yesterday always
    sometimes often soon later please thanks thank hi hello hey ok okay yes yeah yep nope one two three
    is am are was were be been being has have had having do does did doing done can cannot cant can't
    could couldn't couldnt will won't wont would wouldn't wouldnt shall should shouldn't must may might
    need needs needed keeps keep kept gets get got getting says say said tells told asks asked asking
    wants want wanted tried tries trying try seems seem seemed looks look looked shows show showed
    showing appears appear appeared goes go went going comes come came coming makes make made sees
    see saw uses use used using isn't isnt wasn't wasnt aren't arent doesn't doesnt didn't didnt don't
    dont hasn't hasnt haven't havent log logs logged logging login logon logout signin sign signed
    callback bag bags billing bill statement statements instructions handout handouts questionnaire
    letter letters message messages messaging inbox chat feedback guest guests menu ordering pain score
    scale weight height temp temperature bp interpreter interpreters language photo picture rounding
    handoff hand hands requires required requested request requests font fonts size text type bold
    states stated reports reported complains complained feels felt denies denied thinks thought
    knows knew likes prefers speaks understands agrees declined declines sleeping eating resting
    coding crashing returns returned back rm remote machine activity activities proxy proxies
    signing click clicked print printed printing prints scan scanned scanning scans call calls called
    calling page paged paging fell fall falls left leaving leave arrived arriving discharged
    discharging admitted admitting transferred transferring moved moving refused refuses refusing
    waiting wait waited ready received receiving lost missing stuck frozen broken locked unlocked
    unable able wrong right correct new old same first last next previous current currently other
    portal wristband wristbands band bands armband armbands bracelet label labels sticker stickers
    printer printers scanner scanners monitor monitors monitoring screen screens computer computers
    pc pcs laptop workstation wow cow cart carts pump pumps device devices tablet ipad iphone phone
    phones email emails account accounts password passwords pin badge badges kiosk app apps
    application system systems software network wifi internet vpn citrix epic cerner meditech
    mychart pyxis omnicell bcma emr ehr emar mar adt pacs ris lis hl7 interface server record
    records chart charts data info information list lists report reports form forms document
    documents file files folder note notes order orders result results lab labs image images
    imaging video camera tv television bed beds room rooms unit units floor floors ward wards door
    doors bell light lights id ids mrn mrns dob fin csn number numbers name names identifier
    identifiers barcode barcodes qr code codes ticket tickets issue issues problem problems error
    errors access profile queue census board tracking tracker schedule scheduling registration
    appointment appointments visit visits encounter encounters office word excel outlook teams
    edge visio onenote sharepoint onedrive windows zoom webex hyperspace haiku canto rover dragon
    care safety transport transportation family families visitor visitors meds medication
    medications medicine drug drugs dose doses allergy allergies vitals vital signs education
    summary discharge admission transfer arrival check checkin checkout intake diet food meal meals
    bathroom restroom telemetry alarm alarms risk isolation consent consents belongings valuables
    history status location identification side bedside nurse nurses doctor doctors provider
    providers physician staff team surgery procedure exam test tests sample samples specimen
    specimens blood urine experience relations flow placement advocate financial services service
    rights satisfaction survey surveys lift lifts engagement experience centered tech technician
    logistics throughput mismatch mismatched change changed correction spelled spelling misspelled
    field fields display displays displayed format truncated cut shown incorrect duplicate
    duplicates merge merged alert alerts banner header search lookup chair wheelchair stretcher gown
    home house clinic hospital department
    icu ed er or pacu nicu picu ccu micu sicu ob mri ct xr cxr ekg ecg eeg abg cbc bmp cmp iv po
    prn stat npo dnr pt ot rt born ssn patient patients mr mrs ms mx miss dr
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
    hospital hospitals clinic clinics center centre campus building tower wing pavilion street st
    road rd avenue ave drive dr boulevard blvd lane way court medical health healthcare memorial
    regional general county city university college school church west east north south beach
    institute foundation associates llc inc unit ward hall suite annex plaza
    """
)

_KEPT = _PRODUCTS | _PLACES | _CHAT | _LANGUAGES | EVERYDAY_WORDS | _PARTICLES_AND_CHAT
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
