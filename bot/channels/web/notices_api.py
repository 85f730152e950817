"""The notices JSON API for IT's tools, protected like ``/api/tickets`` (the same bearer token,
``ITBOT_TICKETS_API_TOKEN``: 401 without it, 404 when none is configured).

* ``GET /api/notices`` (``?open=true``: only those not ended) → ``{"data": [notice], "count"}``;
* ``GET /api/notices/{id}`` → the notice with its updates;
  each notice as ``itbot notice show --json`` shows it, with ``acknowledged`` (upgrades: how many
  tapped "Got it") and ``posted_in`` (``channel:target`` of each post);
* ``POST /api/notices`` ``{"kind", "title", "systems": [...], "body"?, "sites"?, "impact"?,
  "next_update"?, "starts"?, "ends"?, "staff_changes"?, "procedure_article"? (or
  "downtime_article"), "author"?}`` → 201;
* ``POST /api/notices/{id}/update`` ``{"status"?, "body"?, "next_update"?, "starts"?, "ends"?,
  "staff_changes"?, "procedure_article"?}``;
* ``POST /api/notices/{id}/resolve`` ``{"body"?, "author"?}``;
* ``GET /api/systems`` and ``POST /api/systems`` ``{"name", "aliases"?}``.

Times are ISO 8601 (UTC without a zone) or relative (``+30m``). Errors are JSON ``{"error",
"message"}``: 404 unknown notice, 409 a status the notice cannot take (resolving a resolved one), 422
bad input (an unknown system, with the closest known one; a window in the past; a downtime article
the knowledge folder does not have); nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AliasChoices, BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.channels.web.tickets_api import ApiError, TokenRoute
from bot.deps import SessionDep, SettingsDep
from bot.interactions.models import utcnow
from bot.notices.acks import with_acks
from bot.notices.actions import (
    NewNotice,
    add_registry_system,
    notice_public,
    open_notice,
    resolve_notice,
    update_notice,
)
from bot.notices.errors import BadTransitionError, NoticeError, NoticeNotFoundError
from bot.notices.lifecycle import system_states
from bot.notices.models import Impact, NoticeKind, NoticePublic, NoticeStatus, SystemPublic
from bot.notices.queries import get_notice, list_notices, list_systems, list_updates
from bot.notices.registry import ensure_seeded
from bot.notices.ticket_links import with_reports
from bot.notices.times import optional_time

log = logging.getLogger(__name__)

MAX_TEXT = 8000
MAX_NAME = 128


def error_for(exc: Exception) -> ApiError | None:
    """The API's answer to an exception a route raised, or None for one it does not expect."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, NoticeNotFoundError):
        return ApiError(404, "not_found", exc.user_message)
    if isinstance(exc, BadTransitionError):
        return ApiError(409, exc.code, exc.user_message)
    if isinstance(exc, NoticeError):
        return ApiError(422, exc.code, exc.user_message)
    if isinstance(exc, SQLAlchemyError):
        log.error("event=notices_api_db_error error=%s", type(exc).__name__)
        return ApiError(503, "unavailable", "The notice store is not reachable just now. Try again shortly.")
    return None


class NoticesRoute(TokenRoute):
    """The bearer token first (as ``/api/tickets``), then the route; notice errors become JSON, and a
    failed request rolls its session back so nothing is written."""

    @staticmethod
    def map_error(exc: Exception) -> ApiError | None:
        """The notices API's answer to an exception a route raised (``error_for``)."""
        return error_for(exc)


class NoticeBody(BaseModel):
    """``POST /api/notices``."""

    kind: NoticeKind
    title: str = Field(min_length=1, max_length=200)
    systems: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(min_length=1, max_length=50)
    body: str = Field(default="", max_length=MAX_TEXT)
    sites: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(default_factory=list, max_length=50)
    impact: Impact = Impact.DEGRADED
    next_update: str | None = Field(default=None, max_length=64)
    starts: str | None = Field(default=None, max_length=64)
    ends: str | None = Field(default=None, max_length=64)
    staff_changes: str = Field(default="", max_length=MAX_TEXT)
    procedure_article: str = Field(
        default="", max_length=255, validation_alias=AliasChoices("procedure_article", "downtime_article")
    )
    author: str = Field(default="", max_length=64)


class UpdateBody(BaseModel):
    """``POST /api/notices/{id}/update``."""

    status: NoticeStatus | None = None
    body: str = Field(default="", max_length=MAX_TEXT)
    next_update: str | None = Field(default=None, max_length=64)
    starts: str | None = Field(default=None, max_length=64)
    ends: str | None = Field(default=None, max_length=64)
    staff_changes: str | None = Field(default=None, max_length=MAX_TEXT)
    procedure_article: str | None = Field(
        default=None, max_length=255, validation_alias=AliasChoices("procedure_article", "downtime_article")
    )
    author: str = Field(default="", max_length=64)


class ResolveBody(BaseModel):
    """``POST /api/notices/{id}/resolve``."""

    body: str = Field(default="", max_length=MAX_TEXT)
    author: str = Field(default="", max_length=64)


