"""The web channel: the chat page, ``POST /api/ask`` (the JSON contract), feedback, article pages.

Each route is parse → core → render. Bad input never produces a 500 or a traceback:

- a body that is not JSON at all (or not UTF-8) → 422 ``{"error": "invalid_json", "message": ...}``;
- any JSON body (missing or non-string ``text``, empty, whitespace, 50 KB, control characters,
  emoji, a list instead of an object) → 200 with a polite reply in the contract shape;
- a body over the size limit → 413 (``bot.http_limits``).

The chat page asks with ``"render": "html"``; the reply then carries one extra key, ``html``: the
reply's Markdown rendered by markdown-it with raw HTML disabled. Without it the answer is exactly
``Reply.to_json()``.

**Conversations.** The page sends ``"conversation": "web-<32 hex>"`` (made per tab). With it, a
question goes through ``ConversationFlow`` like a Slack thread: the stored conversation is the history
(the body's ``history`` is ignored), an escalation asks its one follow-up and opens a ticket, and while
the ticket is open what the person types about it goes to IT. The answer then has six more keys:
``conversation``, ``ticket`` (``{"number", "status"}`` of the ticket this reply is about, or null),
``relayed_to`` (the ticket number when the message went to IT instead of the bot), ``escalation``
(the escalation step's kind, or null), ``turn`` (what the bot did, in a word: ``Outcome.turn``) and
``aside`` (``set_aside`` or ``ticket_open`` when it answered beside a ticket request, or null).
"Still stuck" (``POST /api/feedback`` with the conversation) hands the conversation to IT. IT's
replies arrive through the outbox (``bot.channels.web.sender``) and the page polls
``GET /api/conversations/{id}/messages?after=N`` for them. A malformed conversation id is a 422;
without one everything works as it did before conversations.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bot.channels.web.input import (
    MAX_ARTICLE_ID_CHARS,
    AskInput,
    bad_conversation,
    clean_user,
    conversation_of,
    parse_ask,
)
from bot.channels.web.markdown import article_url, render_markdown
from bot.channels.web.sender import MAX_SEQ, is_conversation_id, it_messages
from bot.config import Settings
from bot.conversations.flow import ConversationFlow, Outcome, fallback_reply
from bot.conversations.memory import RecentConversations
from bot.conversations.queries import get_conversation
from bot.core.assistant_like import AssistantLike
from bot.core.models import Decision, Question, Reply
from bot.db import SessionFactory
from bot.deps import AssistantDep, SessionDep, SettingsDep
from bot.interactions.conversation_models import Conversation
from bot.interactions.queries import record_feedback
from bot.interactions.recording import BackgroundRecorder, log_failure
from bot.request_guards import WebChatRoute
from bot.tickets.models import Ticket
from bot.tickets.queries import get_ticket_by_number, open_ticket_for_conversation

CHANNEL = "web"
# How often the page asks for IT's messages while a ticket is open (``app.state.web_poll_seconds``
# overrides it, e.g. in tests).
DEFAULT_POLL_SECONDS = 10.0

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
templates = Jinja2Templates(directory=WEB_DIR / "templates")

log = logging.getLogger(__name__)
router = APIRouter(route_class=WebChatRoute)

_INTERACTION_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_TICKET_EVENT = re.compile(r"\bticket (IT-\d{6,12})\b")
BAD_CONVERSATION = 'The "conversation" must be an id the chat page made ("web-" and 32 hex digits).'


def stuck_message(settings: Settings) -> str:
    """What "Still stuck" answers until tickets exist."""
    return f"I've noted that. Call the service desk at {settings.service_desk_phone} if it's urgent."


def dial_string(phone: str) -> str:
    """What a ``tel:`` link dials for ``phone`` as people write it ("x4357" -> "4357",
    "+1 (555) 010-4357" -> "+15550104357"); empty when it holds no digit."""
    digits = re.sub(r"[^0-9+]", "", phone)
    return digits if any(c.isdigit() for c in digits) else ""


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _read_json(request: Request) -> tuple[bool, Any]:
    body = await request.body()
    try:
        return True, json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False, None


def answer(data: AskInput, *, flow: ConversationFlow, recorder: BackgroundRecorder) -> Reply:
    """The reply to ``data`` outside any conversation (``ConversationFlow.on_single``), recorded."""
    question = Question(text=data.text, channel=CHANNEL, user=data.user, history=data.history)
    return flow.on_single(question, article=data.article, recorder=recorder)


def recorder_of(request: Request) -> BackgroundRecorder:
    """The app's ``BackgroundRecorder`` (``create_app`` makes one)."""
    recorder: BackgroundRecorder = request.app.state.recorder
    return recorder


