"""The core's fixed texts (``bot.core.replies``): one catalogue, every language complete, the
articles said to be in English when the reply is not; a clarify lists exactly the articles offered."""

from __future__ import annotations

from dataclasses import fields

import pytest

from bot.core.language import Language
from bot.core.replies import (
    PHI_REMINDER,
    TEXTS,
    CoreTexts,
    clarify_text,
    empty_text,
    escalate_text,
    not_fixed_escalate_text,
    phi_reminder_text,
    small_talk_text,
    texts_in,
)
from bot.core.retrieval import Hit
from indexer.store import StoredChunk

SENTENCES = [f.name for f in fields(CoreTexts) if f.name != "articles_in_english"]


def test_every_language_the_detector_knows_has_its_own_texts() -> None:
    assert set(TEXTS) == set(Language)


@pytest.mark.parametrize("language", list(Language))
def test_no_text_is_empty_and_the_hand_overs_give_the_phone_number(language: Language) -> None:
    texts = texts_in(language)
    assert all(getattr(texts, name).strip() for name in SENTENCES)
    assert "x4357" in escalate_text("x4357", language=language)
    assert "x4357" in not_fixed_escalate_text("x4357", language=language)


def test_spanish_texts_are_not_the_english_ones() -> None:
    english, spanish = texts_in(Language.EN), texts_in(Language.ES)
    assert all(getattr(english, name) != getattr(spanish, name) for name in SENTENCES)


def test_only_a_reply_in_another_language_says_the_articles_are_in_english() -> None:
    assert texts_in(Language.EN).articles_in_english == ""
    assert "inglés" in texts_in(Language.ES).articles_in_english


def test_english_is_the_default() -> None:
    assert empty_text() == texts_in(Language.EN).empty
    assert phi_reminder_text() == PHI_REMINDER
    assert escalate_text("x1").startswith("I couldn't find an article")


def test_the_spanish_hand_over_is_in_spanish() -> None:
    assert escalate_text("x4357", language=Language.ES) == (
        "No encontré un artículo que responda a esto, así que necesita a una persona de IT. "
        "Si es urgente o hay un paciente esperando, llame a la mesa de ayuda al x4357."
    )


def hit(article_id: str, title: str) -> Hit:
    chunk = StoredChunk(
        id=f"{article_id}#0",
        article_id=article_id,
        ordinal=0,
        title=title,
        section="Fix it",
        text=f"{title} > Fix it\nsteps",
        markdown="## Fix it\n\n1. Do this.",
        hash=article_id,
        line=1,
    )
    return Hit(article_id, title, 0.6, 0.6, 0.6, chunk)


def test_close_articles_are_listed_as_numbered_choices_in_order() -> None:
    offered = (hit("vpn", "VPN won't connect from home"), hit("vpn2", "VPN connected but can't reach Epic"))
    text = clarify_text(offered)
    assert "1. **VPN won't connect from home**" in text
    assert "2. **VPN connected but can't reach Epic**" in text
    assert "3." not in text


def test_a_single_offered_article_is_not_presented_as_one_of_several() -> None:
    text = clarify_text((hit("epic", "Can't log in to Epic"),))
    assert "1. **Can't log in to Epic**" in text
    assert "a few articles" not in text
    assert "2." not in text


@pytest.mark.parametrize("said", ["thanks!", "ok thank you", "Thank you so much", "gracias"])
def test_thanks_is_answered_with_you_are_welcome_not_the_introduction(said: str) -> None:
    language = Language.ES if said == "gracias" else Language.EN
    assert small_talk_text(said, language=language) == texts_in(language).thanks


@pytest.mark.parametrize("said", ["hi", "what can you do", "good morning", ""])
def test_a_greeting_gets_what_the_bot_is_for(said: str) -> None:
    assert small_talk_text(said) == texts_in(Language.EN).small_talk
