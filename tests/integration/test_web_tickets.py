"""The web chat escalates into tickets and hears back from IT, over real HTTP.

The page sends a conversation id with every question; with it ``POST /api/ask`` runs the conversation
flow: the bot can't answer (or the person is still stuck, or asks for a human) → one follow-up
question → a ticket, and while the ticket is open what the person types goes to IT. IT's replies
travel through the outbox (``WebChatSender``, run by the worker) into the conversation, where the
page polls ``GET /api/conversations/{id}/messages``. The assistant is the deterministic fake (it
escalates anything not about "epic" or "print").
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlmodel import col, select

from bot.channels.cli.main import EXIT_OK, main
from bot.channels.web.sender import WebChatSender
from bot.config import Settings
from bot.conversations.models import Conversation
from bot.conversations.queries import get_conversation
from bot.main import create_app
from bot.request_guards import WebLimits
from bot.tickets.actions import reply_to_requester, resolve_ticket
from bot.tickets.delivery import DeliveryError
from bot.tickets.models import AuthorRole, Ticket, TicketEvent
from bot.tickets.opening import DETAILS_PENDING_STATE
from bot.tickets.outbox_models import OutboxMessage
from bot.tickets.worker import run_worker
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

CONTRACT_KEYS = {"decision", "text", "citations", "notice", "actions", "interaction_id"}
CONVERSATION_KEYS = {"conversation", "ticket", "relayed_to", "escalation", "asked", "turn", "aside"}
CONVERSATION = "web-" + "3f" * 16
OTHER_CONVERSATION = "web-" + "0c" * 16
USER = "web-nurse0001"
UNANSWERABLE = "the badge reader on my wow beeps red"
DETAILS = "4 West room 12, yes a patient is waiting"


@pytest.fixture
def assistant() -> FakeAssistant:
    return FakeAssistant()


@pytest.fixture
def server(db_settings: Settings, assistant: FakeAssistant) -> Iterator[LiveServer]:
    """The app on SQLite and on PostgreSQL."""
    with serve(create_app(db_settings, assistant=assistant)) as live:
        yield live


@pytest.fixture
def sqlite_server(web_settings: Settings, assistant: FakeAssistant) -> Iterator[LiveServer]:
    """The app on SQLite only, for what does not depend on the database."""
    with serve(create_app(web_settings, assistant=assistant)) as live:
        yield live


def say(
    server: LiveServer, words: str, *, conversation: str | None = CONVERSATION, **more: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"text": words, "user": USER, **more}
    if conversation is not None:
        body["conversation"] = conversation
    response = httpx.post(f"{server.url}/api/ask", json=body, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def click_stuck(
    server: LiveServer, interaction_id: str, *, conversation: str = CONVERSATION, **more: Any
) -> httpx.Response:
    body = {"interaction_id": interaction_id, "helpful": False, "conversation": conversation, **more}
    return httpx.post(f"{server.url}/api/feedback", json=body, timeout=10)


def messages(server: LiveServer, after: int = 0, conversation: str = CONVERSATION) -> httpx.Response:
    return httpx.get(f"{server.url}/api/conversations/{conversation}/messages", params={"after": after})


def open_ticket(server: LiveServer) -> str:
    """Escalate in the conversation and answer the follow-up; the new ticket's number."""
    say(server, UNANSWERABLE)
    opened = say(server, DETAILS)
    assert opened["escalation"] == "opened", opened
    number: str = opened["ticket"]["number"]
    return number


def tickets(server: LiveServer) -> list[Ticket]:
    with server.app.state.sessions() as session:
        return list(session.exec(select(Ticket)).all())


def outbox(server: LiveServer) -> list[OutboxMessage]:
    with server.app.state.sessions() as session:
        return list(
            session.exec(
                select(OutboxMessage).order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
            ).all()
        )


def events(server: LiveServer) -> list[TicketEvent]:
    with server.app.state.sessions() as session:
        return list(session.exec(select(TicketEvent).order_by(col(TicketEvent.id))).all())


def stored_conversation(server: LiveServer, conversation: str = CONVERSATION) -> Conversation | None:
    with server.app.state.sessions() as session:
        return get_conversation(session=session, channel="web", thread_key=conversation)


def deliver(server: LiveServer, settings: Settings) -> int:
    """One pass of the outbox worker with the web chat's sender, as ``itbot worker`` would run it."""
    sessions = server.app.state.sessions
    return run_worker(
        settings, senders={"web": WebChatSender(sessions)}, once=True, engine=server.app.state.engine
    )


