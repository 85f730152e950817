"""One message in a conversation, the same for every chat channel: answer it, or hand it to IT.

An adapter parses its payload, calls ``ConversationFlow``, and renders what comes back. In order:

1. a request for a person ("talk to a human", ``bot.core.asking_for_person``) opens the ticket with
   the details awaited, goes to the open ticket, or starts an escalation, without asking the bot;
2. an active outage or upgrade notice that matches the question answers it (``bot.notices``);
3. otherwise the core answers with the thread's earlier turns as history, and reads the message
   in its conversation (``bot.core.reading``); a request for a person in words the phrases lack
   ("is there anyone I can talk to") is then handled as in 1. Then:
   - while the thread waits for the details an escalation asked for: "never mind" withdraws the
     request (no ticket), small talk ("thanks", "what can you do?") is answered and the details
     asked for again, a question on another matter is answered and the request set aside, and
     anything else is the details: the ticket is opened
     (``bot.tickets.escalation.finish_escalation``);
   - while the thread has an open ticket: a question on another matter is answered with a
     reminder that the ticket is open; anything else goes to the ticket (IT sees it in the triage
     thread and the service desk): ``relayed``;
   - when the core escalates, the escalation starts at once and the reply says what happens next;
     a question that is not for IT is told where to ask and opens nothing.

Every turn is remembered in the ``conversation`` table, scrubbed, so a follow-up in the thread,
another server process, and the ticket's transcript all see the same conversation. A database
failure never costs the person their answer: the turn is not stored and the failure is logged by
id. Every escalation path (the bot escalates, "Still stuck", "talk to a human", the answer to the
follow-up question) reaches the spool (``bot.tickets.spool``) when the database fails: the flow then
works from the conversation as this process last saw it (``RecentConversations``), or, for a thread
it never saw, from the message in hand, and the person is told IT has the request.

The message is scrubbed once, as it enters (``on_message``, ``on_single``, ``choose``): the core, the
notices, tickets and the database only ever see the scrubbed text (DESIGN.md, step 2).

Adding a channel
----------------
A channel is a package under ``bot/channels/`` (see ``slack/`` and ``web/``); it decides nothing and
needs no change here. It must:

1. **Translate** its payload: the text, who wrote it, a ``thread_key`` naming the conversation (a
   thread, a chat, a tab), and ``reply_to``, an opaque dict only its own sender reads back. Claim a
   delivery the platform may retry with ``bot.conversations.queries.claim_delivery`` first, so it is
   answered once.
2. **Call the flow**, one ``ConversationFlow(settings, assistant, sessions, channel=NAME)`` per
   channel: ``on_message`` for a message (``stream=True`` where the conversation has no threads),
   ``on_stuck`` for "Still stuck", ``choose`` for a clarify choice (None: the article is gone),
   ``remember_event(..., "fixed")`` for "That fixed it", and ``on_single`` for a message outside any
   conversation (build the ``Question`` yourself; the flow scrubs it).
3. **Render** the ``Outcome``: ``reply`` with its ``actions`` (feedback buttons, one per clarify
   choice, "Tell me when it's fixed") in the channel's own format, or, when ``reply`` is None, a
   sign that the message went to ticket ``relayed_to``. Catch what fails at the boundary and show
   the person a short sentence, never the exception's text.
4. **Register a sender** for relays: a ``bot.tickets.delivery.ChatSender`` in
   ``bot.channels.senders.chat_senders``, so the outbox worker can post IT's replies, ticket status
   changes and notice endings where ``reply_to`` says.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.config import Settings
from bot.conversations.memory import KEPT_STATE, RecentConversations
from bot.conversations.queries import add_turns, get_conversation
from bot.core.asking_for_person import wants_person
from bot.core.assistant import NOT_IT_REASON
from bot.core.assistant_like import AssistantLike
from bot.core.errors import ItbotError
from bot.core.language import language_named
from bot.core.models import Decision, Question, Reply, Turn
from bot.core.reading import MessageKind, topic_stems
from bot.core.scrub import scrub
from bot.db import SessionFactory
from bot.interactions.conversation_models import Conversation
from bot.interactions.conversation_models import Turn as StoredTurn
from bot.interactions.models import utcnow
from bot.interactions.recording import BackgroundRecorder, log_failure, record_reply
from bot.notices.answers import outage_reply
from bot.notices.subscriptions import subscribe
from bot.notices.ticket_links import outage_lookup
from bot.tickets.actions import add_requester_message
from bot.tickets.details import gives_details
from bot.tickets.errors import TicketError
from bot.tickets.escalation import (
    EscalationReason,
    EscalationStep,
    language_of_turns,
    start_escalation,
    waiting_for_details,
    withdraw_escalation,
)
from bot.tickets.escalation import finish_escalation as finish_ticket
from bot.tickets.models import Ticket, TicketStatus
from bot.tickets.queries import open_ticket_for_conversation
from bot.tickets.replies import (
    escalation_lead,
    kept_text,
    relay_failed_text,
    set_aside_note,
    still_open_note,
    withdrawn_text,
)
from bot.tickets.transcripts import PERSON_ASK, problem_articles

log = logging.getLogger(__name__)

# A conversation without threads (a DM's top level, a web chat tab) is one long stream: turns older
# than this are another question.
STREAM_MEMORY = timedelta(minutes=30)
# What a person reads when their "Tell me when it's fixed" could not be stored.
NOT_NOTED = "I couldn't note that just now. Please try again."
_LIVE_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING)
_ANSWERING = (Decision.ANSWER, Decision.CLARIFY, Decision.OUTAGE)
_TURN_OF_REASON = {
    NOT_IT_REASON: "not_it",
    "small talk": "small_talk",
    "resolved": "resolved",
    "not fixed": "not_fixed",
}


@dataclass(frozen=True)
class Outcome:
    """What to show for one message.

    ``reply`` is what the bot says (render it with its actions; ``interaction_id`` is set when it was
    recorded), or None when the message went to an open ticket (``relayed_to`` is its number).
    ``ticket_number`` is set once the conversation has a ticket.
    """

    reply: Reply | None
    relayed_to: str | None = None
    ticket_number: str | None = None
    escalation: str | None = None  # the escalation step's kind, when one ran
    relayed_text: str = ""  # the message sent to the ticket, scrubbed, when it was relayed
    aside: str = ""  # "set_aside" (a pending ticket request) or "ticket_open" when answered beside it

    @property
    def turn(self) -> str:
        """What the bot did with the message, in one word: ``relayed``, ``withdrawn``,
        ``ask_details``, ``ticket`` (opened, joined or already open), ``kept``, ``failed``,
        ``not_it``, ``small_talk``, ``resolved``, ``not_fixed``, or the reply's decision."""
        if self.relayed_to is not None and self.reply is None:
            return "relayed"
        if self.escalation in ("opened", "joined", "already_open"):
            return "ticket"
        if self.escalation is not None:
            return self.escalation
        reply = self.reply
        if reply is None:
            return "relayed"
        return _TURN_OF_REASON.get(reply.reason, reply.decision.value)


