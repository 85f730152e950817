"""``GET /status`` (a page anyone can open, no login, readable on a phone) and ``GET /api/status``
(the same as JSON): every system's state, the active and upcoming notices, the last 7 days.

A database that cannot be read gives 503 (the page says so in a sentence; the JSON is an error)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.web.routes import templates
from bot.deps import SessionDep
from bot.interactions.models import utcnow
from bot.notices.board import RECENT_DAYS, status_board

log = logging.getLogger(__name__)

router = APIRouter()
STATE_LABELS = {
    "operational": "Working",
    "degraded": "Degraded",
    "down": "Down",
    "upgrade_window": "Upgrade under way",
}


@router.get("/api/status")
def api_status(session: SessionDep) -> Response:
    """The status board as JSON."""
    try:
        board = status_board(session=session, now=utcnow())
    except SQLAlchemyError as exc:
        log.error("event=status_db_error error=%s", type(exc).__name__)
        return JSONResponse({"error": "unavailable", "message": "Status is not available just now."}, 503)
    return JSONResponse(board.model_dump(mode="json"))


@router.get("/status", response_class=HTMLResponse)
def status_page(request: Request, session: SessionDep) -> Response:
    """The status board as a page."""
    try:
        board = status_board(session=session, now=utcnow())
    except SQLAlchemyError as exc:
        log.error("event=status_db_error error=%s", type(exc).__name__)
        return HTMLResponse("<p>Status is not available just now. Call the service desk.</p>", 503)
    context = {"board": board, "labels": STATE_LABELS, "recent_days": RECENT_DAYS}
    return templates.TemplateResponse(request, "status.html", context)