def agent_replies(server: LiveServer, settings: Settings, number: str, words: str) -> None:
    with server.app.state.sessions() as session:
        reply_to_requester(session=session, settings=settings, number=number, agent="Alex", text=words)


# -- escalating ---------------------------------------------------------------------------------


def test_an_unanswerable_question_asks_one_follow_up_and_the_answer_opens_a_ticket(
    server: LiveServer,
) -> None:
    asked = say(server, UNANSWERABLE)

    assert set(asked) == CONTRACT_KEYS | CONVERSATION_KEYS
    assert asked["decision"] == "escalate" and asked["escalation"] == "ask_details"
    assert "I couldn't find an article" in asked["text"] and "which unit or room" in asked["text"]
    assert asked["ticket"] is None and asked["relayed_to"] is None
    assert asked["conversation"] == CONVERSATION
    assert asked["actions"] == []
    assert tickets(server) == []

    opened = say(server, DETAILS)

    [ticket] = tickets(server)
    assert opened["escalation"] == "opened"
    assert opened["ticket"] == {"number": ticket.number, "status": "new"}
    assert f"**{ticket.number}**" in opened["text"]
    assert ticket.channel == "web" and ticket.requester == USER
    assert ticket.reply_to == {"conversation": CONVERSATION}
    assert ticket.location and "4 West" in ticket.location and ticket.patient_waiting
    said = [t.get("text") for t in ticket.transcript if t.get("role") == "user"]
    assert said == [UNANSWERABLE, DETAILS]
    assert [(m.target, m.topic) for m in outbox(server)] == [("itsm", "ticket.created")]
    conversation = stored_conversation(server)
    assert conversation is not None and conversation.state == ""


def test_talk_to_a_human_escalates_without_asking_the_core(
    sqlite_server: LiveServer, assistant: FakeAssistant
) -> None:
    asked = say(sqlite_server, "can I talk to a human please, the wow on 3 East won't boot")

    assert asked["decision"] == "escalate" and asked["escalation"] == "ask_details"
    assert "I'll pass this to IT" in asked["text"]
    assert assistant.asked_texts == []


def test_still_stuck_clicked_twice_opens_one_ticket(server: LiveServer) -> None:
    answered = say(server, "epic keeps logging me out on 5 North wow 7, patient waiting")
    assert answered["decision"] == "answer" and answered["actions"] == ["fixed", "stuck"]

    first = click_stuck(server, answered["interaction_id"], render="html")
    second = click_stuck(server, answered["interaction_id"], render="html")

    [ticket] = tickets(server)
    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["escalation"] == "opened" and second.json()["escalation"] == "already_open"
    for clicked in (first.json(), second.json()):
        assert clicked["feedback"] == "unhelpful"
        assert clicked["message"] == "I've noted that. Call the service desk at x4357 if it's urgent."
        assert clicked["ticket"] == {"number": ticket.number, "status": "new"}
        assert clicked["reply"]["decision"] == "escalate"
        assert f"<strong>{ticket.number}</strong>" in clicked["reply"]["html"]
    assert ticket.reason == "stuck"
    assert ticket.articles == ["ehr/epic-login-problems"] and ticket.system == "Epic"


def test_that_fixed_it_is_remembered_in_the_conversation_and_opens_nothing(sqlite_server: LiveServer) -> None:
    answered = say(sqlite_server, "epic password refused")

    response = httpx.post(
        f"{sqlite_server.url}/api/feedback",
        json={"interaction_id": answered["interaction_id"], "helpful": True, "conversation": CONVERSATION},
    )

    assert response.status_code == 200
    assert response.json()["message"] == "Glad that helped." and response.json()["reply"] is None
    conversation = stored_conversation(sqlite_server)
    assert conversation is not None
    assert [t["text"] for t in conversation.turns if t["role"] == "event"] == ["fixed"]
    assert tickets(sqlite_server) == []


def test_a_message_about_the_open_ticket_goes_to_it_not_to_the_bot(sqlite_server: LiveServer) -> None:
    number = open_ticket(sqlite_server)

    relayed = say(sqlite_server, "still beeps red after docking it", render="html")

    assert set(relayed) == CONTRACT_KEYS | CONVERSATION_KEYS | {"html"}
    assert relayed["relayed_to"] == number
    assert relayed["text"] == f"Sent to IT on {number}."
    assert relayed["ticket"] == {"number": number, "status": "new"}
    assert relayed["interaction_id"] is None and relayed["actions"] == []  # no answer was recorded
    comment = events(sqlite_server)[-1]
    assert comment.author_role is AuthorRole.REQUESTER and comment.author == USER
    assert comment.text == "still beeps red after docking it"
    assert [m.topic for m in outbox(sqlite_server)][-1] == "ticket.comment"


