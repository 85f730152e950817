"""The console's notice pages: everyone signed in reads them; agents and admins post and change them.

``GET /console/notices`` lists every notice (newest first) with, for agents, the form to post one;
``GET /console/notices/<id>`` shows one with its updates and the forms to post an update or resolve
it. The forms call the same actions as ``itbot notice`` (``bot.notices.actions``): the lifecycle is
checked there, and resolving tells the people who asked to be told. Times are typed as the CLI takes
them (``2026-12-04T02:00`` in UTC, or ``+30m``). Every change is written to the audit log; a refused
one shows its reason and keeps what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from bot.console.auth import AgentDep, ConsoleRoute, Signed, ViewerDep
from bot.console.pages import page
from bot.console.queries import record_event
from bot.console.roles import Role
from bot.deps import SessionDep, SettingsDep
from bot.interactions.models import utcnow
from bot.notices.actions import NewNotice, notice_public, open_notice, resolve_notice, update_notice
from bot.notices.errors import NoticeError, NoticeNotFoundError
from bot.notices.lifecycle import allowed_next
from bot.notices.models import Impact, Notice, NoticeKind, NoticeStatus
from bot.notices.queries import get_notice, list_notices, list_systems, list_updates
from bot.notices.registry import ensure_seeded, parse_list
from bot.notices.times import optional_time

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Short = Annotated[str, Form(max_length=200)]
Long = Annotated[str, Form(max_length=8000)]
DONE = {
    "created": "The notice is posted.",
    "updated": "The update is posted.",
    "resolved": "The notice is closed.",
}


def _list_page(
    request: Request,
    signed: Signed,
    session: Session,
    *,
    error: str = "",
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    now = utcnow()
    rows = list_notices(session=session)
    updates = list_updates(session=session, notice_ids=[r.id for r in rows if r.id is not None])
    context: dict[str, Any] = {
        "notices": [notice_public(r, now, updates) for r in rows],
        "systems": [s.name for s in list_systems(session=session)],
        "may_post": signed.role.allows(Role.AGENT),
        "kinds": [k.value for k in NoticeKind],
        "impacts": [i.value for i in Impact],
        "error": error,
        "typed": typed or {},
    }
    return page(request, "notices.html", signed, context, status_code=status_code)


@router.get("/console/notices")
def notices_page(request: Request, signed: ViewerDep, session: SessionDep, settings: SettingsDep) -> Response:
    """Every notice, newest first, active ones marked; agents also get the form to post one."""
    ensure_seeded(session=session, kb=settings.kb)
    session.commit()
    return _list_page(request, signed, session)


@router.post("/console/notices")
def create(
    request: Request,
    signed: AgentDep,
    session: SessionDep,
    settings: SettingsDep,
    kind: Short = "outage",
    title: Short = "",
    systems: Long = "",
    body: Long = "",
    impact: Short = "degraded",
    next_update: Short = "",
    starts: Short = "",
    ends: Short = "",
    changes: Long = "",
    procedure: Short = "",
) -> Response:
    """Post a new notice (as ``itbot notice create``); on a refusal the list again, with the reason
    and what was typed. An upgrade may say what changes for staff and name its downtime-procedure
    article, which must be in the knowledge folder (the closest id is suggested otherwise)."""
    typed = {
        "kind": kind,
        "title": title,
        "systems": systems,
        "body": body,
        "impact": impact,
        "next_update": next_update,
        "starts": starts,
        "ends": ends,
        "changes": changes,
        "procedure": procedure,
    }
    now = utcnow()
    try:
        ensure_seeded(session=session, kb=settings.kb)
        notice = open_notice(
            session=session,
            new=NewNotice(
                kind=NoticeKind(kind) if kind in {k.value for k in NoticeKind} else NoticeKind.OUTAGE,
                title=title,
                systems=parse_list(systems),
                body=body,
                impact=Impact(impact) if impact in {i.value for i in Impact} else Impact.DEGRADED,
                next_update_at=optional_time(next_update, now),
                starts_at=optional_time(starts, now),
                ends_at=optional_time(ends, now),
                staff_changes=changes.strip(),
                procedure_article=procedure,
                author=signed.name,
            ),
            now=now,
            kb=settings.kb,
        )
        session.commit()
    except NoticeError as exc:
        session.rollback()
        return _list_page(request, signed, session, error=exc.user_message, typed=typed, status_code=400)
    record_event(
        session=session,
        actor=signed.name,
        action="notice_created",
        target=str(notice.id),
        detail=f"{notice.kind.value}: {notice.title}"[:200],
        address=signed.address,
    )
    return RedirectResponse(f"/console/notices/{notice.id}?done=created", status_code=303)


def _notice_page(
    request: Request,
    signed: Signed,
    session: Session,
    notice: Notice,
    *,
    error: str = "",
    done: str = "",
    status_code: int = 200,
) -> Response:
    assert notice.id is not None
    shown = notice_public(notice, utcnow(), list_updates(session=session, notice_ids=[notice.id]))
    context: dict[str, Any] = {
        "notice": shown,
        "next_statuses": sorted(s.value for s in allowed_next(notice.kind, notice.status)),
        "may_post": signed.role.allows(Role.AGENT),
        "error": error,
        "done": DONE.get(done, ""),
    }
    return page(request, "notice.html", signed, context, status_code=status_code)


def _missing(request: Request, signed: Signed, notice_id: int) -> Response:
    return page(
        request, "refused.html", signed, {"reason": f"There is no notice {notice_id}."}, status_code=404
    )


@router.get("/console/notices/{notice_id}")
def notice_page(
    request: Request, notice_id: int, signed: ViewerDep, session: SessionDep, done: str = ""
) -> Response:
    """One notice with its updates; agents also get the update and resolve forms."""
    notice = get_notice(session=session, notice_id=notice_id)
    if notice is None:
        return _missing(request, signed, notice_id)
    return _notice_page(request, signed, session, notice, done=done[:16])


def _changed(
    request: Request,
    signed: Signed,
    session: Session,
    notice_id: int,
    action: str,
    run: Callable[[], Notice],
) -> Response:
    try:
        notice = run()
        session.commit()
    except NoticeNotFoundError:
        session.rollback()
        return _missing(request, signed, notice_id)
    except NoticeError as exc:
        session.rollback()
        found = get_notice(session=session, notice_id=notice_id)
        if found is None:
            return _missing(request, signed, notice_id)
        return _notice_page(request, signed, session, found, error=exc.user_message, status_code=400)
    record_event(
        session=session,
        actor=signed.name,
        action=f"notice_{action}",
        target=str(notice_id),
        detail=notice.status.value,
        address=signed.address,
    )
    return RedirectResponse(f"/console/notices/{notice_id}?done={action}", status_code=303)


@router.post("/console/notices/{notice_id}/update")
def update(
    request: Request,
    notice_id: int,
    signed: AgentDep,
    session: SessionDep,
    status: Short = "",
    body: Long = "",
    next_update: Short = "",
) -> Response:
    """Post an update (as ``itbot notice update``): a new status the lifecycle allows, words, or the
    next update's time."""
    now = utcnow()

    def run() -> Notice:
        return update_notice(
            session=session,
            notice_id=notice_id,
            now=now,
            status=NoticeStatus(status) if status in {s.value for s in NoticeStatus} else None,
            body=body,
            next_update_at=optional_time(next_update, now),
            author=signed.name,
        )

    return _changed(request, signed, session, notice_id, "updated", run)


@router.post("/console/notices/{notice_id}/resolve")
def resolve(
    request: Request, notice_id: int, signed: AgentDep, session: SessionDep, body: Long = ""
) -> Response:
    """End the notice (an outage resolved, an upgrade completed); the people who asked are told."""
    now = utcnow()
    return _changed(
        request,
        signed,
        session,
        notice_id,
        "resolved",
        lambda: resolve_notice(session=session, notice_id=notice_id, now=now, body=body, author=signed.name),
    )
