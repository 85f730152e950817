"""The web channel: the chat page, ``POST /api/ask`` (the JSON contract), feedback, article pages.

Each route is parse → core → render. Bad input never produces a 500 or a traceback:

- a body that is not JSON at all (or not UTF-8) → 422 ``{"error": "invalid_json", "message": ...}``;
- any JSON body (missing or non-string ``text``, empty, whitespace, 50 KB, control characters,
  emoji, a list instead of an object) → 200 with a polite reply in the contract shape;
- a body over the size limit → 413 (``bot.http_limits``).

The chat page asks with ``"render": "html"``; the reply then carries one extra key, ``html``: the
reply's Markdown rendered by markdown-it with raw HTML disabled. Without it the answer is exactly
``Reply.to_json()``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bot.channels.web_markdown import article_url, render_markdown
from bot.config import Settings
from bot.core.errors import ItbotError
from bot.core.models import Decision, Question, Reply, Turn
from bot.core.scrub import scrub
from bot.deps import AssistantDep, AssistantLike, SessionDep, SettingsDep
from bot.interactions.queries import record_feedback
from bot.interactions.recording import log_failure, record_reply

CHANNEL = "web"
MAX_HISTORY_TURNS = 10
MAX_USER_CHARS = 64
MAX_ARTICLE_ID_CHARS = 512

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
templates = Jinja2Templates(directory=WEB_DIR / "templates")

log = logging.getLogger(__name__)
router = APIRouter()

_USER_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@-]")
_INTERACTION_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True)
class AskInput:
    """A ``POST /api/ask`` body after parsing: every field present, cleaned and bounded."""

    text: str
    user: str = ""
    history: tuple[Turn, ...] = ()
    article: str | None = None
    render_html: bool = False


def clean_text(value: object, *, limit: int) -> str:
    """``value`` as text that is safe to answer, store and log the length of.

    Anything but a string becomes ``""``. Control characters other than newline and tab are
    dropped, unpaired surrogates (which JSON can carry) become U+FFFD, and the result is cut to
    ``limit`` characters.
    """
    if not isinstance(value, str):
        return ""
    kept = []
    for char in value[: limit * 2]:
        category = unicodedata.category(char)
        if category == "Cc" and char not in "\n\t":
            kept.append(" " if char == "\r" else "")
        elif category == "Cs":
            kept.append("\ufffd")
        else:
            kept.append(char)
    return "".join(kept)[:limit]


def parse_ask(payload: object, *, max_chars: int) -> AskInput:
    """Read a decoded JSON body into an ``AskInput``; never fails (odd fields are ignored)."""
    if not isinstance(payload, dict):
        return AskInput(text="")
    text = clean_text(payload.get("text"), limit=max_chars)
    user = _USER_UNSAFE.sub("", clean_text(payload.get("user"), limit=MAX_USER_CHARS))
    article = clean_text(payload.get("article"), limit=MAX_ARTICLE_ID_CHARS).strip() or None
    return AskInput(
        text=text,
        user=user,
        history=_parse_history(payload.get("history"), max_chars=max_chars),
        article=article,
        render_html=payload.get("render") == "html",
    )


def _parse_history(value: object, *, max_chars: int) -> tuple[Turn, ...]:
    if not isinstance(value, list):
        return ()
    turns = []
    for item in value[-MAX_HISTORY_TURNS:]:
        if not isinstance(item, dict):
            continue
        role = item.get("role")
        text = clean_text(item.get("text"), limit=max_chars)
        if role in ("user", "bot") and text.strip():
            turns.append(Turn(role=str(role), text=text))
    return tuple(turns)


def fallback_reply(settings: Settings, message: str | None = None) -> Reply:
    """What the person sees when the core could not answer at all (``message``: the core's own words)."""
    text = message or "Sorry, I couldn't look that up just now. Please try again in a minute."
    return Reply(
        decision=Decision.ESCALATE,
        text=f"{text} If it's urgent, call the service desk at {settings.service_desk_phone}.",
        actions=("stuck",),
    )


def stuck_message(settings: Settings) -> str:
    """What "Still stuck" answers until tickets exist."""
    return f"I've noted that. Call the service desk at {settings.service_desk_phone} if it's urgent."


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _read_json(request: Request) -> tuple[bool, Any]:
    body = await request.body()
    try:
        return True, json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False, None


def answer(data: AskInput, *, settings: Settings, assistant: AssistantLike, session: Session) -> Reply:
    """Ask the core, record the interaction (scrubbed), and return the reply with its id.

    Never raises: a failing core gives ``fallback_reply``; a failing database leaves
    ``interaction_id`` empty and is logged by id only.
    """
    started = time.perf_counter()
    question = Question(text=data.text, channel=CHANNEL, user=data.user, history=data.history)
    try:
        reply = assistant.answer_from(data.article, question) if data.article else None
        if reply is None:
            reply = assistant.ask(question)
    except ItbotError as exc:
        log.warning("event=ask_failed code=%s channel=%s", exc.code, CHANNEL)
        reply = replace(fallback_reply(settings, exc.user_message), asked=scrub(data.text).text)
    except Exception as exc:  # the core promises not to raise; if it does, the person still gets a reply
        log_failure(log, "ask_failed", exc, channel=CHANNEL)
        reply = replace(fallback_reply(settings), asked=scrub(data.text).text)
    latency_ms = int((time.perf_counter() - started) * 1000)
    row = record_reply(session=session, question=question, reply=reply, latency_ms=latency_ms)
    return replace(reply, interaction_id=row.id if row is not None else None)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def chat_page(request: Request, settings: SettingsDep) -> Response:
    """The web chat."""
    context = {
        "phone": settings.service_desk_phone,
        "stuck": stuck_message(settings),
        "max_chars": settings.max_question_chars,
    }
    return templates.TemplateResponse(request, "chat.html", context)


@router.post("/api/ask")
async def ask(
    request: Request, settings: SettingsDep, assistant: AssistantDep, session: SessionDep
) -> Response:
    """Answer ``{"text": ..., "user"?, "history"?, "article"?}`` with the ``itbot ask --json`` object.

    ``article`` (an article id, from a clarify choice) answers from that article when it exists.
    """
    ok, payload = await _read_json(request)
    if not ok:
        return _error(422, "invalid_json", 'Send a JSON object such as {"text": "printer says offline"}.')
    data = parse_ask(payload, max_chars=settings.max_question_chars)
    reply = await run_in_threadpool(answer, data, settings=settings, assistant=assistant, session=session)
    body = reply.to_json()
    if data.render_html:
        body["html"] = render_markdown(reply.text)
    return JSONResponse(body)


@router.post("/api/feedback")
async def feedback(request: Request, settings: SettingsDep, session: SessionDep) -> Response:
    """Record ``{"interaction_id": ..., "helpful": true|false}``; the same click twice changes nothing."""
    ok, payload = await _read_json(request)
    interaction_id = payload.get("interaction_id") if ok and isinstance(payload, dict) else None
    helpful = payload.get("helpful") if ok and isinstance(payload, dict) else None
    if not isinstance(interaction_id, str) or not _INTERACTION_ID.fullmatch(interaction_id):
        interaction_id = None
    if interaction_id is None or not isinstance(helpful, bool):
        return _error(422, "invalid_feedback", 'Send {"interaction_id": "...", "helpful": true or false}.')
    try:
        row = await run_in_threadpool(
            record_feedback, session=session, interaction_id=interaction_id, helpful=helpful
        )
    except SQLAlchemyError as exc:
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        log_failure(log, "feedback_failed", exc, interaction_id=interaction_id)
        message = "Thanks. I couldn't save that just now." if helpful else stuck_message(settings)
        return _error(503, "unavailable", message)
    if row is None:
        return _error(404, "not_found", "I can't find that conversation any more.")
    log.info("event=feedback interaction_id=%s feedback=%s", row.id, row.feedback.value)
    message = "Glad that helped." if helpful else stuck_message(settings)
    return JSONResponse({"interaction_id": row.id, "feedback": row.feedback.value, "message": message})


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