def test_the_stored_conversation_is_the_history_not_what_the_page_sends(
    sqlite_server: LiveServer, assistant: FakeAssistant
) -> None:
    say(sqlite_server, "epic won't open")

    say(sqlite_server, "epic still won't open", history=[{"role": "user", "text": "forged history"}])

    history = assistant.questions[-1].history
    assert (history[0].role, history[0].text) == ("user", "epic won't open")
    assert all("forged" not in t.text for t in history)


def test_a_clarify_choice_in_a_conversation_answers_from_the_chosen_article(
    sqlite_server: LiveServer,
) -> None:
    offered = say(sqlite_server, "printer broken")
    assert offered["decision"] == "clarify"

    chosen = say(sqlite_server, "Label printer prints blank labels", article="printing/label-printer")

    assert chosen["decision"] == "answer"
    assert [c["article"] for c in chosen["citations"]] == ["printing/label-printer"]
    assert set(chosen) == CONTRACT_KEYS | CONVERSATION_KEYS
    conversation = stored_conversation(sqlite_server)
    assert conversation is not None
    assert [t["text"] for t in conversation.turns if t["role"] == "event"] == ["chose printing/label-printer"]
    assert [t["role"] for t in conversation.turns] == ["user", "bot", "event", "bot"]


# -- hearing back -------------------------------------------------------------------------------


def test_its_reply_and_the_resolution_reach_the_page_through_the_outbox(
    server: LiveServer, db_settings: Settings
) -> None:
    number = open_ticket(server)
    before = messages(server).json()
    assert before == {"messages": [], "next": 0, "ticket": {"number": number, "status": "new"}}

    agent_replies(server, db_settings, number, "Please dock the WOW and log in again.")
    assert messages(server).json()["messages"] == []  # nothing until the worker delivers it
    deliver(server, db_settings)

    first = messages(server).json()
    [reply] = first["messages"]
    assert set(reply) == {"index", "role", "html", "at", "ticket"}
    assert reply["role"] == "it" and reply["ticket"] == number
    assert f"<strong>Alex from IT</strong> on ticket {number}" in reply["html"]
    assert "Please dock the WOW and log in again." in reply["html"]
    assert first["next"] == reply["index"] and first["ticket"] == {"number": number, "status": "open"}
    assert messages(server, after=first["next"]).json()["messages"] == []
    [delivered] = [m for m in outbox(server) if m.topic == "chat.message"]
    stored = stored_conversation(server)
    assert stored is not None and delivered.external_ref == f"{stored.id}:{reply['index']}"

    with server.app.state.sessions() as session:
        resolve_ticket(session=session, settings=db_settings, number=number, note="Replaced the reader.")
    deliver(server, db_settings)

    second = messages(server, after=first["next"]).json()
    [resolved] = second["messages"]
    assert "IT has resolved ticket" in resolved["html"] and "Replaced the reader." in resolved["html"]
    assert resolved["index"] > reply["index"] and second["next"] == resolved["index"]
    assert second["ticket"] == {"number": number, "status": "resolved"}
    assert len(messages(server).json()["messages"]) == 2  # a reloaded page gets them all again


