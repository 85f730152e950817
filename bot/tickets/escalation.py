"""The escalation flow, the same for every channel: from "I can't help" to a ticket number in the thread.

An adapter calls ``start_escalation`` when the bot escalates, when the person clicks "Still stuck",
or when ``wants_person`` recognises "talk to a human". The flow then either

* asks **one** short follow-up for what IT would otherwise ask (unit or room, the device when it is
  likely one device, whether a patient is waiting; only what the conversation does not say yet):
  the conversation's ``state`` becomes ``DETAILS_PENDING_STATE`` and the request waits in the
  conversation itself (its newest escalation event turn), and the adapter hands the person's next
  message to ``finish_escalation``; or
* opens the ticket at once when nothing useful is missing.

The ticket is about the problem escalated (``transcripts.current_problem``): when the person asked
for someone without saying what is wrong, the follow-up asks for that first. Everything the person
is told is in the conversation's language (``language_of_turns``, ``bot.tickets.replies``).

Opening folds the report into a matching open incident when others reported the same problem
(``joined``). A conversation that already has an open ticket gets that ticket back
(``already_open``), never a second one, so a retried "Still stuck" click is safe. The person is told
once per conversation not to paste patient details (an event turn records that it was said).

If the database fails, the escalation is kept in the spool (``bot.tickets.spool``) and the person is
told so plainly (``kept``); only if even that fails is the person asked to call (``failed``).
Every function commits its own transaction and returns an ``EscalationStep``: what to say. The
stored conversation is updated (turns, state); the caller's own copy is not, so re-read it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from bot.config import Settings
from bot.core.language import Language, conversation_language
from bot.core.scrub import scrub_text
from bot.interactions.conversation_models import Conversation
from bot.interactions.models import utcnow
from bot.tickets.details import category_of, details_from_texts, missing_details
from bot.tickets.models import Ticket, priority_label
from bot.tickets.opening import DETAILS_PENDING_STATE, EscalationRequest, log_opened, open_ticket
from bot.tickets.queries import open_ticket_for_conversation, stored_conversation
from bot.tickets.replies import (
    already_open_text,
    ask_details_text,
    failed_text,
    joined_text,
    kept_text,
    opened_text,
)
from bot.tickets.spool import spool_escalation
from bot.tickets.transcripts import (
    appended,
    current_problem,
    earlier_problem_articles,
    new_turn,
    person_texts,
    scrub_turns,
)

log = logging.getLogger(__name__)

EscalationKind = Literal["ask_details", "opened", "joined", "already_open", "kept", "failed"]
EscalationReason = Literal["escalate", "stuck", "human"]

PHI_NOTE_EVENT = "reminded not to paste patient identifiers"  # scrubbing leaves it as it is
REQUEST_KEY = "escalation"
_REASON_WORDS = {"escalate": "the bot had no answer", "stuck": "still stuck", "human": "asked for a person"}


@dataclass(frozen=True)
class EscalationStep:
    """What the flow did and what to tell the person (Markdown); the ticket's number once there is one."""

    kind: EscalationKind
    text: str
    ticket_number: str | None = None


def waiting_for_details(conversation: Conversation) -> bool:
    """True when the conversation's next message is the answer to the escalation's follow-up question."""
    return conversation.state == DETAILS_PENDING_STATE


def pending_request(conversation: Conversation) -> EscalationRequest | None:
    """The escalation request waiting in the conversation (its newest escalation event), or None."""
    for turn in reversed(conversation.turns):
        if isinstance(turn, dict) and REQUEST_KEY in turn:
            with contextlib.suppress(ValidationError):
                return EscalationRequest.model_validate(turn[REQUEST_KEY])
    return None


