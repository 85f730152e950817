"""The web chat's "Tell me when it's fixed": ``POST /api/notify`` ``{"notice": ID, "conversation":
"web-..."}`` adds the person to the notice's subscribers; when the notice ends, the message arrives in
that web conversation (the outbox's web sender). Answers ``{"message"}``: 200 subscribed (twice is the
same), 404 unknown notice, 409 a notice that already ended, 422 bad input, 503 database unavailable."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.channels.web.input import clean_user, conversation_of
from bot.channels.web.routes import BAD_CONVERSATION, CHANNEL
from bot.deps import SessionDep
from bot.notices.errors import BadTransitionError, NoticeNotFoundError
from bot.notices.subscriptions import subscribe
from bot.request_guards import WebChatRoute

log = logging.getLogger(__name__)
router = APIRouter(route_class=WebChatRoute)
SUBSCRIBED = "I'll tell you here when it's fixed."


@router.post("/api/notify")
async def notify(request: Request, session: SessionDep) -> Response:
    """Subscribe the web conversation to the notice (see the module docstring)."""
    payload = await _json(request)
    notice = payload.get("notice") if isinstance(payload, dict) else None
    if not isinstance(notice, int) or isinstance(notice, bool) or notice < 1:
        return _error(422, "invalid_notice", 'Send {"notice": <id>, "conversation": "web-..."}.')
    conversation = conversation_of(payload)
    if conversation is None:
        return _error(422, "invalid_conversation", BAD_CONVERSATION)
    user = clean_user(payload.get("user")) or conversation
    try:
        await run_in_threadpool(_subscribe, session, notice, conversation, user)
    except NoticeNotFoundError as exc:
        return _error(404, "not_found", exc.user_message)
    except BadTransitionError as exc:
        return _error(409, "ended", exc.user_message)
    except SQLAlchemyError as exc:
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        log.error("event=web_notify_failed error=%s", type(exc).__name__)
        return _error(503, "unavailable", "I couldn't note that just now. Please try again.")
    log.info("event=notice_subscribed channel=web notice_id=%s", notice)
    return JSONResponse({"message": SUBSCRIBED, "notice": notice})


async def _json(request: Request) -> Any:
    try:
        return json.loads((await request.body()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _subscribe(session: Session, notice: int, conversation: str, user: str) -> None:
    subscribe(
        session=session, notice_id=notice, channel=CHANNEL, user=user, reply_to={"conversation": conversation}
    )
    session.commit()