def test_a_reply_from_the_command_line_reaches_the_page(
    sqlite_server: LiveServer, web_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = open_ticket(sqlite_server)
    for name in list(os.environ):
        if name.startswith(("ITBOT_", "SLACK_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ITBOT_HOME", str(web_settings.home))
    monkeypatch.setenv("DATABASE_URL", web_settings.sqlalchemy_url)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = main(["tickets", "reply", number, "On", "my", "way", "--as", "Sam"])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert code == EXIT_OK

    # As ``itbot worker`` runs it: its own engine, the web sender built from the settings.
    run_worker(web_settings, senders={"web": WebChatSender.from_settings(web_settings)}, once=True)

    [reply] = messages(sqlite_server).json()["messages"]
    assert "<strong>Sam from IT</strong>" in reply["html"] and "On my way" in reply["html"]


def test_cursors_keep_growing_when_old_turns_are_dropped(
    sqlite_server: LiveServer, web_settings: Settings
) -> None:
    # 45 messages in a few seconds is over the per-conversation rate limit: lift it for this test.
    unlimited = web_settings.model_copy(update={"asks_per_minute_per_conversation": 0})
    sqlite_server.app.state.web_limits = WebLimits.from_settings(unlimited)
    number = open_ticket(sqlite_server)
    agent_replies(sqlite_server, web_settings, number, "First reply.")
    deliver(sqlite_server, web_settings)
    cursor = messages(sqlite_server).json()["next"]
    for n in range(45):  # more than a conversation keeps: the first reply's turn is dropped
        say(sqlite_server, f"more detail number {n}")

    agent_replies(sqlite_server, web_settings, number, "Second reply.")
    deliver(sqlite_server, web_settings)

    [second] = messages(sqlite_server, after=cursor).json()["messages"]
    assert "Second reply." in second["html"]


def test_every_reporter_of_a_folded_ticket_hears_back_in_their_own_conversation(
    sqlite_server: LiveServer, web_settings: Settings
) -> None:
    outage = "epic is down for everyone on 4 West, nobody can log in, patients waiting"
    numbers = []
    for conversation in (CONVERSATION, OTHER_CONVERSATION):
        answered = say(sqlite_server, outage, conversation=conversation)
        clicked = click_stuck(sqlite_server, answered["interaction_id"], conversation=conversation)
        numbers.append(clicked.json()["ticket"]["number"])
    assert numbers[0] == numbers[1], "the second report should join the first one's ticket"

    agent_replies(sqlite_server, web_settings, numbers[0], "Epic is back; log in again.")
    deliver(sqlite_server, web_settings)

    for conversation in (CONVERSATION, OTHER_CONVERSATION):
        [reply] = messages(sqlite_server, conversation=conversation).json()["messages"]
        assert "Epic is back" in reply["html"]


def test_the_web_sender_refuses_unknown_conversations_for_good_and_waits_out_the_database(
    sqlite_server: LiveServer,
) -> None:
    sender = WebChatSender(sqlite_server.app.state.sessions)
    fields: dict[str, Any] = {"text": "hi", "actions": [], "ticket_number": "IT-000001", "kind": "requester"}

    with pytest.raises(DeliveryError) as unknown:
        sender.send(reply_to={"conversation": OTHER_CONVERSATION}, **fields)
    with pytest.raises(DeliveryError) as malformed:
        sender.send(reply_to={"channel": "C1"}, **fields)
    say(sqlite_server, "epic login")
    with sqlite_server.app.state.engine.begin() as connection:
        connection.execute(text("drop table conversation"))
    with pytest.raises(DeliveryError) as down:
        sender.send(reply_to={"conversation": CONVERSATION}, **fields)

    assert unknown.value.permanent and malformed.value.permanent
    assert down.value.unavailable and not down.value.permanent


# -- patient identifiers -------------------------------------------------------------------------

PHI_QUESTION = "Patient John Smith MRN 00123456 DOB 03/04/1950 badge reader beeps red, call back 555-123-4567"
PHI_DETAILS = "4 West room 12 for pt Maria Okonkwo MRN 00765432, patient waiting"
PHI_LATER = "also her DOB is 01/02/1960 and phone (555) 222-3333"
PHI_AGENT = "Called 555-987-6543 about MRN 00999999 for Mrs. Lindqvist"
PHI_PIECES = [
    "John",
    "Smith",
    "00123456",
    "03/04/1950",
    "555-123-4567",
    "Maria",
    "Okonkwo",
    "00765432",
    "01/02/1960",
    "222-3333",
    "555-987-6543",
    "00999999",
    "Lindqvist",
]


def test_phi_typed_into_the_web_chat_reaches_no_row_payload_log_or_page(
    server: LiveServer, db_settings: Settings, all_logs: pytest.LogCaptureFixture
) -> None:
    asked = say(server, PHI_QUESTION)
    opened = say(server, PHI_DETAILS)
    relayed = say(server, PHI_LATER)
    number = opened["ticket"]["number"]
    agent_replies(server, db_settings, number, PHI_AGENT)
    deliver(server, db_settings)
    page = messages(server)

    with server.app.state.engine.connect() as connection:
        rows = "\n".join(
            str(tuple(row))
            for table in inspect(connection).get_table_names()
            for row in connection.execute(text(f'select * from "{table}"'))
        )
    payloads = "\n".join(json.dumps(m.payload) for m in outbox(server))
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in all_logs.records)
    answers = json.dumps([asked, opened, relayed])
    leaks = {
        where: [piece for piece in PHI_PIECES if piece in found]
        for where, found in (
            ("rows", rows),
            ("outbox", payloads),
            ("logs", logged),
            ("answers", answers),
            ("page", page.text),
        )
    }

    assert leaks == {"rows": [], "outbox": [], "logs": [], "answers": [], "page": []}
    assert relayed["relayed_to"] == number
    assert "[MRN]" in rows and "[NAME]" in payloads and "[PHONE]" in page.text


# -- bad input and the old behaviour -------------------------------------------------------------


@pytest.mark.parametrize(
    "conversation",
    [
        "nope",
        "web-XYZ",
        "web-" + "A3" * 16,
        "web-" + "a" * 33,
        "web-" + "a" * 31,
        "",
        123,
        ["web-"],
        {"id": 1},
    ],
    ids=["word", "short", "uppercase", "too-long", "too-short", "empty", "number", "list", "object"],
)
def test_a_malformed_conversation_id_is_a_clear_422(sqlite_server: LiveServer, conversation: object) -> None:
    asked = httpx.post(f"{sqlite_server.url}/api/ask", json={"text": "epic", "conversation": conversation})
    feedback = httpx.post(
        f"{sqlite_server.url}/api/feedback",
        json={"interaction_id": "abc", "helpful": False, "conversation": conversation},
    )

    for response in (asked, feedback):
        assert response.status_code == 422
        assert response.json()["error"] == "invalid_conversation"
        assert set(response.json()) == {"error", "message"}
    assert tickets(sqlite_server) == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/api/conversations/{CONVERSATION}/messages", 404),  # a well-formed id nobody used
        ("/api/conversations/nope/messages", 404),
        ("/api/conversations/web-" + "A3" * 16 + "/messages", 404),
        ("/api/conversations/" + "x" * 5000 + "/messages", 404),
        (f"/api/conversations/{CONVERSATION}/messages?after=-1", 422),
        (f"/api/conversations/{CONVERSATION}/messages?after=abc", 422),
        (f"/api/conversations/{CONVERSATION}/messages?after=99999999999999999999", 422),
    ],
    ids=["unknown", "word", "uppercase", "huge", "negative", "not-a-number", "past-js-numbers"],
)
def test_bad_message_polls_get_a_clear_4xx(sqlite_server: LiveServer, path: str, status: int) -> None:
    response = httpx.get(f"{sqlite_server.url}{path}")

    assert response.status_code == status
    assert set(response.json()) == {"error", "message"}


