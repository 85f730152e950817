"""Which language a person writes in (``bot.core.language``): word and letter evidence, English when
unsure, and a conversation keeps the language it was recognised in."""

from __future__ import annotations

import pytest

from bot.core.language import (
    MIN_EVIDENCE,
    Language,
    conversation_language,
    evidence,
    language_named,
    language_of,
    recognise,
    word_list,
)

SPANISH = [
    "¿cómo cambio mi contraseña?",
    "la impresora de la UCI no imprime",
    "no puedo entrar en epic desde esta mañana",
    "olvidé mi contraseña",
    "mi impresora no funciona",
]
ENGLISH = [
    "my printer is not working",
    "epic keeps logging me out",
    "how do I reset my password",
    "the label printer on 4 West prints blank labels",
]
UNSURE = ["vpn", "citrix frozen", "wow battery dead", "ICU bed 7", "pyxis", "", "   ", "🙂"]


@pytest.mark.parametrize("text", SPANISH)
def test_spanish_questions_are_recognised_as_spanish(text: str) -> None:
    assert recognise(text) is Language.ES and language_of(text) is Language.ES


@pytest.mark.parametrize("text", ENGLISH)
def test_english_questions_are_english(text: str) -> None:
    assert language_of(text) is Language.EN


@pytest.mark.parametrize("text", UNSURE)
def test_short_messages_without_evidence_are_unsure_and_read_as_english(text: str) -> None:
    assert recognise(text) is None or recognise(text) is Language.EN
    assert language_of(text) is Language.EN


def test_an_opening_question_mark_is_strong_evidence_of_spanish() -> None:
    assert evidence("¿vpn?")[Language.ES] >= MIN_EVIDENCE


def test_words_both_languages_list_count_for_neither() -> None:
    shared = word_list(Language.EN) & word_list(Language.ES)
    for word in shared:
        assert evidence(word) == {Language.EN: 0, Language.ES: 0}


def test_one_word_of_evidence_is_not_enough_to_leave_english() -> None:
    assert evidence("hola") == {Language.EN: 0, Language.ES: 1}
    assert language_of("hola") is Language.EN


def test_a_conversation_keeps_the_language_of_its_newest_recognised_message() -> None:
    assert conversation_language(["la impresora no imprime nada", "UCI cama 7, sí"]) is Language.ES
    assert conversation_language(["la impresora no imprime nada", "my printer is not working"]) is Language.EN
    assert conversation_language(["vpn", "ICU bed 7"]) is Language.EN
    assert conversation_language([]) is Language.EN


def test_the_packaged_word_lists_are_lower_case_words_without_comments() -> None:
    for language in Language:
        words = word_list(language)
        assert len(words) > 50
        assert all(w == w.lower() and "#" not in w and w.strip() == w for w in words)


def test_a_language_code_without_texts_reads_as_english() -> None:
    assert language_named("es") is Language.ES
    assert language_named("fr") is Language.EN and language_named("") is Language.EN
