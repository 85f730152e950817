"""What IT does with notices (create, update, resolve) and with the registry, checked before
anything is written: a refused action raises a ``NoticeError`` and leaves the session untouched.

Times: ``now`` is passed in (the CLI and API pass the clock), so the rules are testable. An upgrade
needs a window that ends after it starts and has not ended yet; a window that begins more than a
minute ago is refused when scheduling (say ``in_progress`` instead). Every change bumps the
process's active-notices cache (``bot.notices.active``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from bot.notices import active
from bot.notices.errors import BadScheduleError, BadTransitionError, NoticeError, NoticeNotFoundError
from bot.notices.lifecycle import ENDED, FIRST_STATUS, allowed_next, closing_status, is_active
from bot.notices.models import (
    Impact,
    Notice,
    NoticeEvent,
    NoticeEventPublic,
    NoticeKind,
    NoticePublic,
    NoticeStatus,
    NoticeSystem,
)
from bot.notices.procedures import check_procedure_article
from bot.notices.queries import add_system, add_update, create_notice, get_notice, list_systems
from bot.notices.registry import resolve_names
from bot.notices.subscriptions import tell_subscribers

MAX_TITLE = 200
MAX_BODY = 8000
TOO_LONG_CHANGES = f"Keep what changes for staff under {MAX_BODY} characters."
SCHEDULE_GRACE = timedelta(minutes=1)


@dataclass(frozen=True)
class NewNotice:
    """What IT gives to open a notice (names of systems as typed; times timezone-aware)."""

    kind: NoticeKind
    title: str
    systems: Sequence[str]
    body: str = ""
    sites: Sequence[str] = ()
    impact: Impact = Impact.DEGRADED
    next_update_at: datetime | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    staff_changes: str = ""
    procedure_article: str = ""
    author: str = ""


def open_notice(*, session: Session, new: NewNotice, now: datetime, kb: Path | None = None) -> Notice:
    """Check ``new`` and add it as a notice with its first update; returns the notice (flushed).

    ``kb``: the knowledge folder the downtime-procedure article must be in (every caller that takes
    IT's input passes it; without it the id is stored as given)."""
    title = " ".join(new.title.split())
    if not title:
        raise NoticeError("empty title", user_message="The notice needs a title.", field="title")
    if len(title) > MAX_TITLE or len(new.body) > MAX_BODY:
        raise NoticeError(
            "too long",
            user_message=f"Keep the title under {MAX_TITLE} characters and the body under {MAX_BODY}.",
        )
    systems = resolve_names(new.systems, list_systems(session=session))
    procedure = _procedure(new.procedure_article, kb)
    if len(new.staff_changes) > MAX_BODY:
        raise NoticeError("too long", user_message=TOO_LONG_CHANGES)
    _check_next_update(new.next_update_at, now)
    if new.kind is NoticeKind.UPGRADE:
        _check_window(new.starts_at, new.ends_at, now)
    elif new.starts_at is not None or new.ends_at is not None:
        raise BadScheduleError(
            "outage with window",
            user_message="Only an upgrade has a start and an end; an outage starts when it is posted.",
            field="window",
        )
    notice = Notice(
        kind=new.kind,
        title=title,
        status=FIRST_STATUS[new.kind],
        impact=new.impact,
        body=new.body.strip(),
        staff_changes=new.staff_changes.strip(),
        procedure_article=procedure,
        author=new.author[:64],
        systems=systems,
        sites=[" ".join(s.split()) for s in new.sites if s.strip()],
        next_update_at=new.next_update_at,
        starts_at=new.starts_at,
        ends_at=new.ends_at,
        created_at=now,
        updated_at=now,
    )
    create_notice(session=session, notice=notice)
    active.changed()
    return notice


def update_notice(
    *,
    session: Session,
    notice_id: int,
    now: datetime,
    status: NoticeStatus | None = None,
    body: str = "",
    next_update_at: datetime | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    staff_changes: str | None = None,
    procedure_article: str | None = None,
    kb: Path | None = None,
    author: str = "",
) -> Notice:
    """Post an update: a new status (checked against the lifecycle), new words, the next update's
    time, or (upgrades) a new window, what changes for staff, the downtime-procedure article
    (checked in ``kb``; None keeps each as it is). The update is kept in the notice's history. When
    the notice ends, its subscribers' messages are queued in the same transaction."""
    notice = _get(session, notice_id)
    if notice.status in ENDED:
        raise BadTransitionError(
            "ended", user_message=f"Notice {notice_id} is already {notice.status.value}; open a new one."
        )
    if (
        status is not None
        and status is not notice.status
        and status not in allowed_next(notice.kind, notice.status)
    ):
        allowed = ", ".join(sorted(s.value for s in allowed_next(notice.kind, notice.status)))
        raise BadTransitionError(
            "bad status",
            user_message=f"A {notice.kind.value} notice that is {notice.status.value} can't become "
            f"{status.value} (it can become: {allowed}).",
        )
    if body and len(body) > MAX_BODY:
        raise NoticeError("too long", user_message=f"Keep the update under {MAX_BODY} characters.")
    _check_next_update(next_update_at, now)
    procedure = _procedure(procedure_article, kb) if procedure_article is not None else None
    if staff_changes is not None and len(staff_changes) > MAX_BODY:
        raise NoticeError("too long", user_message=TOO_LONG_CHANGES)
    if starts_at is not None or ends_at is not None:
        if notice.kind is not NoticeKind.UPGRADE:
            raise BadScheduleError("outage window", user_message="Only an upgrade has a window.")
        _check_window(
            starts_at or notice.starts_at, ends_at or notice.ends_at, now, starting=starts_at is not None
        )
        notice.starts_at = starts_at or notice.starts_at
        notice.ends_at = ends_at or notice.ends_at
    if status is not None:
        notice.status = status
        if status in ENDED:
            notice.closed_at = now
    if body.strip():
        notice.body = body.strip()
    if staff_changes is not None:
        notice.staff_changes = staff_changes.strip()
    if procedure is not None:
        notice.procedure_article = procedure
    if next_update_at is not None:
        notice.next_update_at = next_update_at
    if notice.status in ENDED:
        notice.next_update_at = None
        notice.alert_key = None  # the same alert firing again later opens a new draft
    add_update(session=session, notice=notice, status=notice.status, body=body.strip(), author=author, at=now)
    if notice.status in ENDED:
        tell_subscribers(session=session, notice=notice, now=now, note=body)
    active.changed()
    return notice


def resolve_notice(
    *, session: Session, notice_id: int, now: datetime, body: str = "", author: str = ""
) -> Notice:
    """End the notice: an outage becomes resolved, an upgrade completed. Refused if it already ended."""
    notice = _get(session, notice_id)
    return update_notice(
        session=session,
        notice_id=notice_id,
        now=now,
        status=closing_status(notice.kind),
        body=body,
        author=author,
    )


def add_registry_system(*, session: Session, name: str, aliases: Sequence[str]) -> NoticeSystem:
    """Add a system (or, when it exists, add the new aliases to it); refuses an alias of another one."""
    clean = " ".join(name.split())
    if not clean:
        raise NoticeError("empty name", user_message="The system needs a name.")
    wanted = [" ".join(a.split()).lower() for a in aliases if a.strip()]
    systems = list_systems(session=session)
    existing = next((s for s in systems if s.name.casefold() == clean.casefold()), None)
    words = wanted if existing is not None else [clean.casefold(), *wanted]
    for other in systems:
        if other is existing:
            continue
        taken = {other.name.casefold(), *other.aliases}
        clash = next((w for w in words if w in taken), None)
        if clash is not None:
            raise NoticeError("taken", user_message=f"{clash!r} already names the system {other.name!r}.")
    if existing is not None:
        existing.aliases = existing.aliases + [a for a in wanted if a not in existing.aliases]
        session.add(existing)
        session.flush()
        active.changed()
        return existing
    row = add_system(session=session, name=clean, aliases=wanted)
    active.changed()
    return row


def notice_public(notice: Notice, now: datetime, updates: Sequence[NoticeEvent] = ()) -> NoticePublic:
    """The notice as JSON shows it, with ``active`` as of ``now`` and its updates oldest first."""
    assert notice.id is not None
    return NoticePublic(
        id=notice.id,
        kind=notice.kind.value,
        title=notice.title,
        status=notice.status.value,
        systems=list(notice.systems),
        body=notice.body,
        next_update=notice.next_update_at,
        impact=notice.impact.value,
        sites=list(notice.sites),
        starts=notice.starts_at,
        ends=notice.ends_at,
        staff_changes=notice.staff_changes,
        procedure_article=notice.procedure_article,
        active=is_active(notice, now),
        created_at=notice.created_at,
        updated_at=notice.updated_at,
        closed_at=notice.closed_at,
        alert_source=notice.alert_source,
        alert_status=notice.alert_status,
        updates=[
            NoticeEventPublic(status=u.status.value, body=u.body, author=u.author, at=u.created_at)
            for u in updates
            if u.notice_id == notice.id
        ],
    )


def _get(session: Session, notice_id: int) -> Notice:
    notice = get_notice(session=session, notice_id=notice_id)
    if notice is None:
        raise NoticeNotFoundError(notice_id)
    return notice


def _procedure(typed: str, kb: Path | None) -> str:
    """The downtime-procedure article id, checked in ``kb`` when one is given."""
    return check_procedure_article(typed, kb) if kb is not None else typed.strip()


def _check_next_update(at: datetime | None, now: datetime) -> None:
    if at is not None and at < now - SCHEDULE_GRACE:
        raise BadScheduleError(
            "next update in the past", user_message="The next update's time is in the past."
        )


def _check_window(
    starts: datetime | None, ends: datetime | None, now: datetime, *, starting: bool = True
) -> None:
    if starts is None or ends is None:
        raise BadScheduleError(
            "no window",
            user_message="An upgrade needs its window: when it starts and when it ends.",
            field="window",
        )
    if ends <= starts:
        raise BadScheduleError("ends before start", user_message="The window ends before it starts.")
    if ends <= now:
        raise BadScheduleError(
            "window over", user_message="That window is in the past (it has already ended)."
        )
    if starting and starts < now - SCHEDULE_GRACE:
        raise BadScheduleError(
            "starts in the past", user_message="That window starts in the past; give a start from now on."
        )