class ConversationFlow:
    """Answers, escalates and relays messages of conversations in one channel."""

    def __init__(
        self,
        settings: Settings,
        assistant: AssistantLike,
        sessions: SessionFactory,
        *,
        channel: str,
        memory: RecentConversations | None = None,
    ) -> None:
        """``memory``: share one per process between the flows of a channel (a new one otherwise)."""
        self.settings = settings
        self.assistant = assistant
        self.sessions = sessions
        self.channel = channel
        self.memory = memory if memory is not None else RecentConversations()

    # -- entry points ---------------------------------------------------------------------------

    def on_message(
        self, *, thread_key: str, user: str, text: str, reply_to: dict[str, Any], stream: bool = False
    ) -> Outcome:
        """Handle one message of the conversation at ``thread_key`` (see the module docstring).

        ``stream``: the conversation has no threads, so only its recent turns count as history.
        Never raises.
        """
        started = time.perf_counter()
        # DESIGN.md step 2: the one scrub, as the message enters; nothing below sees it raw.
        entered = scrub(text)
        text = entered.text
        with self.sessions() as session:
            conversation = self._conversation(session, thread_key)
            pending = conversation is not None and waiting_for_details(conversation)
            ticket = None if conversation is None or pending else self._live_ticket(session, conversation)
            if wants_person(text):
                return self._to_person(session, conversation, ticket, thread_key, user, reply_to, text)
            question = Question(
                text=text,
                channel=self.channel,
                user=user,
                reply_to=reply_to,
                history=history_of(conversation, stream=stream),
                scrubbed_counts=entered.counts,
            )
            reply = outage_reply(session, question, kb=self.settings.kb) or self._ask(question)
            if reply.reading == MessageKind.PERSON:  # asked in words the phrases of wants_person lack
                return self._to_person(
                    session, conversation, ticket, thread_key, user, reply_to, text, read=True
                )
            language = language_named(reply.language)
            aside = ""
            if conversation is not None and pending:
                if reply.reading == MessageKind.RESOLVED:
                    return self._withdraw(session, conversation, user, reply)
                if reply.reading == MessageKind.SMALL_TALK and not gives_details(text):
                    # "thanks", "what can you do?": answered, and the question for the details stands.
                    again = self._escalate(
                        session, conversation, thread_key, user, reply_to, "stuck", lead=""
                    )
                    if again.escalation != "ask_details" or again.reply is None:
                        return again
                    both = f"{reply.text}\n\n{again.reply.text}"
                    return Outcome(replace(reply, text=both, actions=again.reply.actions))
                if not _moves_on(reply, conversation, text, ticket_open=False) or gives_details(text):
                    return self._finish(session, conversation, text)
                withdraw_escalation(session=session, conversation=conversation, why="another question")
                reply = _with_note(reply, set_aside_note(language=language))
                aside = "set_aside"
            elif conversation is not None and ticket is not None:
                if not _moves_on(reply, conversation, text, ticket_open=True) or gives_details(text):
                    return self._relay(session, conversation, ticket, user, text)
                reply = _with_note(reply, still_open_note(ticket.number, language=language))
                aside = "ticket_open"
            reply = self.record(session, question, reply, started)
            conversation = self.remember_reply(session, thread_key, user, reply)
            if reply.decision is not Decision.ESCALATE:
                number = ticket.number if ticket is not None else None
                return Outcome(reply, ticket_number=number, aside=aside)
            not_fixed = reply.reason == "not fixed"
            lead = escalation_lead(not_fixed=not_fixed, language=language)
            outcome = self._escalate(session, conversation, thread_key, user, reply_to, "escalate", lead=lead)
            shown = replace(reply, text=outcome.reply.text if outcome.reply else reply.text, actions=())
            return replace(outcome, reply=shown)

    def _to_person(
        self,
        session: Session,
        conversation: Conversation | None,
        ticket: Ticket | None,
        thread_key: str,
        user: str,
        reply_to: dict[str, Any],
        text: str,
        *,
        read: bool = False,
    ) -> Outcome:
        """A request for a person: the pending ticket opens now, an open ticket gets the message, and
        otherwise the conversation is handed to IT (the details asked first). ``read``: the reader
        recognised the request (not ``wants_person``); the turn is marked so that the ticket's problem
        is not taken from it (``bot.tickets.transcripts.PERSON_ASK``)."""
        if conversation is not None and waiting_for_details(conversation):
            return self._finish(session, conversation, "")
        if conversation is not None and ticket is not None:
            return self._relay(session, conversation, ticket, user, text)
        said = [StoredTurn(role="user", text=text, decision=PERSON_ASK if read else "")]
        conversation = self._remember(session, thread_key, user, said)
        return self._escalate(session, conversation, thread_key, user, reply_to, "human", lead="")

    def on_stuck(self, *, thread_key: str, user: str, reply_to: dict[str, Any]) -> Outcome:
        """Hand the conversation to IT after "Still stuck" (one ticket, however often it is clicked)."""
        with self.sessions() as session:
            stuck = [StoredTurn(role="event", text="stuck")]
            conversation = self._remember(session, thread_key, user, stuck) or self._conversation(
                session, thread_key
            )
            return self._escalate(session, conversation, thread_key, user, reply_to, "stuck", lead="")

    def choose(
        self,
        *,
        thread_key: str,
        user: str,
        article_id: str,
        reply_to: dict[str, Any],
        text: str = "",
        stream: bool = False,
    ) -> Outcome | None:
        """Answer a clarify choice from the chosen article, with the conversation's last question
        (``text`` when it has none), and remember the choice and the answer in the conversation.

        None when the article is gone (or could not be read): the adapter goes on as if nothing was
        chosen. ``stream``: as for ``on_message``. Never raises.
        """
        started = time.perf_counter()
        text = scrub(text).text  # as it enters; the stored question is scrubbed already
        with self.sessions() as session:
            stored = self.conversation(session, thread_key)
            question = Question(
                text=last_user_text(stored) or text,
                channel=self.channel,
                user=user,
                reply_to=reply_to,
                history=history_of(stored, stream=stream),
            )
            try:
                reply = self.assistant.answer_from(article_id, question) if article_id else None
            except Exception as exc:  # the person still gets a sentence, the log gets the type
                log_failure(log, "choose_failed", exc, channel=self.channel, article=article_id)
                return None
            if reply is None:
                return None
            reply = self.record(session, question, reply, started)
            self.remember_event(session, thread_key, user, f"chose {article_id}")
            self.remember_reply(session, thread_key, user, reply, include_question=False)
        return Outcome(reply)

    def on_single(
        self, question: Question, *, article: str | None = None, recorder: BackgroundRecorder | None = None
    ) -> Reply:
        """Answer a message that belongs to no stored conversation (an API call without one, a blank
        message): from the chosen ``article`` when it exists, else with an active notice it is about
        (``decision: outage``, like ``itbot ask``), else by asking the core; record the
        interaction (scrubbed) and return the reply with its id. Nothing is remembered.

        ``recorder``: record on its writer thread, waiting only its short wait (else on a session of
        this flow). Never raises: a failing core gives ``fallback_reply`` with "Still stuck"; a failing
        or slow database leaves ``interaction_id`` empty and is logged by id only.
        """
        started = time.perf_counter()
        question = _entered(question)
        reply = (None if article else self._known_outage(question)) or self._ask(
            question, article=article, actions=("stuck",)
        )
        if recorder is None:
            with self.sessions() as session:
                return self.record(session, question, reply, started)
        latency_ms = int((time.perf_counter() - started) * 1000)
        interaction_id = recorder.record(question=question, reply=reply, latency_ms=latency_ms)
        return replace(reply, interaction_id=interaction_id)

    def _known_outage(self, question: Question) -> Reply | None:
        """The ``outage`` reply when ``question`` is about an active notice (read only: nobody is
        subscribed); None otherwise, or when the database cannot be read (the core then answers)."""
        try:
            with self.sessions() as session:
                return outage_reply(session, question, kb=self.settings.kb)
        except SQLAlchemyError as exc:
            log.warning("event=outage_check_failed channel=%s error=%s", self.channel, type(exc).__name__)
            return None

    # -- pieces adapters reuse ---------------------------------------------------------------------

    def record(self, session: Session, question: Question, reply: Reply, started: float) -> Reply:
        """Record the interaction (scrubbed) and return the reply with its id (None if the DB failed)."""
        latency_ms = int((time.perf_counter() - started) * 1000)
        row = record_reply(session=session, question=question, reply=reply, latency_ms=latency_ms)
        return replace(reply, interaction_id=row.id if row is not None else None)

    def remember_reply(
        self, session: Session, thread_key: str, user: str, reply: Reply, *, include_question: bool = True
    ) -> Conversation | None:
        """Add the question (scrubbed) and the bot's reply (decision, articles) to the conversation."""
        turns = []
        if include_question:
            turns.append(StoredTurn(role="user", text=reply.asked, interaction_id=reply.interaction_id))
        turns.append(
            StoredTurn(
                role="bot",
                decision=reply.decision.value,
                articles=[c.article for c in reply.citations],
                interaction_id=reply.interaction_id,
            )
        )
        return self._remember(session, thread_key, user, turns)

    def subscribe_to_notice(self, *, notice: str, user: str, reply_to: dict[str, Any]) -> str:
        """ "Tell me when it's fixed": add ``user`` to those told in ``reply_to`` when the notice
        ``notice`` (its id as the button carried it) ends. "" when done; otherwise the sentence to
        show them (a notice that is unknown or already ended, or a database that failed). Never raises.
        """
        try:
            with self.sessions() as session:
                subscribe(
                    session=session,
                    notice_id=int(notice) if notice.isdigit() else -1,
                    channel=self.channel,
                    user=user,
                    reply_to=reply_to,
                )
                session.commit()
        except ItbotError as exc:
            return exc.user_message
        except SQLAlchemyError as exc:
            log_failure(log, f"{self.channel}_notify_failed", exc, notice_id=notice or "-")
            return NOT_NOTED
        log.info("event=notice_subscribed channel=%s notice_id=%s", self.channel, notice)
        return ""

    def remember_event(self, session: Session, thread_key: str, user: str, what: str) -> None:
        """Add an event turn ("fixed", "chose <article>") to the conversation."""
        self._remember(session, thread_key, user, [StoredTurn(role="event", text=what)])

    def conversation(self, session: Session, thread_key: str) -> Conversation | None:
        """The stored conversation at ``thread_key``, or None (also when the database is down)."""
        return self._conversation(session, thread_key)

    # -- internals -------------------------------------------------------------------------------

    def _ask(self, question: Question, *, article: str | None = None, actions: tuple[str, ...] = ()) -> Reply:
        """The core's reply (from ``article`` when it exists), or the fallback with ``actions``."""
        try:
            reply = self.assistant.answer_from(article, question) if article else None
            return reply if reply is not None else self.assistant.ask(question)
        except ItbotError as exc:
            log.warning("event=ask_failed code=%s channel=%s", exc.code, self.channel)
            return fallback_reply(self.settings, exc.user_message, question.text, actions=actions)
        except Exception as exc:  # the core promises not to raise; the person still gets a sentence
            log_failure(log, "ask_failed", exc, channel=self.channel)
            return fallback_reply(self.settings, None, question.text, actions=actions)

    def _conversation(self, session: Session, thread_key: str) -> Conversation | None:
        """The stored conversation; when the database fails, the one this process saw last (or None)."""
        try:
            found = get_conversation(session=session, channel=self.channel, thread_key=thread_key)
        except SQLAlchemyError as exc:
            with contextlib.suppress(SQLAlchemyError):
                session.rollback()
            log_failure(log, "conversation_lookup_failed", exc, channel=self.channel)
            return self.memory.recall(self.channel, thread_key)
        if found is not None:
            self.memory.keep(found)
        return found

    def _remember(
        self, session: Session, thread_key: str, user: str, turns: list[StoredTurn]
    ) -> Conversation | None:
        """Store ``turns``; when the database fails, add them to this process's copy only (kept
        for an escalation's spool file) and return that copy."""
        try:
            stored = add_turns(
                session=session, channel=self.channel, thread_key=thread_key, user_id=user, turns=turns
            )
        except SQLAlchemyError as exc:
            with contextlib.suppress(SQLAlchemyError):
                session.rollback()
            log_failure(log, "conversation_remember_failed", exc, channel=self.channel)
            return self._remember_here(thread_key, user, turns)
        self.memory.keep(stored)
        return stored

    def _remember_here(self, thread_key: str, user: str, turns: list[StoredTurn]) -> Conversation:
        """``turns`` added to the conversation as this process last saw it (a new one if never)."""
        known = self.memory.recall(self.channel, thread_key) or Conversation(
            channel=self.channel, thread_key=thread_key[:255], user_id=user[:255]
        )
        at = utcnow().isoformat(timespec="seconds")
        known.turns = [*known.turns, *(t.model_copy(update={"at": t.at or at}).model_dump() for t in turns)]
        self.memory.keep(known)
        return known

    def _live_ticket(self, session: Session, conversation: Conversation) -> Ticket | None:
        """The conversation's ticket while IT is working it; None when it has none (or the DB failed)."""
        try:
            ticket = open_ticket_for_conversation(session=session, conversation_id=conversation.id)
        except SQLAlchemyError as exc:
            with contextlib.suppress(SQLAlchemyError):
                session.rollback()
            log_failure(log, "relay_failed", exc, channel=self.channel, conversation=conversation.id)
            return None
        return ticket if ticket is not None and ticket.status in _LIVE_STATUSES else None

    def _withdraw(self, session: Session, conversation: Conversation, user: str, reply: Reply) -> Outcome:
        """ "Never mind" while the ticket's details were awaited: open nothing, and say so."""
        withdraw_escalation(session=session, conversation=conversation, why="cancelled by the person")
        self._remember(session, conversation.thread_key, user, [StoredTurn(role="user", text=reply.asked)])
        self._conversation(session, conversation.thread_key)
        return Outcome(
            replace(reply, text=withdrawn_text(language=language_named(reply.language)), actions=()),
            escalation="withdrawn",
        )

    def _relay(
        self, session: Session, conversation: Conversation, ticket: Ticket, user: str, text: str
    ) -> Outcome:
        """Send the message (``text``, scrubbed) to the conversation's open ``ticket`` (IT sees it in
        the triage thread)."""
        relayed = Outcome(None, relayed_to=ticket.number, ticket_number=ticket.number, relayed_text=text)
        try:
            add_requester_message(
                session=session, settings=self.settings, ticket_id=ticket.id, requester=user, text=text
            )
        except SQLAlchemyError as exc:
            with contextlib.suppress(SQLAlchemyError):
                session.rollback()
            log_failure(log, "relay_failed", exc, channel=self.channel, number=ticket.number)
            phone = self.settings.service_desk_phone
            language = language_of_turns(conversation.turns, text)
            text = relay_failed_text(ticket.number, phone=phone, language=language)
            return Outcome(Reply(Decision.ESCALATE, text), ticket_number=ticket.number)
        except TicketError:  # nothing left once scrubbed, or the ticket closed meanwhile: nothing to relay
            return relayed
        turn = StoredTurn(role="user", text=text)
        self._remember(session, conversation.thread_key, user, [turn])
        log.info("event=relayed_to_ticket channel=%s number=%s", self.channel, ticket.number)
        return relayed

    def _finish(self, session: Session, conversation: Conversation, text: str) -> Outcome:
        step = finish_ticket(
            session=session,
            settings=self.settings,
            conversation=conversation,
            details=text,
            outage_lookup=outage_lookup(self.settings.kb),
        )
        self._after_step(session, conversation, step)
        return self._step_outcome(step, lead="")

    def _after_step(self, session: Session, conversation: Conversation, step: EscalationStep) -> None:
        """Bring this process's copy of the conversation up to what the escalation step did."""
        if step.kind == "kept":
            kept = self.memory.recall(self.channel, conversation.thread_key) or conversation
            kept.state = KEPT_STATE
            self.memory.keep(kept)
        elif step.kind != "failed":
            self._conversation(session, conversation.thread_key)

    def _escalate(
        self,
        session: Session,
        conversation: Conversation | None,
        thread_key: str,
        user: str,
        reply_to: dict[str, Any],
        reason: EscalationReason,
        *,
        lead: str,
    ) -> Outcome:
        if conversation is None:
            # The database failed and this process never saw the thread: escalate what is in hand.
            conversation = self._remember_here(thread_key, user, [])
        if conversation.state == KEPT_STATE:
            # Already kept while the database is down: the same request again adds nothing.
            phone = self.settings.service_desk_phone
            step = EscalationStep("kept", kept_text(phone, language=language_of_turns(conversation.turns)))
            return self._step_outcome(step, lead=lead)
        articles = problem_articles(conversation.turns)
        step = start_escalation(
            session=session,
            settings=self.settings,
            conversation=conversation,
            requester=user,
            channel=self.channel,
            reply_to=reply_to,
            reason=reason,
            articles=articles,
            systems=self._systems(articles),
            outage_lookup=outage_lookup(self.settings.kb),
        )
        self._after_step(session, conversation, step)
        return self._step_outcome(step, lead=lead)

    def _step_outcome(self, step: EscalationStep, *, lead: str) -> Outcome:
        text = f"{lead}\n\n{step.text}" if lead else step.text
        reply = Reply(Decision.ESCALATE, text, reason=f"escalation: {step.kind}")
        return Outcome(reply, ticket_number=step.ticket_number, escalation=step.kind)

    def _systems(self, articles: list[str]) -> list[str]:
        systems: dict[str, None] = {}
        for article_id in articles:
            try:
                article = self.assistant.article(article_id)
            except Exception:  # a missing or unreadable article only loses a hint for IT
                continue
            for system in article.systems if article is not None else ():
                systems.setdefault(system, None)
        return list(systems)