def start_escalation(
    *,
    session: Session,
    settings: Settings,
    conversation: Conversation,
    requester: str,
    channel: str,
    reply_to: dict[str, Any],
    reason: EscalationReason,
    articles: list[str],
    systems: list[str],
) -> EscalationStep:
    """Begin handing ``conversation`` to IT: ask one follow-up question, or open the ticket now.

    ``articles`` are the articles the bot offered (best first) and ``systems`` their systems; those
    the bot answered an earlier problem with (``transcripts.current_problem``) are left out, and
    ``systems`` with them (which article gave which system is not known here). When the person
    never said what is wrong ("talk to a human"), the follow-up asks that first. Everything said is
    in the conversation's language. Returns ``ask_details``, ``opened``, ``joined``,
    ``already_open``, ``kept`` or ``failed``; commits.
    """
    turns = scrub_turns(conversation.turns)
    stale = set(earlier_problem_articles(turns))
    if stale.intersection(articles):
        articles, systems = [a for a in articles if a not in stale], []
    language = language_of_turns(turns)
    request = EscalationRequest(
        conversation_id=conversation.id,
        requester=requester,
        channel=channel,
        reply_to=dict(reply_to),
        reason=reason,
        articles=list(articles),
        systems=list(systems),
    )
    try:
        existing = open_ticket_for_conversation(session=session, conversation_id=conversation.id)
        if existing is not None:
            return _already_open(existing, conversation, language)
        problem = current_problem(turns)
        category = category_of(list(problem.texts), request.articles, request.systems)
        missing = missing_details(details_from_texts(list(problem.since)), category=category)
        if not problem.question:
            missing = ("problem", *missing)
        if waiting_for_details(conversation):
            # A retried click while the question is out: ask again, change nothing.
            again = ask_details_text(missing or ("urgency",), phi_note=False, language=language)
            return EscalationStep("ask_details", again)
        if not missing:
            return _open(session, settings, conversation, request, details="")
        phi_note = not told_not_to_paste(turns)
        asked = new_turn(
            "event",
            f"escalation requested ({_REASON_WORDS.get(reason, reason)}); asked for details",
            articles=list(articles),
            **{REQUEST_KEY: request.model_dump()},
        )
        stored = stored_conversation(session=session, conversation=conversation)
        extra = [asked, new_turn("event", PHI_NOTE_EVENT)] if phi_note else [asked]
        stored.turns = appended(stored.turns, extra)
        stored.state = DETAILS_PENDING_STATE
        stored.updated_at = utcnow()
        session.add(stored)
        session.commit()
    except IntegrityError:
        return _after_conflict(session, settings, conversation, request, turns, details="")
    except SQLAlchemyError as exc:
        key = conversation.thread_key
        return _keep(session, settings, request, turns, details="", error=exc, thread_key=key)
    log.info(
        "event=escalation_asked conversation=%s reason=%s channel=%s missing=%s",
        conversation.id,
        reason,
        channel,
        ",".join(missing),
    )
    return EscalationStep("ask_details", ask_details_text(missing, phi_note=phi_note, language=language))


def finish_escalation(
    *, session: Session, settings: Settings, conversation: Conversation, details: str
) -> EscalationStep:
    """Open the ticket with the person's answer to the follow-up question (``details``, their next
    message): unit or room, device and urgency are read from it (``bot.tickets.details``).

    Returns ``opened`` (with the number and what happens next), ``joined`` (others reported it too),
    ``already_open``, ``kept`` or ``failed``; commits.
    """
    request = pending_request(conversation) or EscalationRequest(
        conversation_id=conversation.id, requester=conversation.user_id, channel=conversation.channel
    )
    details = scrub_text(details)
    turns = scrub_turns(conversation.turns)
    try:
        existing = open_ticket_for_conversation(session=session, conversation_id=conversation.id)
        if existing is not None:
            stored = stored_conversation(session=session, conversation=conversation)
            stored.state = ""
            session.add(stored)
            session.commit()
            return _already_open(existing, conversation, language_of_turns(turns, details))
        return _open(session, settings, conversation, request, details=details)
    except IntegrityError:
        return _after_conflict(session, settings, conversation, request, turns, details=details)
    except SQLAlchemyError as exc:
        answered = [*turns, new_turn("user", details)] if details else turns
        key = conversation.thread_key
        return _keep(session, settings, request, answered, details=details, error=exc, thread_key=key)


def language_of_turns(turns: list[dict[str, Any]], details: str = "") -> Language:
    """The language the conversation's person writes in (their messages, then ``details``)."""
    return conversation_language([*person_texts(turns), details])


def told_not_to_paste(turns: list[dict[str, Any]]) -> bool:
    """True when the conversation was already told not to paste patient details."""
    return any(t.get("role") == "event" and t.get("text") == PHI_NOTE_EVENT for t in turns)


