"""The escalation flow a channel adapter calls, on SQLite and PostgreSQL: one follow-up question at
most, then a ticket number in the thread; the patient-details note said once per conversation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from bot.config import Settings
from bot.conversations.models import Conversation, Turn
from bot.conversations.queries import add_turns
from bot.tickets.actions import resolve_ticket
from bot.tickets.escalation import (
    PHI_NOTE_EVENT,
    EscalationStep,
    finish_escalation,
    pending_request,
    start_escalation,
    waiting_for_details,
)
from bot.tickets.queries import get_ticket_by_number, list_events
from bot.tickets.replies import PHI_NOTE

REPLY_TO = {"channel": "C42", "thread_ts": "1700.5"}


def conversation(
    session: Session, *turns: Turn, thread: str = "C42:1700.5", user: str = "U7"
) -> Conversation:
    return add_turns(session=session, channel="slack", thread_key=thread, user_id=user, turns=list(turns))


def start(session: Session, settings: Settings, conv: Conversation, **overrides: Any) -> EscalationStep:
    values: dict[str, Any] = {
        "requester": conv.user_id,
        "channel": "slack",
        "reply_to": REPLY_TO,
        "reason": "stuck",
        "articles": ["printing/specimen-label-printer"],
        "systems": ["Zebra label printer"],
    }
    values.update(overrides)
    return start_escalation(session=session, settings=settings, conversation=conv, **values)


def reread(session: Session, conv: Conversation) -> Conversation:
    session.expire_all()
    fresh = session.get(Conversation, conv.id)
    assert fresh is not None
    return fresh


def test_the_bot_asks_one_question_for_only_what_is_missing(session: Session, db_settings: Settings) -> None:
    conv = conversation(
        session,
        Turn(role="user", text="specimen label printer on 4 West not printing"),
        Turn(role="bot", decision="answer", articles=["printing/specimen-label-printer"]),
    )

    step = start(session, db_settings, conv)

    assert step.kind == "ask_details" and step.ticket_number is None
    assert "which device it is" in step.text and "whether a patient is waiting" in step.text
    assert "which unit or room" not in step.text  # "4 West" was said already
    assert PHI_NOTE in step.text
    stored = reread(session, conv)
    assert waiting_for_details(stored)
    request = pending_request(stored)
    assert request is not None and (request.reason, request.reply_to) == ("stuck", REPLY_TO)


def test_the_answer_opens_the_ticket_with_its_details_and_says_what_happens_next(
    session: Session, db_settings: Settings
) -> None:
    conv = conversation(session, Turn(role="user", text="specimen label printer on 4 West not printing"))
    start(session, db_settings, conv)

    step = finish_escalation(
        session=session,
        settings=db_settings,
        conversation=reread(session, conv),
        details="PRN-4W-LBL02, yes stat labs",
    )

    assert step.kind == "opened" and step.ticket_number == "IT-000001"
    assert "**IT-000001**" in step.text and "reply in this thread" in step.text and "x4357" in step.text
    assert PHI_NOTE not in step.text  # said once, with the question
    ticket = get_ticket_by_number(session=session, number="IT-000001")
    assert ticket is not None
    assert (ticket.location, ticket.device, ticket.patient_waiting, ticket.priority) == (
        "4 West",
        "PRN-4W-LBL02",
        True,
        1,
    )
    assert ticket.reply_to == REPLY_TO and ticket.reason == "stuck"
    assert [t.get("text") for t in ticket.transcript if t["role"] == "user"] == [
        "specimen label printer on 4 West not printing",
        "PRN-4W-LBL02, yes stat labs",
    ]
    stored = reread(session, conv)
    assert stored.state == ""
    assert stored.turns[-1]["text"] == "ticket IT-000001 opened"


def test_nothing_missing_opens_at_once(session: Session, db_settings: Settings) -> None:
    conv = conversation(session, Turn(role="user", text="epic frozen on wow 12 in the ICU, patient waiting"))

    step = start(session, db_settings, conv, articles=["ehr/epic-slow-or-freezing"], systems=["Epic"])

    assert step.kind == "opened"
    assert PHI_NOTE in step.text


def test_a_retried_click_while_the_question_is_out_asks_again_and_changes_nothing(
    session: Session, db_settings: Settings
) -> None:
    conv = conversation(session, Turn(role="user", text="label printer not printing"))
    start(session, db_settings, conv)
    turns_before = list(reread(session, conv).turns)

    again = start(session, db_settings, reread(session, conv))

    assert again.kind == "ask_details" and PHI_NOTE not in again.text
    assert reread(session, conv).turns == turns_before


def test_the_patient_details_note_is_said_once_per_conversation(
    session: Session, db_settings: Settings
) -> None:
    conv = conversation(session, Turn(role="user", text="label printer not printing"))
    first = start(session, db_settings, conv)
    finish_escalation(
        session=session, settings=db_settings, conversation=reread(session, conv), details="4W, wow 3, no"
    )
    resolve_ticket(session=session, settings=db_settings, number="IT-000001")
    add_turns(
        session=session,
        channel="slack",
        thread_key=conv.thread_key,
        user_id="U7",
        turns=[Turn(role="user", text="now the wristband printer is jammed too")],
    )

    second = start(session, db_settings, reread(session, conv), systems=["Zebra wristband printer"])

    assert PHI_NOTE in first.text and PHI_NOTE not in second.text
    notes = [t for t in reread(session, conv).turns if t.get("text") == PHI_NOTE_EVENT]
    assert len(notes) == 1


def test_asking_for_a_person_is_summarised_by_the_problem_not_the_request(
    session: Session, db_settings: Settings
) -> None:
    conv = conversation(
        session,
        Turn(role="user", text="pyxis on 5 north says communication failure"),
        Turn(role="bot", decision="escalate"),
        Turn(role="user", text="talk to a human"),
    )

    step = start(session, db_settings, conv, reason="human", articles=[], systems=[])
    opened = finish_escalation(
        session=session, settings=db_settings, conversation=reread(session, conv), details="no"
    )

    assert step.kind == "ask_details" and opened.kind == "opened"
    ticket = get_ticket_by_number(session=session, number=opened.ticket_number or "")
    assert ticket is not None
    assert (ticket.summary, ticket.system, ticket.reason) == (
        "pyxis on 5 north says communication failure",
        "Pyxis MedStation",
        "human",
    )
    assert [e.kind.value for e in list_events(session=session, ticket_id=ticket.id)] == ["created", "details"]


def test_a_conversation_the_database_has_not_seen_yet_is_stored_scrubbed(
    session: Session, db_settings: Settings
) -> None:
    fresh = Conversation(
        channel="web",
        thread_key="web:abc",
        user_id="web-1",
        turns=[
            {"role": "user", "text": "epic frozen for pt Okonkwo on 4 West, no patient waiting", "at": ""}
        ],
    )

    step = start_escalation(
        session=session,
        settings=db_settings,
        conversation=fresh,
        requester="web-1",
        channel="web",
        reply_to={"session": "abc"},
        reason="escalate",
        articles=[],
        systems=["Epic"],
    )

    assert step.kind == "opened"
    stored = session.get(Conversation, fresh.id)
    assert stored is not None and "Okonkwo" not in str(stored.turns)


def test_finishing_without_a_pending_question_still_opens_a_ticket(
    session: Session, db_settings: Settings
) -> None:
    conv = conversation(session, Turn(role="user", text="vocera badge won't log in"))

    step = finish_escalation(
        session=session, settings=db_settings, conversation=conv, details="6 West, no rush"
    )

    assert step.kind == "opened"
    ticket = get_ticket_by_number(session=session, number="IT-000001")
    assert ticket is not None and ticket.requester == "U7" and ticket.channel == "slack"


@pytest.mark.parametrize("reason", ["escalate", "stuck", "human"])
def test_every_reason_is_recorded_on_the_ticket(session: Session, db_settings: Settings, reason: str) -> None:
    conv = conversation(session, Turn(role="user", text="epic frozen in the ICU bed 4, pt waiting"))

    step = start(session, db_settings, conv, reason=reason, systems=["Epic"], articles=[])

    ticket = get_ticket_by_number(session=session, number=step.ticket_number or "")
    assert ticket is not None and ticket.reason == reason
