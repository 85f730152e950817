"""The status board anyone may read (``/status``, ``/api/status``): every system's state, the active
and upcoming notices, and those that ended in the last ``RECENT_DAYS`` days. IT staff names are left
out: the board is public inside the hospital. Drafts from monitoring and discarded drafts are never
on it."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlmodel import Session

from bot.notices.lifecycle import ENDED, UNPUBLISHED, is_active, is_upcoming, system_states
from bot.notices.models import NoticePublic, SystemPublic
from bot.notices.queries import list_notices, list_systems, list_updates

RECENT_DAYS = 7


class StatusBoard(BaseModel):
    """What ``/api/status`` answers and ``/status`` shows."""

    generated_at: datetime
    systems: list[SystemPublic]
    active: list[NoticePublic]
    upcoming: list[NoticePublic]
    recent: list[NoticePublic]


def status_board(*, session: Session, now: datetime) -> StatusBoard:
    """The board as of ``now``: systems worst state first, then by name; notices newest first
    (upcoming ones soonest first)."""
    from bot.notices.actions import notice_public

    notices = list_notices(session=session, since=now - timedelta(days=RECENT_DAYS))
    updates = list_updates(session=session, notice_ids=[n.id for n in notices if n.id is not None])
    public = {n.id: notice_public(n, now, updates) for n in notices}
    for shown in public.values():
        for line in shown.updates:
            line.author = ""
    active = [public[n.id] for n in notices if is_active(n, now)]
    upcoming = sorted(
        (public[n.id] for n in notices if is_upcoming(n, now)), key=lambda p: p.starts or p.created_at
    )
    recent = [public[n.id] for n in notices if n.status in ENDED and n.status not in UNPUBLISHED]
    systems = list_systems(session=session)
    states = system_states([s.name for s in systems], notices, now)
    naming: dict[str, list[int]] = {}
    for notice in active:
        for name in notice.systems:
            naming.setdefault(name.casefold(), []).append(notice.id)
    order = {"down": 0, "degraded": 1, "upgrade_window": 2, "operational": 3}
    rows = [
        SystemPublic(
            name=s.name,
            aliases=s.aliases,
            state=states[s.name].value,
            notices=naming.get(s.name.casefold(), []),
        )
        for s in systems
    ]
    rows.sort(key=lambda r: (order.get(r.state, 9), r.name.casefold()))
    return StatusBoard(generated_at=now, systems=rows, active=active, upcoming=upcoming, recent=recent)