class SystemBody(BaseModel):
    """``POST /api/systems``."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    aliases: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(default_factory=list, max_length=50)


class NoticesPublic(BaseModel):
    """A list of notices and how many."""

    data: list[NoticePublic]
    count: int


router = APIRouter(route_class=NoticesRoute)


@router.get("/api/notices")
def get_notices(
    session: SessionDep, open_only: Annotated[bool, Query(alias="open")] = False
) -> NoticesPublic:
    """The notices, newest first (``open``: only those that have not ended)."""
    now = utcnow()
    rows = list_notices(session=session, open_only=open_only)
    updates = list_updates(session=session, notice_ids=[r.id for r in rows if r.id is not None])
    data = with_reports(session=session, shown=[notice_public(r, now, updates) for r in rows])
    data = with_acks(session=session, shown=data)
    return NoticesPublic(data=data, count=len(data))


@router.get("/api/notices/{notice_id}")
def get_one(notice_id: int, session: SessionDep) -> NoticePublic:
    """One notice with its updates, oldest first."""
    notice = get_notice(session=session, notice_id=notice_id)
    if notice is None:
        raise NoticeNotFoundError(notice_id)
    shown = notice_public(notice, utcnow(), list_updates(session=session, notice_ids=[notice_id]))
    return with_acks(session=session, shown=with_reports(session=session, shown=[shown]))[0]


@router.post("/api/notices", status_code=201)
def post_notice(body: NoticeBody, session: SessionDep, settings: SettingsDep) -> NoticePublic:
    """Post a notice (an outage starts ``investigating``, an upgrade ``scheduled``)."""
    now = utcnow()
    with _writing(session):
        ensure_seeded(session=session, kb=settings.kb)
        notice = open_notice(
            session=session,
            new=NewNotice(
                kind=body.kind,
                title=body.title,
                systems=body.systems,
                body=body.body,
                sites=body.sites,
                impact=body.impact,
                next_update_at=optional_time(body.next_update, now),
                starts_at=optional_time(body.starts, now),
                ends_at=optional_time(body.ends, now),
                staff_changes=body.staff_changes,
                procedure_article=body.procedure_article,
                author=body.author,
            ),
            now=now,
            kb=settings.kb,
        )
    return notice_public(notice, now, list_updates(session=session, notice_ids=[notice.id or 0]))


@router.post("/api/notices/{notice_id}/update")
def post_update(notice_id: int, body: UpdateBody, session: SessionDep, settings: SettingsDep) -> NoticePublic:
    """Post an update: status, words, next update, or an upgrade's new window."""
    now = utcnow()
    with _writing(session):
        notice = update_notice(
            session=session,
            notice_id=notice_id,
            now=now,
            status=body.status,
            body=body.body,
            next_update_at=optional_time(body.next_update, now),
            starts_at=optional_time(body.starts, now),
            ends_at=optional_time(body.ends, now),
            staff_changes=body.staff_changes,
            procedure_article=body.procedure_article,
            kb=settings.kb,
            author=body.author,
        )
    return notice_public(notice, now, list_updates(session=session, notice_ids=[notice_id]))


@router.post("/api/notices/{notice_id}/resolve")
def post_resolve(notice_id: int, session: SessionDep, body: ResolveBody | None = None) -> NoticePublic:
    """End the notice: an outage is resolved, an upgrade completed (409 if it already ended)."""
    body = body or ResolveBody()
    now = utcnow()
    with _writing(session):
        notice = resolve_notice(
            session=session, notice_id=notice_id, now=now, body=body.body, author=body.author
        )
    return notice_public(notice, now, list_updates(session=session, notice_ids=[notice_id]))


@router.get("/api/systems")
def get_systems(session: SessionDep, settings: SettingsDep) -> list[SystemPublic]:
    """Every system of the registry with its state and the active notices naming it."""
    with _writing(session):
        ensure_seeded(session=session, kb=settings.kb)
    return systems_public(session)


@router.post("/api/systems", status_code=201)
def post_system(body: SystemBody, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """Add a system (or aliases to one)."""
    with _writing(session):
        ensure_seeded(session=session, kb=settings.kb)
        row = add_registry_system(session=session, name=body.name, aliases=body.aliases)
    return JSONResponse({"name": row.name, "aliases": row.aliases}, status_code=201)


def systems_public(session: Session) -> list[SystemPublic]:
    """Every system with its state now and the active notices that name it."""
    from bot.notices.lifecycle import is_active

    now = utcnow()
    systems = list_systems(session=session)
    notices = list_notices(session=session, open_only=True)
    states = system_states([s.name for s in systems], notices, now)
    naming: dict[str, list[int]] = {}
    for notice in notices:
        if is_active(notice, now) and notice.id is not None:
            for name in notice.systems:
                naming.setdefault(name.casefold(), []).append(notice.id)
    return [
        SystemPublic(
            name=s.name,
            aliases=s.aliases,
            state=states[s.name].value,
            notices=naming.get(s.name.casefold(), []),
        )
        for s in systems
    ]


@contextmanager
def _writing(session: Session) -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back when it raises."""
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    session.commit()