def converse(
    data: AskInput,
    *,
    settings: Settings,
    assistant: AssistantLike,
    sessions: SessionFactory,
    recorder: BackgroundRecorder,
    memory: RecentConversations | None = None,
) -> dict[str, Any]:
    """Answer ``data`` in its conversation (``ConversationFlow``): the ``/api/ask`` body, extra keys
    included. A clarify choice is answered from the chosen article; a blank message changes nothing
    in the conversation. Never raises: whatever fails below the flow's own guards (a database error
    it did not expect), the person gets the fallback sentence in the same shape."""
    try:
        flow = ConversationFlow(settings, assistant, sessions, channel=CHANNEL, memory=memory)
        return _converse(flow, data, recorder)
    except Exception as exc:  # the last guard: a 500 would lose the reply
        log_failure(log, "converse_failed", exc, channel=CHANNEL)
        body = fallback_reply(settings, None, data.text, actions=("stuck",)).to_json()
        body.update(conversation=data.conversation or "", ticket=None, relayed_to=None, escalation=None)
        return body


def _converse(flow: ConversationFlow, data: AskInput, recorder: BackgroundRecorder) -> dict[str, Any]:
    sessions = flow.sessions
    conversation = data.conversation or ""
    user = data.user or conversation
    outcome = _choose(flow, data, user) if data.article else None
    if outcome is None and not data.text.strip():
        blank = replace(data, article=None)
        outcome = Outcome(answer(blank, flow=flow, recorder=recorder))
    if outcome is None:
        outcome = flow.on_message(
            thread_key=conversation,
            user=user,
            text=data.text,
            reply_to={"conversation": conversation},
            stream=True,
        )
    reply = outcome.reply
    if reply is None:
        reply = Reply(
            Decision.ESCALATE,
            f"Sent to IT on {outcome.relayed_to}.",
            reason="relayed",
            asked=outcome.relayed_text,
        )
    body = reply.to_json()
    body["asked"] = reply.asked
    body.update(
        conversation=conversation,
        ticket=ticket_json(sessions, outcome.ticket_number),
        relayed_to=outcome.relayed_to,
        escalation=outcome.escalation,
        turn=outcome.turn,
        aside=outcome.aside or None,
    )
    return body


def _choose(flow: ConversationFlow, data: AskInput, user: str) -> Outcome | None:
    """Answer from the article the person chose (None when it is gone: then the text is asked)."""
    key = data.conversation or ""
    return flow.choose(
        thread_key=key,
        user=user,
        article_id=data.article or "",
        reply_to={"conversation": key},
        text=data.text,
        stream=True,
    )


def _memory(request: Request) -> RecentConversations:
    """The web conversations this process saw last (``create_app`` makes one per app)."""
    memory: RecentConversations = request.app.state.conversation_memory
    return memory


def ticket_json(sessions: SessionFactory, number: str | None) -> dict[str, Any] | None:
    """``{"number", "status"}`` of ticket ``number`` (status null when the database can't say)."""
    if not number:
        return None
    try:
        with sessions() as session:
            ticket = get_ticket_by_number(session=session, number=number)
    except SQLAlchemyError as exc:
        log_failure(log, "ticket_lookup_failed", exc, channel=CHANNEL, number=number)
        ticket = None
    return {"number": number, "status": ticket.status.value if ticket is not None else None}


