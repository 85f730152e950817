"""Tickets about a system with an active outage belong to that outage: the ticket is linked to it
(``ticket.notice_id``) and its reporters are counted on the notice ("N reports"), so IT sees one
outage with its reports rather than a pile of tickets standing alone.

The outage a ticket belongs to is the active outage (never a draft, never an upgrade) that names the
ticket's system, by name or alias in any case; failing that, the one the outage matcher finds in the
ticket's words (the same matcher that answers staff's questions).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, func, select

from bot.notices.answers import ActiveNoticesCache
from bot.notices.lifecycle import is_active
from bot.notices.models import NoticeKind, NoticePublic
from bot.notices.queries import list_notices, list_systems
from bot.tickets.models import Ticket, TicketReporter
from bot.tickets.opening import OutageLookup

_CACHE = ActiveNoticesCache()


def outage_lookup(kb: Path) -> OutageLookup:
    """What ``bot.tickets.opening.open_ticket`` calls to link a new ticket to its active outage
    (``outage_for``, with the glossary of ``kb``)."""

    def lookup(session: Session, system: str, text: str, at: datetime) -> int | None:
        return outage_for(session=session, system=system, text=text, kb=kb, now=at)

    return lookup


def outage_for(
    *,
    session: Session,
    system: str,
    text: str,
    kb: Path,
    now: datetime,
    cache: ActiveNoticesCache | None = None,
) -> int | None:
    """The id of the active outage a ticket about ``system`` (saying ``text``, scrubbed) belongs to,
    or None."""
    outages = [
        n
        for n in list_notices(session=session, open_only=True)
        if n.kind is NoticeKind.OUTAGE and is_active(n, now) and n.id is not None
    ]
    if not outages:
        return None
    key = " ".join(system.split()).casefold()
    if key:
        names = {s.name.casefold(): s.name.casefold() for s in list_systems(session=session)}
        for row in list_systems(session=session):
            for alias in row.aliases:
                names.setdefault(alias.casefold(), row.name.casefold())
        wanted = names.get(key, key)
        for outage in sorted(outages, key=lambda n: n.created_at, reverse=True):
            if wanted in {s.casefold() for s in outage.systems}:
                return outage.id
    if not text.strip():
        return None
    matcher = (cache or _CACHE).matcher(session, kb=kb, now=now)
    found = matcher.match(text) if matcher is not None else None
    return found.id if found is not None and found.kind is NoticeKind.OUTAGE else None


def with_reports(*, session: Session, shown: Sequence[NoticePublic]) -> list[NoticePublic]:
    """``shown`` with each notice's linked tickets (numbers, oldest first) and how many people
    reported them (``reports``)."""
    ids = [n.id for n in shown]
    if not ids:
        return []
    tickets: dict[int, list[str]] = {}
    rows = session.exec(
        select(Ticket.notice_id, Ticket.number)
        .where(col(Ticket.notice_id).in_(ids))
        .order_by(col(Ticket.seq))
    )
    for notice_id, number in rows:
        if notice_id is not None:
            tickets.setdefault(notice_id, []).append(number)
    counted = session.exec(
        select(Ticket.notice_id, func.count(col(TicketReporter.id)))
        .join(TicketReporter, col(TicketReporter.ticket_id) == col(Ticket.id))
        .where(col(Ticket.notice_id).in_(ids))
        .group_by(col(Ticket.notice_id))
    )
    reports = {notice_id: int(count) for notice_id, count in counted if notice_id is not None}
    return [
        n.model_copy(update={"tickets": tickets.get(n.id, []), "reports": reports.get(n.id, 0)})
        for n in shown
    ]