def _entered(question: Question) -> Question:
    """``question`` as it enters the flow from an adapter: its text and history scrubbed, with the
    counts of what was replaced (DESIGN.md step 2)."""
    entered = scrub(question.text)
    history = tuple(replace(turn, text=scrub(turn.text).text) for turn in question.history)
    return replace(question, text=entered.text, history=history, scrubbed_counts=entered.counts)


def _with_note(reply: Reply, note: str) -> Reply:
    """``reply`` with ``note`` added as a paragraph of its own, in italics."""
    return replace(reply, text=f"{reply.text}\n\n_{note}_")


def _moves_on(reply: Reply, conversation: Conversation, text: str, *, ticket_open: bool) -> bool:
    """True when ``text`` is about another matter than the one IT has or is about to get: not for
    IT at all, or a question of its own, answered by a notice or with an article (or a choice) the
    conversation has not been offered yet; with a ``ticket_open``, also naming none of the topics the
    person wrote about before ("any update on the pacs thing?" is about the PACS ticket)."""
    if reply.reason == NOT_IT_REASON:
        return True
    if reply.reading != MessageKind.NEW or reply.decision not in _ANSWERING:
        return False
    if reply.decision is not Decision.OUTAGE and (
        not reply.citations or reply.citations[0].article in _offered_at_all(conversation)
    ):
        return False
    if not ticket_open:
        return True
    earlier = " ".join(str(t.get("text") or "") for t in conversation.turns if t.get("role") == "user")
    return not topic_stems(text) & topic_stems(earlier)


