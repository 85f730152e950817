"""``POST /api/alerts``: monitoring reports a problem; itbot keeps a draft outage for IT to confirm.

Protected like ``/api/notices`` (``Authorization: Bearer <ITBOT_TICKETS_API_TOKEN>``; 401 without
it, 404 when no token is configured). The body is one alert in the generic shape or an Alertmanager
webhook (version 4); both are described in ``bot.notices.alerts``. Point Alertmanager at it with a
``webhook_config`` whose ``http_config.authorization.credentials`` is the token.

Answers ``{"action", "notice"}``: 201 ``created`` (a new draft, posted to the triage channel), 200
``updated`` / ``unchanged`` (the same alert again: still one draft), ``recovered`` / ``monitoring``
(the alert resolved: IT is asked, nothing is resolved silently), ``ignored`` (resolved, nothing
open). Errors, with nothing written: 400 ``invalid_json`` (not JSON), 422 ``invalid_alert`` (a field
missing or wrong, named in the message), 422 ``unknown_system`` (with the closest known name).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bot.channels.web.notices_api import NoticesRoute
from bot.channels.web.tickets_api import ApiError
from bot.config import Settings
from bot.db import SessionFactory
from bot.interactions.models import utcnow
from bot.notices.actions import notice_public
from bot.notices.alerts import Alert, parse_alert
from bot.notices.intake import Intake, take_alert
from bot.notices.queries import list_updates
from bot.notices.registry import ensure_seeded

log = logging.getLogger(__name__)
router = APIRouter(route_class=NoticesRoute)


@router.post("/api/alerts")
async def post_alert(request: Request) -> Response:
    """Take one alert (see the module docstring)."""
    try:
        payload = json.loads((await request.body()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ApiError(
            400, "invalid_json", 'The body is not JSON. Send e.g. {"system": "Epic", "summary": "..."}.'
        ) from None
    alert = parse_alert(payload)
    settings: Settings = request.app.state.settings
    body = await run_in_threadpool(_take, request.app.state.sessions, settings, alert)
    return JSONResponse(body, status_code=201 if body["action"] == "created" else 200)


def _take(sessions: SessionFactory, settings: Settings, alert: Alert) -> dict[str, Any]:
    """Apply the alert and commit; a second request for the same new alert that lost the race to
    create its draft reads the winner's instead (one draft, never two)."""
    for attempt in (1, 2):
        with sessions() as session:
            try:
                intake = _apply(session, settings, alert)
            except IntegrityError:
                session.rollback()
                if attempt == 2:
                    raise
                continue
            except BaseException:
                session.rollback()
                raise
            return _answer(session, intake)
    raise AssertionError("unreachable")


def _apply(session: Session, settings: Settings, alert: Alert) -> Intake:
    now = utcnow()
    ensure_seeded(session=session, kb=settings.kb)
    intake = take_alert(session=session, settings=settings, alert=alert, now=now)
    session.commit()
    log.info(
        "event=alert_taken action=%s notice_id=%s source=%s",
        intake.action,
        intake.notice.id if intake.notice else "-",
        alert.source,
    )
    return intake


def _answer(session: Session, intake: Intake) -> dict[str, Any]:
    notice = intake.notice
    if notice is None or notice.id is None:
        return {"action": intake.action, "notice": None}
    session.refresh(notice)
    shown = notice_public(notice, utcnow(), list_updates(session=session, notice_ids=[notice.id]))
    return {"action": intake.action, "notice": shown.model_dump(mode="json")}
