"""A conversation's ticket through the conversation flow, on SQLite and PostgreSQL: the ticket is
about the problem escalated (not the conversation's first question), a bare "talk to a human" is
asked what the problem is, and a person who writes in Spanish is asked and answered in Spanish."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.conversations.flow import ConversationFlow, Outcome
from bot.db import session_factory
from bot.tickets.models import Ticket
from bot.tickets.queries import get_ticket_by_number
from tests.fakes.assistant import FakeAssistant

THREAD = "C42:1700.5"
USER = "U7"
REPLY_TO = {"channel": "C42", "thread_ts": "1700.5"}


@pytest.fixture
def flow(db_settings: Settings, db_engine: Engine) -> ConversationFlow:
    """The flow of the Slack channel over the test database, with the deterministic assistant
    (it answers "epic" questions and escalates anything without "epic" or "print")."""
    return ConversationFlow(db_settings, FakeAssistant(), session_factory(db_engine), channel="slack")


def say(flow: ConversationFlow, text: str) -> Outcome:
    return flow.on_message(thread_key=THREAD, user=USER, text=text, reply_to=REPLY_TO)


def fixed(flow: ConversationFlow) -> None:
    with flow.sessions() as session:
        flow.remember_event(session, THREAD, USER, "fixed")


def ticket_of(session: Session, outcome: Outcome) -> Ticket:
    assert outcome.escalation == "opened" and outcome.ticket_number is not None
    session.expire_all()
    ticket = get_ticket_by_number(session=session, number=outcome.ticket_number)
    assert ticket is not None
    return ticket


def test_after_a_fixed_problem_the_ticket_is_about_the_new_one(
    flow: ConversationFlow, session: Session
) -> None:
    assert say(flow, "epic keeps logging me out every few minutes").escalation is None
    fixed(flow)

    asked = say(flow, "can't hear anything on my vocera badge")
    ticket = ticket_of(session, say(flow, "4 West room 12, no patient waiting"))

    assert asked.escalation == "ask_details"
    assert ticket.summary == "can't hear anything on my vocera badge"
    assert ticket.system != "Epic" and ticket.category != "ehr"
    assert ticket.articles == []  # the Epic article answered the problem that was fixed


def test_a_follow_up_belongs_to_the_question_before_it(flow: ConversationFlow, session: Session) -> None:
    say(flow, "epic keeps logging me out every few minutes")

    say(flow, "what about on the wow")  # the assistant has no answer for it alone: escalation
    ticket = ticket_of(session, say(flow, "ICU bed 7, yes"))

    assert ticket.summary == "epic keeps logging me out every few minutes"
    assert ticket.articles == ["ehr/epic-login-problems"]


def test_a_new_question_without_fixed_still_makes_a_ticket_about_itself(
    flow: ConversationFlow, session: Session
) -> None:
    say(flow, "epic keeps logging me out every few minutes")

    say(flow, "can't hear on vocera")  # short, but it names a system of its own
    ticket = ticket_of(session, say(flow, "ICU bed 7, no"))

    assert ticket.summary == "can't hear on vocera"
    assert ticket.articles == [] and ticket.system != "Epic"


def test_a_bare_ask_for_a_person_is_asked_the_problem_and_the_ticket_states_it(
    flow: ConversationFlow, session: Session
) -> None:
    asked = say(flow, "talk to a human please")
    ticket = ticket_of(session, say(flow, "ICU bed 7, vocera can't hear anything, no patient waiting"))

    assert asked.escalation == "ask_details" and asked.reply is not None
    assert "what the problem is" in asked.reply.text
    assert ticket.summary == "vocera can't hear anything"
    assert ticket.location == "ICU, bed 7" and ticket.patient_waiting is False
    assert ticket.reason == "human"


def test_an_ask_for_a_person_that_says_the_problem_is_not_asked_it_again(flow: ConversationFlow) -> None:
    asked = say(flow, "talk to a human, the label printer on 4 West prints blank labels")

    assert asked.reply is not None and "what the problem is" not in asked.reply.text


def test_a_person_writing_in_spanish_is_asked_for_details_and_told_the_number_in_spanish(
    flow: ConversationFlow, session: Session
) -> None:
    asked = say(flow, "la vocera no suena y no puedo hablar con la farmacia")
    opened = say(flow, "UCI cama 7, sí")  # too short to say its language: the conversation's sticks
    ticket = ticket_of(session, opened)

    assert asked.escalation == "ask_details" and asked.reply is not None and opened.reply is not None
    assert asked.reply.text.startswith("No encontré un artículo que responda a esto.")
    assert "dígame en un solo mensaje" in asked.reply.text
    assert "en qué unidad o habitación" in asked.reply.text
    assert "tell me" not in asked.reply.text
    assert f"Abrí el ticket **{ticket.number}**" in opened.reply.text
    assert ticket.location == "UCI, cama 7" and ticket.patient_waiting is True


def test_nobody_saying_whether_a_patient_waits_leaves_it_unknown(
    flow: ConversationFlow, session: Session
) -> None:
    say(flow, "can't hear anything on my vocera badge")
    ticket = ticket_of(session, say(flow, "4 West room 12"))

    assert ticket.patient_waiting is None
