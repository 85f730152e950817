"""The flow scrubs a message once, as it enters (DESIGN.md step 2): the core, the notices, tickets
and the database only ever see the scrubbed text, and the core still knows identifiers were sent."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import select

from bot.config import Settings
from bot.conversations.flow import ConversationFlow
from bot.core.models import Question, Turn
from bot.db import session_factory
from bot.interactions.conversation_models import Conversation
from bot.interactions.models import Interaction
from tests.fakes.assistant import FakeAssistant

RAW = "epic froze for pt Okonkwo MRN 00482913"
SCRUBBED = "epic froze for pt [NAME] MRN [MRN]"


def test_the_core_gets_the_message_scrubbed_with_what_was_replaced(
    db_settings: Settings, db_engine: Engine
) -> None:
    assistant = FakeAssistant()
    flow = ConversationFlow(db_settings, assistant, session_factory(db_engine), channel="web")

    flow.on_message(thread_key="web-" + "a" * 32, user="u1", text=RAW, reply_to={})

    assert assistant.asked_texts == [SCRUBBED]
    assert assistant.questions[0].scrubbed_counts == {"NAME": 1, "MRN": 1}


def test_what_the_flow_stores_of_a_message_is_scrubbed(db_settings: Settings, db_engine: Engine) -> None:
    sessions = session_factory(db_engine)
    flow = ConversationFlow(db_settings, FakeAssistant(), sessions, channel="web")

    flow.on_message(thread_key="web-" + "b" * 32, user="u1", text=RAW, reply_to={})

    with sessions() as session:
        turns = session.exec(select(Conversation)).one().turns
        questions = [row.question for row in session.exec(select(Interaction))]
    assert [t["text"] for t in turns if t["role"] == "user"] == [SCRUBBED]
    assert questions == [SCRUBBED]


def test_a_message_outside_a_conversation_enters_scrubbed_history_included(
    db_settings: Settings, db_engine: Engine
) -> None:
    assistant = FakeAssistant()
    flow = ConversationFlow(db_settings, assistant, session_factory(db_engine), channel="web")
    question = Question(text=RAW, channel="web", history=(Turn(role="user", text=f"earlier: {RAW}"),))

    flow.on_single(question)

    seen = assistant.questions[0]
    assert seen.text == SCRUBBED
    assert [t.text for t in seen.history] == [f"earlier: {SCRUBBED}"]
    assert seen.scrubbed_counts == {"NAME": 1, "MRN": 1}