def test_without_a_conversation_everything_is_as_before(sqlite_server: LiveServer) -> None:
    asked = say(sqlite_server, UNANSWERABLE, conversation=None)
    nulled = httpx.post(
        f"{sqlite_server.url}/api/ask", json={"text": UNANSWERABLE, "conversation": None}
    ).json()
    answered = say(sqlite_server, "epic login", conversation=None)
    stuck = httpx.post(
        f"{sqlite_server.url}/api/feedback",
        json={"interaction_id": answered["interaction_id"], "helpful": False},
    )

    assert set(asked) == CONTRACT_KEYS and set(nulled) == CONTRACT_KEYS
    assert asked["decision"] == "escalate" and "which unit" not in asked["text"]
    assert stuck.json() == {
        "interaction_id": answered["interaction_id"],
        "feedback": "unhelpful",
        "message": "I've noted that. Call the service desk at x4357 if it's urgent.",
    }
    assert tickets(sqlite_server) == []
    with sqlite_server.app.state.sessions() as session:
        assert session.exec(select(Conversation)).all() == []


def test_a_blank_message_in_a_conversation_changes_nothing(sqlite_server: LiveServer) -> None:
    say(sqlite_server, UNANSWERABLE)

    blank = say(sqlite_server, "   ")

    assert blank["decision"] == "clarify" and blank["ticket"] is None
    conversation = stored_conversation(sqlite_server)
    assert conversation is not None and conversation.state == DETAILS_PENDING_STATE
    assert tickets(sqlite_server) == []


def test_the_database_down_never_gives_a_500(
    sqlite_server: LiveServer, all_logs: pytest.LogCaptureFixture
) -> None:
    say(sqlite_server, "epic login")
    with sqlite_server.app.state.engine.begin() as connection:
        connection.execute(text("drop table conversation"))

    answered = say(sqlite_server, "epic still refuses my password")
    escalated = say(sqlite_server, "can I talk to a human")
    polled = messages(sqlite_server)

    assert answered["decision"] == "answer"
    assert escalated["escalation"] == "kept" and "x4357" in escalated["text"]
    assert polled.status_code == 503 and polled.json()["error"] == "unavailable"
    assert "event=conversation_messages_failed" in all_logs.text


def test_the_chat_page_carries_its_poll_interval(sqlite_server: LiveServer) -> None:
    default = httpx.get(f"{sqlite_server.url}/").text
    sqlite_server.app.state.web_poll_seconds = 0.25
    quick = httpx.get(f"{sqlite_server.url}/").text

    assert 'data-poll-seconds="10"' in default
    assert 'data-poll-seconds="0.25"' in quick
    assert "New conversation" in quick
    assert 'role="status"' in quick