def conversation_ticket(session: Session, conversation: Conversation) -> Ticket | None:
    """The conversation's open ticket, else the newest ticket it had (named in its turns), or None."""
    ticket = open_ticket_for_conversation(session=session, conversation_id=conversation.id)
    if ticket is not None:
        return ticket
    for raw in reversed(conversation.turns):
        number = raw.get("ticket") if raw.get("role") == "it" else None
        if not number and raw.get("role") == "event":
            match = _TICKET_EVENT.search(str(raw.get("text") or ""))
            number = match.group(1) if match else None
        if isinstance(number, str) and number:
            return get_ticket_by_number(session=session, number=number)
    return None


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def chat_page(request: Request, settings: SettingsDep) -> Response:
    """The web chat."""
    poll = getattr(request.app.state, "web_poll_seconds", DEFAULT_POLL_SECONDS)
    context = {
        "phone": settings.service_desk_phone,
        "phone_dial": dial_string(settings.service_desk_phone),
        "stuck": stuck_message(settings),
        "max_chars": settings.max_question_chars,
        "poll_seconds": f"{float(poll):g}",
    }
    return templates.TemplateResponse(request, "chat.html", context)


@router.post("/api/ask")
async def ask(request: Request, settings: SettingsDep, assistant: AssistantDep) -> Response:
    """Answer ``{"text": ..., "user"?, "history"?, "article"?, "conversation"?}`` with the ``itbot ask
    --json`` object (and, with a conversation, its extra keys: see the module docstring).

    ``article`` (an article id, from a clarify choice) answers from that article when it exists.
    """
    ok, payload = await _read_json(request)
    if not ok:
        return _error(422, "invalid_json", 'Send a JSON object such as {"text": "printer says offline"}.')
    if bad_conversation(payload):
        return _error(422, "invalid_conversation", BAD_CONVERSATION)
    data = parse_ask(payload, max_chars=settings.max_question_chars)
    sessions: SessionFactory = request.app.state.sessions
    if data.conversation is not None:
        body = await run_in_threadpool(
            converse,
            data,
            settings=settings,
            assistant=assistant,
            sessions=sessions,
            memory=_memory(request),
            recorder=recorder_of(request),
        )
    else:
        flow = ConversationFlow(settings, assistant, sessions, channel=CHANNEL)
        reply = await run_in_threadpool(answer, data, flow=flow, recorder=recorder_of(request))
        body = reply.to_json()
    if data.render_html:
        body["html"] = render_markdown(body["text"])
    return JSONResponse(body)


@router.post("/api/feedback")
async def feedback(
    request: Request, settings: SettingsDep, assistant: AssistantDep, session: SessionDep
) -> Response:
    """Record ``{"interaction_id": ..., "helpful": true|false}``; the same click twice changes nothing.

    With ``"conversation"``, "Still stuck" also hands the conversation to IT (one ticket however often
    it is clicked): the answer adds ``reply`` (what the bot says next, in the ``/api/ask`` shape, with
    ``html`` when asked with ``"render": "html"``), ``ticket`` and ``escalation``.
    """
    ok, payload = await _read_json(request)
    interaction_id = payload.get("interaction_id") if ok and isinstance(payload, dict) else None
    helpful = payload.get("helpful") if ok and isinstance(payload, dict) else None
    if not isinstance(interaction_id, str) or not _INTERACTION_ID.fullmatch(interaction_id):
        interaction_id = None
    if interaction_id is None or not isinstance(helpful, bool):
        return _error(422, "invalid_feedback", 'Send {"interaction_id": "...", "helpful": true or false}.')
    if bad_conversation(payload):
        return _error(422, "invalid_conversation", BAD_CONVERSATION)
    conversation = conversation_of(payload)
    try:
        row = await run_in_threadpool(
            record_feedback, session=session, interaction_id=interaction_id, helpful=helpful
        )
    except SQLAlchemyError as exc:
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        log_failure(log, "feedback_failed", exc, interaction_id=interaction_id)
        if helpful or conversation is None:
            message = "Thanks. I couldn't save that just now." if helpful else stuck_message(settings)
            return _error(503, "unavailable", message)
        row = None  # "Still stuck" in a conversation still goes to IT (the spool keeps it)
    else:
        if row is None:
            return _error(404, "not_found", "I can't find that conversation any more.")
        log.info("event=feedback interaction_id=%s feedback=%s", row.id, row.feedback.value)
    message = "Glad that helped." if helpful else stuck_message(settings)
    body: dict[str, Any] = {"interaction_id": interaction_id, "feedback": "unhelpful", "message": message}
    if row is not None:
        body["feedback"] = row.feedback.value
    if conversation is not None:
        user = clean_user(payload.get("user"))
        sessions: SessionFactory = request.app.state.sessions
        flow = ConversationFlow(settings, assistant, sessions, channel=CHANNEL, memory=_memory(request))
        extra = await run_in_threadpool(
            _after_feedback,
            flow,
            conversation,
            user or (row.user_id if row is not None else None) or conversation,
            helpful,
            render_html=isinstance(payload, dict) and payload.get("render") == "html",
        )
        body.update(extra)
    return JSONResponse(body)


