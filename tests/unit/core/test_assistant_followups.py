"""The assistant in a thread: follow-ups lean on the earlier question, "still doesn't work" moves on.

Same set-up as ``test_assistant.py``: a real index of the tiny knowledge folder built with the
hashing encoder, and policy thresholds lowered to suit its scores. Expectations are stated against
what the assistant itself finds for a message asked alone, so they hold whatever the scores are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.assistant import NOT_FIXED_REASON, Assistant
from bot.core.models import Decision, Question, Reply, Turn
from bot.core.policy import PolicyParams
from bot.core.replies import PHI_REMINDER, not_fixed_escalate_text
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from tests.databases import sqlite_settings
from tests.tiny_kb import write_tiny_kb

HASHING_POLICY = PolicyParams(
    answer_score=0.3, answer_margin=0.02, clarify_score=0.2, min_known_share=0.0, answer_confidence=0.0
)
CITRIX = "citrix/citrix-frozen"
OFFICE = "printing/office-printer-offline"
LABELS = "printing/specimen-label-printer"
CITRIX_Q = "citrix is frozen on my workstation"
PRINTER_Q = "my printer is not printing"
WOW = "what about on the wow?"
STILL = "still doesn't work"
MRN = "00482913"

Ask = Callable[..., Reply]


@pytest.fixture
def assistant(tmp_path: Path) -> Assistant:
    """An assistant with the live index of the tiny knowledge folder loaded."""
    settings: Settings = sqlite_settings(tmp_path)
    write_tiny_kb(settings.kb)
    build_index(settings.kb, settings.index_root, HashingEncoder())
    assistant = Assistant(settings, encoder=HashingEncoder(), policy=HASHING_POLICY)
    assistant.refresh()
    return assistant


@pytest.fixture
def ask(assistant: Assistant) -> Ask:
    def ask(text: str, *history: Turn) -> Reply:
        return assistant.ask(Question(text=text, channel="test", history=history))

    return ask


def asked(text: str) -> Turn:
    return Turn("user", text)


def answered(*articles: str) -> Turn:
    return Turn("bot", "", articles)


def articles(reply: Reply) -> list[str]:
    return [c.article for c in reply.citations]


def chosen(reply: Reply) -> list[str]:
    return [a.removeprefix("choose:") for a in reply.actions if a.startswith("choose:")]


def same_reply(one: Reply, other: Reply) -> bool:
    """Equal in everything a person sees or the logs record, timings aside."""
    return (one.to_json(), one.asked, one.reason) == (other.to_json(), other.asked, other.reason)


# --- a follow-up leans on the earlier question --------------------------------------------------------------


@pytest.mark.parametrize("earlier", [CITRIX_Q, "my office printer shows offline and will not print"])
def test_a_follow_up_is_answered_with_the_article_the_earlier_question_finds(ask: Ask, earlier: str) -> None:
    on_its_own = ask(earlier)
    assert on_its_own.decision is Decision.ANSWER
    expected = articles(on_its_own)[0]
    assert expected not in articles(ask(WOW))  # the follow-up alone would not find it

    reply = ask(WOW, asked(earlier), answered(expected))

    assert reply.decision is Decision.ANSWER
    assert articles(reply) == [expected]
    assert reply.actions == ("fixed", "stuck")


def test_the_earlier_question_decides_which_article_a_follow_up_gets(ask: Ask) -> None:
    after_citrix = ask(WOW, asked(CITRIX_Q), answered(CITRIX))
    after_printer = ask(WOW, asked("my office printer shows offline and will not print"), answered(OFFICE))

    assert articles(after_citrix) == [CITRIX]
    assert articles(after_printer) == [OFFICE]


def test_a_follow_up_after_a_short_first_question_leans_on_it(ask: Ask) -> None:
    # "citrix frozen" is how people start a thread (the App Home suggests questions this short).
    assert articles(ask("citrix frozen")) == [CITRIX]

    reply = ask(WOW, asked("citrix frozen"), answered(CITRIX))

    assert reply.decision is Decision.ANSWER
    assert articles(reply) == [CITRIX]


def test_a_follow_up_is_stored_as_the_message_alone(ask: Ask) -> None:
    reply = ask(WOW, asked(CITRIX_Q), answered(CITRIX))

    assert reply.asked == WOW


# --- "still doesn't work" moves on --------------------------------------------------------------------------

NOT_FIXED_THREADS = {
    "printer-offered-office": (PRINTER_Q, (OFFICE,)),
    "printer-offered-labels": (PRINTER_Q, (LABELS,)),
    "printer-offered-both": (PRINTER_Q, (OFFICE, LABELS)),
    "citrix-offered-citrix": (CITRIX_Q, (CITRIX,)),
    "epic-offered-epic": ("epic password refused at login", ("ehr/epic-login-problems",)),
}


@pytest.mark.parametrize(("earlier", "offered"), NOT_FIXED_THREADS.values(), ids=NOT_FIXED_THREADS.keys())
@pytest.mark.parametrize("message", [STILL, "nope", "that didn't help"])
def test_not_fixed_never_offers_an_article_again(
    ask: Ask, assistant: Assistant, earlier: str, offered: tuple[str, ...], message: str
) -> None:
    reply = ask(message, asked(earlier), answered(*offered))

    assert not set(articles(reply)) & set(offered)
    assert not set(chosen(reply)) & set(offered)
    assert reply.reason == NOT_FIXED_REASON
    if reply.decision is Decision.CLARIFY:
        assert reply.citations
        assert reply.actions == (*(f"choose:{a}" for a in articles(reply)), "stuck")
        assert reply.text.startswith("Sorry that didn't fix it.")
    else:
        assert reply.decision is Decision.ESCALATE
        assert (reply.citations, reply.actions) == ((), ())
        assert reply.text == not_fixed_escalate_text(assistant.settings.service_desk_phone)


def test_not_fixed_offers_the_close_article_not_offered_yet(ask: Ask) -> None:
    reply = ask(STILL, asked(PRINTER_Q), answered(OFFICE))

    assert reply.decision is Decision.CLARIFY
    assert LABELS in chosen(reply)
    assert OFFICE not in chosen(reply)


def test_not_fixed_when_every_close_article_was_offered_hands_over_to_it(
    ask: Ask, assistant: Assistant
) -> None:
    reply = ask(STILL, asked(PRINTER_Q), answered(OFFICE, LABELS))

    assert reply.decision is Decision.ESCALATE
    assert reply.text == not_fixed_escalate_text(assistant.settings.service_desk_phone)
    assert assistant.settings.service_desk_phone in reply.text


def test_not_fixed_remembers_every_article_offered_in_the_thread(ask: Ask) -> None:
    history = (asked(PRINTER_Q), answered(OFFICE), asked("what about the one in 4 west?"), answered(LABELS))
    reply = ask(STILL, *history)

    assert not {OFFICE, LABELS} & set(articles(reply))


def test_not_fixed_with_a_typographic_apostrophe_never_offers_the_article_again(ask: Ask) -> None:
    earlier = "my office printer shows offline and will not print"
    assert articles(ask(earlier)) == [OFFICE]

    reply = ask("still doesn’t work", asked(earlier), answered(OFFICE))

    assert OFFICE not in articles(reply)
    assert reply.reason == NOT_FIXED_REASON


def test_not_fixed_after_a_short_first_question_moves_on_from_it(ask: Ask) -> None:
    first = "label printer printing blank"  # the App Home's own example
    reply = ask(STILL, asked(first), answered(LABELS))

    assert LABELS not in articles(reply)
    assert reply.reason == NOT_FIXED_REASON


# --- what does not change ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question", ["the label printer in the lab prints blank labels", "epic password refused at login"]
)
def test_a_new_full_question_in_a_thread_is_answered_on_its_own(ask: Ask, question: str) -> None:
    in_thread = ask(question, asked(CITRIX_Q), answered(CITRIX))

    assert same_reply(in_thread, ask(question))
    assert CITRIX not in articles(in_thread)


@pytest.mark.parametrize("message", [WOW, STILL, CITRIX_Q, "printer"])
@pytest.mark.parametrize(
    "history",
    [(), (answered(CITRIX),), (answered(OFFICE, LABELS), answered()), (asked(""), answered(CITRIX))],
    ids=["none", "one-bot-turn", "bot-turns", "blank-user-turn"],
)
def test_a_history_without_a_question_changes_nothing(
    ask: Ask, message: str, history: tuple[Turn, ...]
) -> None:
    assert same_reply(ask(message, *history), ask(message))


# --- the reply never repeats what was asked ---------------------------------------------------------------

THREADS = {
    "refine": (WOW, (asked(CITRIX_Q), answered(CITRIX))),
    "not-fixed-clarify": (STILL, (asked(PRINTER_Q), answered(OFFICE))),
    "not-fixed-escalate": (STILL, (asked(PRINTER_Q), answered(OFFICE, LABELS))),
    "new": ("the label printer in the lab prints blank labels", (asked(CITRIX_Q), answered(CITRIX))),
}


@pytest.mark.parametrize(("message", "history"), THREADS.values(), ids=THREADS.keys())
def test_a_reply_in_a_thread_never_echoes_the_question_or_the_earlier_one(
    ask: Ask, message: str, history: tuple[Turn, ...]
) -> None:
    shown = json.dumps(ask(message, *history).to_json(), ensure_ascii=False)

    assert message not in shown
    for turn in history:
        if turn.role == "user":
            assert turn.text not in shown


@pytest.mark.parametrize(("message", "history"), THREADS.values(), ids=THREADS.keys())
def test_patient_details_in_a_follow_up_are_scrubbed_and_never_repeated(
    ask: Ask, message: str, history: tuple[Turn, ...]
) -> None:
    reply = ask(f"{message} MRN {MRN}", *history)

    assert MRN not in json.dumps(reply.to_json(), ensure_ascii=False)
    assert MRN not in reply.asked
    assert PHI_REMINDER in reply.text
