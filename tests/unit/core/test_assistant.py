"""The assistant over a real index of the tiny knowledge folder, built with the hashing encoder.

In the spirit of errbot's ``testbot``: the ``ask`` fixture runs a question through the core and
hands back the ``Reply``. The policy's thresholds are lowered to suit the hashing encoder's scores
(the real model's defaults would escalate nearly everything it is asked here).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.assistant import Assistant
from bot.core.errors import IndexNotReadyError
from bot.core.models import Decision, Question, Reply, Turn
from bot.core.policy import PolicyParams
from bot.core.replies import PHI_REMINDER
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from tests.databases import sqlite_settings
from tests.tiny_kb import EXTRA_ARTICLE, write_tiny_kb

HASHING_POLICY = PolicyParams(
    answer_score=0.3, answer_margin=0.02, clarify_score=0.2, min_known_share=0.0, answer_confidence=0.0
)
EPIC = "ehr/epic-login-problems"
MRN = "00482913"
PHI_QUESTION = f"Patient John Smith MRN {MRN} DOB 03/04/1950: epic password refused at login"

Ask = Callable[[str], Reply]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = sqlite_settings(tmp_path)
    write_tiny_kb(settings.kb)
    return settings


@pytest.fixture
def indexed(settings: Settings) -> Settings:
    build_index(settings.kb, settings.index_root, HashingEncoder())
    return settings


def hashing_assistant(settings: Settings) -> Assistant:
    return Assistant(settings, encoder=HashingEncoder(), policy=HASHING_POLICY)


@pytest.fixture
def assistant(indexed: Settings) -> Assistant:
    """An assistant with the live index loaded (as the server's poller leaves it)."""
    assistant = hashing_assistant(indexed)
    assistant.refresh()
    return assistant


@pytest.fixture
def ask(assistant: Assistant) -> Ask:
    def ask(text: str) -> Reply:
        return assistant.ask(Question(text=text, channel="test"))

    return ask


# --- any input gets a well-formed reply ---------------------------------------------------------------

ODD_QUESTIONS = {
    "empty": "",
    "whitespace": " \t  \n ",
    "50kb": "printer jam " * 4500,
    "control-chars-emoji": "ctrl\x01\x02\x1b[0m chars \x7f 🙂🖨️",
    "spanish": "¿cómo cambio mi contraseña?",
    "only-mrn": f"MRN {MRN}",
}


@pytest.mark.parametrize("text", ODD_QUESTIONS.values(), ids=ODD_QUESTIONS.keys())
def test_odd_input_gets_a_reply_with_text_and_a_decision(ask: Ask, text: str) -> None:
    reply = ask(text)
    assert isinstance(reply.decision, Decision)
    assert reply.text.strip()


@pytest.mark.parametrize("text", [*ODD_QUESTIONS.values(), PHI_QUESTION], ids=[*ODD_QUESTIONS, "PHI"])
def test_a_reply_never_repeats_an_mrn(ask: Ask, text: str) -> None:
    assert MRN not in json.dumps(ask(text).to_json(), ensure_ascii=False)


def test_a_question_without_content_words_is_asked_to_say_more(ask: Ask) -> None:
    reply = ask("   ")
    assert reply.decision is Decision.CLARIFY
    assert reply.citations == ()
    assert reply.actions == ()


def test_the_stored_form_of_a_question_has_its_patient_identifiers_scrubbed(ask: Ask) -> None:
    asked = ask(PHI_QUESTION).asked
    assert MRN not in asked
    assert "John Smith" not in asked
    assert "03/04/1950" not in asked
    assert "[MRN]" in asked
    assert "epic password refused at login" in asked


def test_a_question_with_patient_details_gets_a_reminder_not_to_paste_them(ask: Ask) -> None:
    assert PHI_REMINDER in ask(PHI_QUESTION).text


def test_a_question_without_patient_details_gets_no_reminder(ask: Ask) -> None:
    assert PHI_REMINDER not in ask("epic password refused at login").text


def test_a_long_question_is_cut_to_the_configured_length(ask: Ask, indexed: Settings) -> None:
    assert len(ask("printer jam " * 4500).asked) <= indexed.max_question_chars


def test_control_characters_are_removed_from_the_stored_question(ask: Ask) -> None:
    asked = ask("citrix\x00 frozen\x1b again").asked
    assert asked == "citrix frozen again"


# --- answers, choices, hand-over -------------------------------------------------------------------------


def test_a_clear_question_is_answered_citing_the_article(ask: Ask) -> None:
    reply = ask("epic password refused at login")
    assert reply.decision is Decision.ANSWER
    assert [c.article for c in reply.citations] == [EPIC]
    assert reply.citations[0].title == "Can't log in to Epic"
    assert reply.actions == ("fixed", "stuck")


def test_an_answer_quotes_the_matching_section_not_the_whole_article(ask: Ask) -> None:
    reply = ask("epic password refused at login")
    assert reply.citations[0].section == "Fix it"
    assert "Check **Caps Lock**" in reply.text
    assert "Call if the reset page also refuses you" not in reply.text


def test_an_answer_links_to_the_whole_article(ask: Ask) -> None:
    reply = ask("epic password refused at login")
    assert f"/kb/{EPIC}" in reply.text
    assert reply.citations[0].url.endswith(f"/kb/{EPIC}")


def test_a_question_the_knowledge_base_cannot_answer_is_handed_to_the_service_desk(ask: Ask) -> None:
    reply = ask("cafeteria menu spotify")
    assert reply.decision is Decision.ESCALATE
    assert reply.citations == ()
    assert "x4357" in reply.text


def test_a_reply_carries_the_signals_the_logs_record(ask: Ask) -> None:
    signals = ask("epic password refused at login").signals
    assert {"top_score", "top_dense", "known_share", "latency_ms"} <= set(signals)


def test_answer_from_answers_with_the_chosen_article(assistant: Assistant) -> None:
    reply = assistant.answer_from("printing/office-printer-offline", Question(text="my printer is broken"))
    assert reply is not None
    assert reply.decision is Decision.ANSWER
    assert [c.article for c in reply.citations] == ["printing/office-printer-offline"]
    assert "Turn the printer off" in reply.text
    assert reply.actions == ("fixed", "stuck")


def test_answer_from_an_unrelated_question_still_quotes_the_chosen_article(assistant: Assistant) -> None:
    reply = assistant.answer_from("citrix/citrix-frozen", Question(text="cafeteria menu"))
    assert reply is not None
    assert [c.article for c in reply.citations] == ["citrix/citrix-frozen"]
    assert "Ctrl+Alt+Break" in reply.text


def test_answer_from_an_unknown_article_is_none(assistant: Assistant) -> None:
    assert assistant.answer_from("nope/missing", Question(text="printer")) is None


def test_answer_from_scrubs_the_question(assistant: Assistant) -> None:
    reply = assistant.answer_from(EPIC, Question(text=PHI_QUESTION))
    assert reply is not None
    assert MRN not in reply.asked


def test_article_returns_the_stored_article(assistant: Assistant) -> None:
    view = assistant.article(EPIC)
    assert view is not None
    assert view.id == EPIC
    assert view.title == "Can't log in to Epic"
    assert view.tags == ("epic", "login", "password")
    assert view.owner == "clinical-apps-team"
    assert "## When to call the service desk" in view.markdown


def test_article_of_an_unknown_id_is_none(assistant: Assistant) -> None:
    assert assistant.article("nope/missing") is None


# --- the live index ----------------------------------------------------------------------------------------


def test_the_first_question_loads_the_live_index(indexed: Settings) -> None:
    assistant = hashing_assistant(indexed)
    assistant.ask(Question(text="printer offline"))
    assert assistant.ready


def test_asking_before_any_index_is_built_raises_index_not_ready(settings: Settings) -> None:
    assistant = hashing_assistant(settings)
    with pytest.raises(IndexNotReadyError) as caught:
        assistant.ask(Question(text="printer offline"))
    assert "itbot index" in str(caught.value)
    assert "itbot index" not in caught.value.user_message


def test_refresh_loads_the_live_index_once(indexed: Settings) -> None:
    assistant = hashing_assistant(indexed)
    assert not assistant.ready
    assert assistant.refresh() is True
    assert assistant.ready
    assert assistant.refresh() is False


def test_refresh_picks_up_a_rebuilt_index_and_reports_it_once(
    assistant: Assistant, indexed: Settings
) -> None:
    article_id, text = EXTRA_ARTICLE
    path = indexed.kb / f"{article_id}.md"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    build_index(indexed.kb, indexed.index_root, HashingEncoder())

    assert assistant.refresh() is True
    assert assistant.refresh() is False
    assert assistant.article(article_id) is not None
    assert assistant.manifest_summary["articles"] == 5


def test_an_index_built_with_another_encoder_is_refused_with_the_reason(indexed: Settings) -> None:
    assistant = Assistant(indexed, encoder=HashingEncoder(dim=32), policy=HASHING_POLICY)
    assert assistant.refresh() is False
    assert not assistant.ready
    assert assistant.load_error is not None
    assert "'hashing-384'" in assistant.load_error
    assert "itbot index" in assistant.load_error


def test_a_refused_rebuild_keeps_answering_from_the_index_in_use(
    assistant: Assistant, indexed: Settings
) -> None:
    build_index(indexed.kb, indexed.index_root, HashingEncoder(dim=32))
    assert assistant.refresh() is False
    assert assistant.load_error is not None
    assert assistant.ask(Question(text="epic password refused at login")).decision is Decision.ANSWER


def test_the_query_encoder_gets_the_configured_thread_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def fake_load_encoder(model: str, **options: object) -> HashingEncoder:
        seen.update(options)
        return HashingEncoder(32)

    monkeypatch.setattr("bot.core.assistant.load_encoder", fake_load_encoder)
    monkeypatch.setenv("ITBOT_ENCODER_THREADS", "1")

    Assistant(Settings(home=tmp_path)).encoder  # noqa: B018 - loading it is the point

    assert seen["threads"] == 1


# --- the person's language ------------------------------------------------------------------------------


def test_a_spanish_question_gets_its_fixed_text_in_spanish_and_the_contract_is_unchanged(ask: Ask) -> None:
    reply = ask("¿cómo cambio mi contraseña?")

    assert reply.language == "es"
    assert set(reply.to_json()) == {"decision", "text", "citations", "notice", "actions", "interaction_id"}
    if reply.decision is Decision.ESCALATE:
        assert reply.text.startswith("No encontré un artículo")
    elif reply.decision is Decision.CLARIFY:
        assert "inglés" in reply.text and "Which one" not in reply.text
    else:
        assert reply.text.startswith("_Nuestros artículos están en inglés._")
        assert "Artículo completo:" in reply.text


def test_a_spanish_answer_says_the_article_is_in_english_and_quotes_it(assistant: Assistant) -> None:
    question = Question(text="mi impresora no funciona")
    reply = assistant.answer_from("printing/office-printer-offline", question)

    assert reply is not None and reply.language == "es"
    assert reply.text.startswith("_Nuestros artículos están en inglés._")
    assert "Turn the printer off" in reply.text and "Artículo completo:" in reply.text


def test_a_short_follow_up_keeps_the_conversation_s_language(assistant: Assistant) -> None:
    history = (Turn(role="user", text="la impresora de la UCI no imprime"), Turn(role="bot", text=""))

    reply = assistant.ask(Question(text="vpn", channel="test", history=history))

    assert reply.language == "es"


def test_an_english_question_gets_english_text(ask: Ask) -> None:
    reply = ask("cafeteria menu spotify")

    assert reply.language == "en" and reply.text.startswith("I couldn't find an article")
