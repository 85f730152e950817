"""Matching a question to the active notices: it names a system of the notice (by name, alias or
glossary synonym) and says that something is wrong the way the notice describes; how-to questions,
other units, other systems and notices that are not active do not match."""

from __future__ import annotations

import pytest

from bot.notices.matching import NoticeMatcher, tokens
from bot.notices.models import Impact, NoticeKind, NoticeStatus
from bot.notices.snapshot import ActiveNotice
from indexer.lexical import Glossary

SYSTEMS = {
    "Epic": ["emr", "hyperspace", "chart"],
    "Vocera": ["vocera badge"],
    "Citrix Workspace": ["citrix", "receiver"],
    "Windows print server": ["printer", "print"],
    "Outlook": ["email", "mail"],
}
GLOSSARY = Glossary.from_terms([["slow", "laggy", "sluggish"], ["logged out", "kicked out", "timed out"]])
EPIC = ActiveNotice(
    id=1,
    kind=NoticeKind.OUTAGE,
    title="Epic is slow on all units",
    status=NoticeStatus.INVESTIGATING,
    systems=("Epic",),
    body="Screens are slow to load and some sessions time out.",
)
VOCERA = ActiveNotice(
    id=2,
    kind=NoticeKind.OUTAGE,
    title="Vocera badges cannot connect",
    status=NoticeStatus.IDENTIFIED,
    systems=("Vocera",),
    sites=("4 West",),
    impact=Impact.DOWN,
    body="Badges show searching for server; calls fail.",
)
CITRIX = ActiveNotice(
    id=3,
    kind=NoticeKind.UPGRADE,
    title="Citrix Workspace upgrade",
    status=NoticeStatus.IN_PROGRESS,
    systems=("Citrix Workspace",),
    staff_changes="The Citrix icon moved to the Start menu.",
)


@pytest.fixture
def matcher() -> NoticeMatcher:
    return NoticeMatcher([EPIC, VOCERA, CITRIX], SYSTEMS, GLOSSARY)


@pytest.mark.parametrize(
    "question",
    [
        "is epic down?",
        "EMR is so laggy",
        "charting is slow",
        "epic keeps timing out",
        "anyone else's hyperspace frozen",
    ],
)
def test_a_question_about_the_failing_system_matches_its_notice(
    matcher: NoticeMatcher, question: str
) -> None:
    assert matcher.match(question) == EPIC


@pytest.mark.parametrize(
    "question",
    ["how do I add a flowsheet row in epic", "reset my epic password", "epic template for discharge"],
)
def test_a_how_to_question_about_the_same_system_does_not_match(
    matcher: NoticeMatcher, question: str
) -> None:
    assert matcher.match(question) is None


def test_an_unrelated_question_during_the_outage_does_not_match(matcher: NoticeMatcher) -> None:
    assert matcher.match("printer jam on 4 west") is None
    assert matcher.match("my mouse is not working") is None


def test_an_inflected_alias_names_its_system_only_when_the_alias_is_a_stem(matcher: NoticeMatcher) -> None:
    # "chart" → "charting" names Epic; "receiver" (Citrix) is not named by "receiving".
    assert matcher.match("charting keeps freezing") == EPIC
    assert matcher.match("outlook not receiving messages") is None


def test_a_notice_limited_to_some_units_does_not_match_another_unit(matcher: NoticeMatcher) -> None:
    assert matcher.match("vocera down on 4 west") == VOCERA
    assert matcher.match("vocera down on 4W") == VOCERA
    assert matcher.match("vocera down on 6 south") is None


def test_a_unit_the_notice_names_stands_for_the_system_when_the_words_agree(matcher: NoticeMatcher) -> None:
    assert matcher.match("badges cant connect to the server on 4 west") == VOCERA
    assert matcher.match("the 4 west computer is slow") is None


def test_an_upgrade_matches_questions_about_what_changed(matcher: NoticeMatcher) -> None:
    assert matcher.match("citrix looks different today") == CITRIX
    assert matcher.match("where did the citrix icon go") == CITRIX
    assert matcher.match("how do I install citrix on my mac") is None


def test_no_active_notice_matches_nothing() -> None:
    assert NoticeMatcher([], SYSTEMS, GLOSSARY).match("is epic down?") is None


def test_blank_or_huge_questions_are_handled(matcher: NoticeMatcher) -> None:
    assert matcher.match("   ") is None
    assert matcher.match("epic is down " * 5000) == EPIC


def test_tokens_spell_units_and_apostrophes_one_way() -> None:
    assert tokens("Vocera on 4W can't connect") == ["vocera", "on", "4", "west", "can", "t", "connect"]


def test_a_notice_json_has_the_contract_keys() -> None:
    assert {"id", "kind", "title", "status", "systems", "body", "next_update"} <= set(EPIC.to_json())
    assert EPIC.to_json()["next_update"] is None