def _offered_at_all(conversation: Conversation) -> set[str]:
    """Every article the bot named in the conversation, answers and choices alike."""
    return {
        str(a) for raw in conversation.turns if raw.get("role") == "bot" for a in raw.get("articles") or []
    }


def last_user_text(conversation: Conversation | None) -> str:
    """What the person last wrote in the conversation (scrubbed), or ""."""
    for raw in reversed(conversation.turns if conversation is not None else []):
        if raw.get("role") == "user" and raw.get("text"):
            return str(raw["text"])
    return ""


def history_of(
    conversation: Conversation | None, *, stream: bool, now: datetime | None = None
) -> tuple[Turn, ...]:
    """The conversation's user and bot turns as the core's history (oldest first).

    For a ``stream`` (no threads) only turns from the last ``STREAM_MEMORY`` count.
    """
    if conversation is None:
        return ()
    cutoff = (now or datetime.now(UTC)) - STREAM_MEMORY
    turns: list[Turn] = []
    for raw in conversation.turns:
        turn = StoredTurn.model_validate({k: v for k, v in raw.items() if k in StoredTurn.model_fields})
        if stream and turn.at:
            try:
                if datetime.fromisoformat(turn.at) < cutoff:
                    continue
            except ValueError:
                continue
        if turn.role in ("user", "bot"):
            turns.append(Turn(role=turn.role, text=turn.text, articles=tuple(turn.articles)))
    return tuple(turns)


def fallback_reply(
    settings: Settings, message: str | None, asked_text: str, *, actions: tuple[str, ...] = ()
) -> Reply:
    """What the person sees when the core could not answer at all (``message``: the core's own words),
    with ``asked_text`` scrubbed as what may be stored (the flow's own callers hand it scrubbed text;
    the web adapter's last guard, for a failure before the flow, hands it the raw message)."""
    text = message or "Sorry, I couldn't look that up just now. Please try again in a minute."
    return Reply(
        decision=Decision.ESCALATE,
        text=f"{text} If it's urgent, call the service desk at {settings.service_desk_phone}.",
        actions=actions,
        asked=scrub(asked_text).text,
    )
