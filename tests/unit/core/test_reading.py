"""The conversation reader: what each message is, in the light of the conversation before it.

The phrasebook is embedded with the hashing encoder (bag of words), so a message reads as a kind
when it is worded like one of the kind's examples; the real model also catches paraphrases
(benchmarks/conversations.py measures that on the dev half of the conversation set).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from bot.core.models import Turn
from bot.core.reading import MessageKind, Phrasebook, question_of, read_message, topic_stems
from indexer.encoder import HashingEncoder

ENCODER = HashingEncoder()
PYXIS = "pyxis won't read my fingerprint"
CITRIX = "citrix frozen on the wow"


@pytest.fixture(scope="module")
def phrasebook() -> Phrasebook:
    return Phrasebook.load(ENCODER)


def encode(text: str) -> np.ndarray:
    return ENCODER.encode([text])[0]


def after(*texts: str) -> tuple[Turn, ...]:
    """A conversation in which the person said ``texts`` and the bot answered each."""
    turns: list[Turn] = []
    for text in texts:
        turns += [Turn("user", text), Turn("bot", "", ("some/article",))]
    return tuple(turns)


def kind(text: str, history: tuple[Turn, ...], phrasebook: Phrasebook) -> MessageKind:
    return read_message(text, history, encode=encode, phrasebook=phrasebook).kind


# --- the kinds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["still not working", "nope", "didn't help", "same error as before"])
def test_that_did_not_work_after_an_answer_is_not_fixed(text: str, phrasebook: Phrasebook) -> None:
    reading = read_message(text, after(CITRIX), encode=encode, phrasebook=phrasebook)

    assert reading.kind is MessageKind.NOT_FIXED
    assert reading.earlier_question == CITRIX
    assert reading.offered == ("some/article",)


def test_a_message_that_names_a_new_thing_is_a_question_of_its_own(phrasebook: Phrasebook) -> None:
    assert kind("printer not working", after(PYXIS), phrasebook) is MessageKind.NEW
    assert kind("epic still not working either", after(PYXIS), phrasebook) is MessageKind.NEW


def test_words_of_the_earlier_question_are_not_new(phrasebook: Phrasebook) -> None:
    assert kind("citrix still frozen", after(CITRIX), phrasebook) is MessageKind.NOT_FIXED


def test_a_cue_or_a_very_short_message_refines_the_earlier_question(phrasebook: Phrasebook) -> None:
    assert kind("what about on the pyxis?", after(CITRIX), phrasebook) is MessageKind.REFINE
    assert kind("and vocera", after(CITRIX), phrasebook) is MessageKind.REFINE


@pytest.mark.parametrize("text", ["never mind", "it works now", "forget it", "thanks that worked"])
def test_never_mind_and_it_works_now_are_resolved(text: str, phrasebook: Phrasebook) -> None:
    assert kind(text, after(CITRIX), phrasebook) is MessageKind.RESOLVED
    assert kind(text, (), phrasebook) is MessageKind.RESOLVED


@pytest.mark.parametrize(
    "text", ["never mind, a coworker sorted the spreadsheet", "nvm - the badge reader came back"]
)
def test_a_cancel_that_opens_a_message_about_other_things_is_resolved(
    text: str, phrasebook: Phrasebook
) -> None:
    # The opening clause alone is an example; the words after it name things, yet say only that
    # the problem is gone.
    assert kind(text, after(CITRIX), phrasebook) is MessageKind.RESOLVED


def test_a_message_that_only_starts_with_thanks_is_not_resolved(phrasebook: Phrasebook) -> None:
    assert kind("thanks, but the printer on 4 west jams too", after(CITRIX), phrasebook) is not (
        MessageKind.RESOLVED
    )


@pytest.mark.parametrize("text", ["hi", "thanks", "good morning", "what can you do"])
def test_greetings_and_thanks_are_small_talk(text: str, phrasebook: Phrasebook) -> None:
    assert kind(text, (), phrasebook) is MessageKind.SMALL_TALK


@pytest.mark.parametrize("text", ["need someone from IT", "talk to a human", "can someone call me"])
def test_asking_for_a_person_is_read_as_such(text: str, phrasebook: Phrasebook) -> None:
    assert kind(text, after(CITRIX), phrasebook) is MessageKind.PERSON


@pytest.mark.parametrize("text", ["can you send someone", "is there anyone i can talk to"])
def test_asking_for_a_person_in_words_of_the_examples_is_read_as_such(
    text: str, phrasebook: Phrasebook
) -> None:
    assert kind(text, after(CITRIX), phrasebook) is MessageKind.PERSON


def test_that_did_not_work_with_nothing_before_it_is_not_a_follow_up(phrasebook: Phrasebook) -> None:
    assert kind("still not working", (), phrasebook) is not MessageKind.NOT_FIXED


def test_a_first_message_is_new_and_leans_on_nothing(phrasebook: Phrasebook) -> None:
    reading = read_message(PYXIS, (), encode=encode, phrasebook=phrasebook)

    assert reading.kind is MessageKind.NEW
    assert reading.earlier_question == ""


def test_without_a_phrasebook_only_the_lexical_rules_apply() -> None:
    assert read_message("still not working", after(CITRIX), encode=None, phrasebook=None).kind is (
        MessageKind.NOT_FIXED
    )
    assert read_message("thanks", (), encode=None, phrasebook=None).kind is MessageKind.NEW


def test_the_embedding_is_made_only_for_a_message_that_names_nothing_new(phrasebook: Phrasebook) -> None:
    encoded: list[str] = []

    def counting(text: str) -> np.ndarray:
        encoded.append(text)
        return encode(text)

    read_message("the label printer prints blank labels", (), encode=counting, phrasebook=phrasebook)
    read_message("never mind", (), encode=counting, phrasebook=phrasebook)

    assert encoded == ["never mind"]


# --- the question a conversation is about -------------------------------------------------------------


def test_the_question_is_the_newest_that_started_a_matter_of_its_own(phrasebook: Phrasebook) -> None:
    history = after(CITRIX, "still not working", "thanks", "label printer printing blank labels", "nope")

    assert question_of(history, phrasebook) == "label printer printing blank labels"


def test_greetings_and_requests_for_a_person_start_no_question(phrasebook: Phrasebook) -> None:
    assert question_of(after("hi", "talk to a human"), phrasebook) == ""


def test_topic_words_leave_out_what_every_conversation_says() -> None:
    assert topic_stems("pacs still not working, any update?") == {"pac", "updat"}
    assert topic_stems("thanks, it works now") == set()


# --- not for IT -----------------------------------------------------------------------------------------


def test_a_question_worded_like_a_not_it_example_is_close_to_its_topic(phrasebook: Phrasebook) -> None:
    away = phrasebook.elsewhere(encode("where can staff park"))

    assert away.closeness > 0.99
    assert away.topic is not None and "Security" in away.topic.where
    assert phrasebook.elsewhere(encode("citrix frozen on the wow")).closeness < 0.5


def test_the_knowledge_folders_elsewhere_file_replaces_the_packaged_one(tmp_path: Path) -> None:
    mine = tmp_path / "elsewhere.yml"
    mine.write_text(
        "default: Ask the operator.\n"
        "topics:\n"
        "  - name: parking\n"
        "    where: Parking is run by Acme Parking, ext. 1234.\n"
        "    examples: [where do i park]\n",
        encoding="utf-8",
    )

    book = Phrasebook.load(ENCODER, mine)
    away = book.elsewhere(encode("where do i park"))

    assert away.topic is not None and away.topic.where == "Parking is run by Acme Parking, ext. 1234."
    assert book.default_where == "Ask the operator."


def test_an_unreadable_elsewhere_file_is_named_and_the_packaged_one_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "elsewhere.yml"
    broken.write_text("topics: [unclosed\n", encoding="utf-8")

    with caplog.at_level(logging.ERROR):
        book = Phrasebook.load(ENCODER, broken)

    assert any(getattr(r, "file", "") == str(broken) for r in caplog.records)
    assert book.topics and book.default_where


def test_in_a_conversation_the_problem_being_gone_is_heard_even_with_new_words(
    phrasebook: Phrasebook,
) -> None:
    assert kind("it works now after a restart", after(CITRIX), phrasebook) is MessageKind.RESOLVED
    assert kind("label printer printing blank labels again", after(CITRIX), phrasebook) is MessageKind.NEW