def _open(
    session: Session,
    settings: Settings,
    conversation: Conversation,
    request: EscalationRequest,
    *,
    details: str,
) -> EscalationStep:
    stored = stored_conversation(session=session, conversation=conversation)
    turns = appended(stored.turns, [new_turn("user", details)] if details else [])
    opened = open_ticket(session=session, settings=settings, request=request, turns=turns, details=details)
    ticket = opened.ticket
    phi_note = not told_not_to_paste(turns)
    said = f"joined ticket {ticket.number}" if opened.joined else f"ticket {ticket.number} opened"
    extra = [new_turn("event", said)] + ([new_turn("event", PHI_NOTE_EVENT)] if phi_note else [])
    stored.turns = appended(turns, extra)
    stored.state = ""
    stored.updated_at = utcnow()
    session.add(stored)
    session.commit()
    log_opened(opened, source="chat")
    phone = settings.service_desk_phone
    language = language_of_turns(turns)
    if opened.joined:
        text = joined_text(
            ticket.number, affected=ticket.affected_count, phone=phone, phi_note=phi_note, language=language
        )
        return EscalationStep("joined", text, ticket.number)
    label = priority_label(ticket.priority)
    return EscalationStep(
        "opened",
        opened_text(ticket.number, priority_label=label, phone=phone, phi_note=phi_note, language=language),
        ticket.number,
    )


def _already_open(ticket: Ticket, conversation: Conversation, language: Language) -> EscalationStep:
    log.info("event=escalation_already_open conversation=%s number=%s", conversation.id, ticket.number)
    text = already_open_text(ticket.number, language=language)
    return EscalationStep("already_open", text, ticket.number)


def _after_conflict(
    session: Session,
    settings: Settings,
    conversation: Conversation,
    request: EscalationRequest,
    turns: list[dict[str, Any]],
    *,
    details: str,
) -> EscalationStep:
    """Another process opened a ticket for this conversation at the same moment: answer with it."""
    session.rollback()
    try:
        existing = open_ticket_for_conversation(session=session, conversation_id=conversation.id)
    except SQLAlchemyError as exc:
        return _keep(
            session, settings, request, turns, details=details, error=exc, thread_key=conversation.thread_key
        )
    if existing is not None:
        return _already_open(existing, conversation, language_of_turns(turns, details))
    log.error("event=escalation_conflict conversation=%s", conversation.id)
    return _keep(
        session, settings, request, turns, details=details, error=None, thread_key=conversation.thread_key
    )


def _keep(
    session: Session,
    settings: Settings,
    request: EscalationRequest,
    turns: list[dict[str, Any]],
    *,
    details: str,
    error: BaseException | None,
    thread_key: str,
) -> EscalationStep:
    with contextlib.suppress(SQLAlchemyError):
        session.rollback()
    phone = settings.service_desk_phone
    language = language_of_turns(turns, details)
    error_name = type(error).__name__ if error is not None else "-"
    try:
        spool_escalation(
            settings=settings, request=request, turns=turns, details=details, thread_key=thread_key
        )
    except OSError as exc:
        log.error(
            "event=escalation_lost conversation=%s db_error=%s spool_error=%s",
            request.conversation_id,
            error_name,
            type(exc).__name__,
        )
        return EscalationStep("failed", failed_text(phone, language=language))
    log.warning("event=escalation_kept conversation=%s db_error=%s", request.conversation_id, error_name)
    return EscalationStep("kept", kept_text(phone, language=language))


def withdraw_escalation(*, session: Session, conversation: Conversation, why: str) -> bool:
    """Stop waiting for the details of the conversation's pending escalation: no ticket is opened,
    and an event turn records ``why`` ("cancelled", "moved on to another question"). True when the
    conversation was waiting and is no longer; False when it was not waiting or the database failed
    (the caller then carries on without it). Commits."""
    try:
        stored = stored_conversation(session=session, conversation=conversation)
        if stored.state != DETAILS_PENDING_STATE:
            return False
        stored.turns = appended(stored.turns, [new_turn("event", f"escalation withdrawn: {why}")])
        stored.state = ""
        stored.updated_at = utcnow()
        session.add(stored)
        session.commit()
    except SQLAlchemyError as exc:
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        log.warning(
            "event=escalation_withdraw_failed conversation=%s error=%s", conversation.id, type(exc).__name__
        )
        return False
    log.info("event=escalation_withdrawn conversation=%s why=%s", conversation.id, why)
    return True
