"""Reading a message in its thread: "still doesn't work", "what about on the wow?", or a new question.

The rules are the module docstring's: not fixed (a short "that didn't help"), refine (a cue word at
the start, or a very short message), new (anything else); and nothing leans on a thread without an
earlier question of its own.
"""

from __future__ import annotations

import pytest

from bot.core.followups import (
    NOT_FIXED_MAX_WORDS,
    SHORT_FOLLOW_UP_WORDS,
    FollowUp,
    Reading,
    classify_text,
    earlier_question,
    offered_articles,
    read_in_thread,
)
from bot.core.models import Turn

CITRIX_Q = "citrix is frozen on my workstation"
PRINTER_Q = "my office printer shows offline and will not print"
CITRIX = "citrix/citrix-frozen"
OFFICE = "printing/office-printer-offline"
LABELS = "printing/specimen-label-printer"


def user(text: str) -> Turn:
    return Turn("user", text)


def bot(*articles: str) -> Turn:
    return Turn("bot", "", articles)


# --- classify_text ------------------------------------------------------------------------------------------

NOT_FIXED_MESSAGES = [
    "still doesn't work",
    "Still doesnt work",
    "it still does not work",
    "still not working on the wow",
    "still broken",
    "still frozen",
    "still can't log in",
    "that didn't help",
    "didn't fix it",
    "not fixed",
    "nope",
    "no luck",
    "same error",
    "tried that already",
    "wrong article",
]


@pytest.mark.parametrize("text", NOT_FIXED_MESSAGES)
def test_a_short_message_saying_the_answer_did_not_help_is_not_fixed(text: str) -> None:
    assert classify_text(text) is FollowUp.NOT_FIXED


@pytest.mark.parametrize(
    "text", ["still doesn’t work", "that didn’t help", "still can’t log in", "didn’t fix it"]
)
def test_not_fixed_is_recognised_with_a_typographic_apostrophe(text: str) -> None:
    # Phones and macOS type ’ (U+2019) for ' by default; Slack passes it through unchanged.
    assert classify_text(text) is FollowUp.NOT_FIXED


def test_a_long_message_is_not_a_not_fixed_follow_up_even_if_it_says_not_working() -> None:
    text = (
        "the badge reader on the third floor nurses station is not working since the power cut this morning"
    )
    assert len(text.split()) > NOT_FIXED_MAX_WORDS

    assert classify_text(text) is FollowUp.NEW


@pytest.mark.parametrize(
    "text",
    [
        "what about on the wow?",
        "How about the label printer in the lab?",
        "and the one in 4 west is also showing offline",
        "also happens on the workstation on wheels",
        "same on the other computers in the unit",
        "on the wow it shows a black screen instead",
        "it shows a black screen after I log in",
        "but only when I use the workstation on wheels",
    ],
)
def test_a_message_starting_with_a_cue_word_refines_the_earlier_question(text: str) -> None:
    assert classify_text(text) is FollowUp.REFINE


@pytest.mark.parametrize("text", ["wow", "on the wow", "label printer too", "the 4 west one"])
def test_a_very_short_message_refines_the_earlier_question(text: str) -> None:
    assert len(text.split()) <= SHORT_FOLLOW_UP_WORDS
    assert classify_text(text) is FollowUp.REFINE


@pytest.mark.parametrize(
    "text",
    [
        "the label printer in the lab prints blank labels",
        "epic keeps logging me out every ten minutes",
        "What is the downtime procedure for epic tonight",
        "Andrew cannot print to the office printer today",
        "Italian keyboard layout appears in citrix after login",
        "my printer on the wow prints blank labels since this morning",
    ],
)
def test_a_full_question_without_a_leading_cue_is_new(text: str) -> None:
    assert classify_text(text) is FollowUp.NEW


# --- earlier_question and offered_articles -----------------------------------------------------------------


def test_the_earlier_question_is_the_newest_question_of_its_own() -> None:
    history = (user(CITRIX_Q), bot(CITRIX), user(PRINTER_Q), bot(OFFICE))

    assert earlier_question(history) == PRINTER_Q


def test_follow_ups_in_the_thread_are_skipped_when_looking_for_the_earlier_question() -> None:
    history = (user(CITRIX_Q), bot(CITRIX), user("what about on the wow?"), bot(CITRIX), user("nope"), bot())

    assert earlier_question(history) == CITRIX_Q


def test_bot_turns_are_never_the_earlier_question() -> None:
    assert earlier_question((Turn("bot", "epic keeps logging me out every ten minutes", (CITRIX,)),)) == ""


@pytest.mark.parametrize("history", [(), (user(""), bot()), (user("   "),)], ids=["empty", "blank", "spaces"])
def test_a_thread_without_a_question_has_no_earlier_question(history: tuple[Turn, ...]) -> None:
    assert earlier_question(history) == ""


@pytest.mark.parametrize("first", ["citrix frozen", "printer offline", "label printer printing blank"])
def test_the_message_that_started_the_thread_is_its_question_however_short(first: str) -> None:
    # The App Home's own examples are this short; a thread's first message leans on nothing.
    assert earlier_question((user(first), bot(CITRIX))) == first


def test_offered_articles_are_every_article_the_bot_offered_first_offered_first_once_each() -> None:
    history = (user(PRINTER_Q), bot(OFFICE, LABELS), user("nope"), bot(LABELS, CITRIX))

    assert offered_articles(history) == (OFFICE, LABELS, CITRIX)


def test_articles_on_user_turns_are_not_offers() -> None:
    assert offered_articles((Turn("user", PRINTER_Q, (OFFICE,)), bot())) == ()


# --- read_in_thread -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["still doesn't work", "what about on the wow?", "wow", CITRIX_Q])
def test_without_an_earlier_question_every_message_is_new(text: str) -> None:
    assert read_in_thread(text, ()) == Reading(FollowUp.NEW)
    assert read_in_thread(text, (bot(CITRIX),)) == Reading(FollowUp.NEW)


def test_a_refinement_carries_the_earlier_question_and_what_was_offered() -> None:
    history = (user(CITRIX_Q), bot(CITRIX))

    assert read_in_thread("what about on the wow?", history) == Reading(FollowUp.REFINE, CITRIX_Q, (CITRIX,))


def test_not_fixed_carries_the_earlier_question_and_what_was_offered() -> None:
    history = (user(PRINTER_Q), bot(OFFICE), user("what about the one in 4 west?"), bot(OFFICE, LABELS))

    assert read_in_thread("still doesn't work", history) == Reading(
        FollowUp.NOT_FIXED, PRINTER_Q, (OFFICE, LABELS)
    )


def test_a_new_question_in_a_thread_leans_on_nothing() -> None:
    history = (user(CITRIX_Q), bot(CITRIX))

    assert read_in_thread("the label printer in the lab prints blank labels", history) == Reading(
        FollowUp.NEW
    )


def test_combined_puts_the_earlier_question_before_the_message() -> None:
    reading = Reading(FollowUp.REFINE, CITRIX_Q, (CITRIX,))

    assert reading.combined("what about on the wow?") == f"{CITRIX_Q} what about on the wow?"


def test_combined_without_an_earlier_question_is_the_message_alone() -> None:
    assert Reading(FollowUp.NEW).combined("printer offline") == "printer offline"