def _after_feedback(
    flow: ConversationFlow, conversation: str, user: str, helpful: bool, *, render_html: bool
) -> dict[str, Any]:
    """Remember "fixed" in the conversation, or hand it to IT; the keys to add to the answer."""
    if helpful:
        with flow.sessions() as session:
            flow.remember_event(session, conversation, user, "fixed")
        return {"conversation": conversation, "reply": None, "ticket": None, "escalation": None}
    outcome = flow.on_stuck(thread_key=conversation, user=user, reply_to={"conversation": conversation})
    reply = outcome.reply.to_json() if outcome.reply is not None else None
    if reply is not None and render_html:
        reply["html"] = render_markdown(reply["text"])
    return {
        "conversation": conversation,
        "reply": reply,
        "ticket": ticket_json(flow.sessions, outcome.ticket_number),
        "escalation": outcome.escalation,
    }


@router.get("/api/conversations/{conversation_id}/messages")
def conversation_messages(
    conversation_id: str, session: SessionDep, after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0
) -> Response:
    """IT's messages in a web conversation after the cursor ``after``, and the conversation's ticket:
    ``{"messages": [{"index", "role", "html", "at", "ticket"}], "next": N, "ticket": {...} | null}``.

    Poll again with ``after=next``. 404 for an id that is malformed or not a conversation; 503 while
    the database is down.
    """
    if not is_conversation_id(conversation_id):
        return _error(404, "not_found", "There is no such conversation.")
    try:
        conversation = get_conversation(session=session, channel=CHANNEL, thread_key=conversation_id)
        ticket = conversation_ticket(session, conversation) if conversation is not None else None
    except SQLAlchemyError as exc:
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        log_failure(log, "conversation_messages_failed", exc, channel=CHANNEL)
        return _error(503, "unavailable", "I can't check for IT's replies just now; I'll try again.")
    if conversation is None:
        return _error(404, "not_found", "There is no such conversation.")
    found = it_messages(conversation, after=after)
    body = {
        "messages": [
            {
                "index": m.index,
                "role": "it",
                "html": render_markdown(m.text),
                "at": m.at,
                "ticket": m.ticket or None,
            }
            for m in found
        ],
        "next": max([after, *(m.index for m in found)]),
        "ticket": {"number": ticket.number, "status": ticket.status.value} if ticket is not None else None,
    }
    return JSONResponse(body, headers={"cache-control": "no-store"})


@router.get("/kb/{article_id:path}", response_class=HTMLResponse, include_in_schema=False)
def article_page(request: Request, article_id: str, assistant: AssistantDep) -> Response:
    """One knowledge article as a page; a friendly 404 page when there is no such article."""
    view = assistant.article(article_id) if len(article_id) <= MAX_ARTICLE_ID_CHARS else None
    if view is None:
        return templates.TemplateResponse(request, "not_found.html", {}, status_code=404)
    return templates.TemplateResponse(
        request,
        "article.html",
        {
            "article": view,
            "body": render_markdown(view.markdown),
            "titled": view.markdown.lstrip().startswith("# "),
            "url": article_url(view.id),
        },
    )
