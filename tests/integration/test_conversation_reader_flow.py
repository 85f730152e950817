"""The conversation flow with the reader, on SQLite and PostgreSQL: nobody is trapped in ticket mode.

A real assistant over the tiny knowledge folder (hashing encoder, thresholds lowered to suit its
scores) behind the channel-neutral flow, as Slack and the web chat call it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.conversations.flow import ConversationFlow, Outcome
from bot.core.assistant import Assistant
from bot.core.policy import PolicyParams
from bot.db import session_factory
from bot.tickets.models import Ticket
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from tests.tiny_kb import write_tiny_kb

POLICY = PolicyParams(
    answer_score=0.3, answer_margin=0.02, clarify_score=0.2, min_known_share=0.0, answer_confidence=0.0
)
THREAD = "C42:1700.5"
REPLY_TO = {"channel": "C42", "thread_ts": "1700.5"}
CITRIX_Q = "citrix is frozen on my workstation"
LABELS = "printing/specimen-label-printer"
LABELS_Q = "the specimen label printer prints blank labels"


@pytest.fixture
def flow(db_settings: Settings, db_engine: Engine, tmp_path: Path) -> ConversationFlow:
    write_tiny_kb(db_settings.kb)
    (db_settings.kb / "elsewhere.yml").write_text(
        "default: Ask the operator.\n"
        "topics:\n"
        "  - name: parking\n"
        "    where: Parking questions go to Security, ext. 4000.\n"
        "    examples: [where do i park for night shift, where can staff park]\n",
        encoding="utf-8",
    )
    build_index(db_settings.kb, db_settings.index_root, HashingEncoder())
    assistant = Assistant(db_settings, encoder=HashingEncoder(), policy=POLICY)
    assistant.refresh()
    return ConversationFlow(db_settings, assistant, session_factory(db_engine), channel="slack")


def say(flow: ConversationFlow, text: str) -> Outcome:
    return flow.on_message(thread_key=THREAD, user="U7", text=text, reply_to=REPLY_TO)


def stuck(flow: ConversationFlow) -> Outcome:
    return flow.on_stuck(thread_key=THREAD, user="U7", reply_to=REPLY_TO)


def tickets(session: Session) -> list[Ticket]:
    session.expire_all()
    return list(session.exec(select(Ticket)).all())


def test_never_mind_while_details_are_awaited_opens_no_ticket(
    flow: ConversationFlow, session: Session
) -> None:
    assert say(flow, CITRIX_Q).turn == "answer"
    assert stuck(flow).turn == "ask_details"

    withdrawn = say(flow, "never mind, it works now")

    assert withdrawn.turn == "withdrawn"
    assert withdrawn.reply is not None and "won't open a ticket" in withdrawn.reply.text
    assert tickets(session) == []
    assert say(flow, LABELS_Q).turn in ("answer", "clarify")  # the conversation goes on as usual


def test_a_new_question_while_details_are_awaited_is_answered_and_the_request_set_aside(
    flow: ConversationFlow, session: Session
) -> None:
    say(flow, CITRIX_Q)
    stuck(flow)

    answered = say(flow, LABELS_Q)

    assert answered.turn in ("answer", "clarify") and answered.aside == "set_aside"
    assert answered.reply is not None and answered.reply.citations[0].article == LABELS
    assert "talk to IT" in answered.reply.text
    assert tickets(session) == []


def test_small_talk_while_details_are_awaited_is_answered_asks_for_them_again_and_opens_nothing(
    flow: ConversationFlow, session: Session
) -> None:
    say(flow, CITRIX_Q)
    assert stuck(flow).turn == "ask_details"

    again = say(flow, "what can you do?")

    assert again.turn == "small_talk"
    assert again.reply is not None and "which unit or room" in again.reply.text
    assert tickets(session) == []
    assert say(flow, "4 West, wow 12, no patient waiting").turn == "ticket"


def test_a_follow_up_that_is_not_for_it_is_told_so_however_it_starts(
    flow: ConversationFlow, session: Session
) -> None:
    say(flow, CITRIX_Q)

    assert say(flow, "and where can staff park").turn == "not_it"
    assert tickets(session) == []


def test_the_details_themselves_still_open_the_ticket(flow: ConversationFlow, session: Session) -> None:
    say(flow, CITRIX_Q)
    stuck(flow)

    opened = say(flow, "4 West, wow 12, no patient waiting")

    assert opened.turn == "ticket"
    assert [t.location for t in tickets(session)] == ["4 West"]


def test_while_a_ticket_is_open_a_new_question_is_answered_with_a_reminder(
    flow: ConversationFlow, session: Session
) -> None:
    say(flow, CITRIX_Q)
    stuck(flow)
    number = say(flow, "4 West, wow 12, no patient waiting").ticket_number
    assert number is not None

    answered = say(flow, LABELS_Q)

    assert answered.turn in ("answer", "clarify") and answered.aside == "ticket_open"
    assert answered.reply is not None and number in answered.reply.text
    assert len(tickets(session)) == 1


@pytest.mark.parametrize("text", ["any update on the citrix thing?", "it's wow 14 actually", "still frozen"])
def test_while_a_ticket_is_open_news_about_it_goes_to_it(
    flow: ConversationFlow, session: Session, text: str
) -> None:
    say(flow, CITRIX_Q)
    stuck(flow)
    number = say(flow, "4 West, wow 12, no patient waiting").ticket_number

    relayed = say(flow, text)

    assert relayed.turn == "relayed" and relayed.relayed_to == number


def test_need_someone_from_it_hands_over_without_asking_the_bot(
    flow: ConversationFlow, session: Session
) -> None:
    asked = say(flow, "need someone from IT")

    assert asked.turn == "ask_details"
    assert say(flow, "the office printer on 4 West shows offline, no patient waiting").turn == "ticket"
    assert [t.reason for t in tickets(session)] == ["human"]


def test_asking_for_someone_in_words_of_the_examples_hands_the_answered_problem_over(
    flow: ConversationFlow, session: Session
) -> None:
    say(flow, CITRIX_Q)

    assert say(flow, "is there anyone in IT i can actually talk to").turn == "ask_details"
    assert say(flow, "4 West, no patient waiting").turn == "ticket"
    [ticket] = tickets(session)
    assert ticket.reason == "human" and "citrix" in ticket.summary.lower()


def test_a_question_that_is_not_for_it_says_where_to_ask_and_opens_no_ticket(
    flow: ConversationFlow, session: Session
) -> None:
    outcome = say(flow, "where do i park for night shift")

    assert outcome.turn == "not_it"
    assert outcome.reply is not None and "Security, ext. 4000" in outcome.reply.text
    assert outcome.reply.actions == ()
    assert tickets(session) == []


def test_thanks_after_an_answer_is_taken_as_resolved_not_as_a_question(
    flow: ConversationFlow, session: Session
) -> None:
    say(flow, CITRIX_Q)

    thanked = say(flow, "thanks that worked")

    assert thanked.turn == "resolved"
    assert thanked.reply is not None and thanked.reply.citations == () and thanked.reply.actions == ()
    assert tickets(session) == []
