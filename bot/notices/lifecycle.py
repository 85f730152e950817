"""The rules of a notice's life, pure: which status may follow which, when a notice is active, and
what state that puts each system in.

* An outage starts ``investigating``; it may move between ``investigating``, ``identified`` and
  ``monitoring`` in any order (a fix that did not hold goes back), and ends ``resolved``.
* An upgrade starts ``scheduled``; it goes ``in_progress`` and ends ``completed``, or is
  ``postponed`` (and later ``scheduled`` again, with a new window) or ``cancelled``.
* An outage monitoring reported (``POST /api/alerts``) starts as a ``draft``: never active, shown to
  nobody but IT, until IT confirms it (``investigating``) or discards it (``discarded``).
* A notice that ended (resolved, completed, cancelled, discarded) changes no more.
* Active (what answers and system states use): an outage until it is resolved; an upgrade while it
  is ``in_progress``, or ``scheduled`` with its window open now. Upcoming: a scheduled upgrade whose
  window has not begun.
* A system's state is the worst its active notices give: an outage its ``impact`` (degraded or
  down), an upgrade the ``upgrade_window``; with none, ``operational``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from bot.notices.models import Impact, NoticeKind, NoticeStatus, SystemState

S = NoticeStatus
OUTAGE_OPEN = frozenset({S.INVESTIGATING, S.IDENTIFIED, S.MONITORING})
ENDED = frozenset({S.RESOLVED, S.COMPLETED, S.CANCELLED, S.DISCARDED})
# Never shown to staff: not on the status board, never matched, never delivered.
UNPUBLISHED = frozenset({S.DRAFT, S.DISCARDED})
FIRST_STATUS = {NoticeKind.OUTAGE: S.INVESTIGATING, NoticeKind.UPGRADE: S.SCHEDULED}
_NEXT: dict[NoticeKind, dict[NoticeStatus, frozenset[NoticeStatus]]] = {
    NoticeKind.OUTAGE: {
        S.DRAFT: frozenset({S.INVESTIGATING, S.DISCARDED}),
        **{status: (OUTAGE_OPEN | {S.RESOLVED}) - {status} for status in OUTAGE_OPEN},
    },
    NoticeKind.UPGRADE: {
        S.SCHEDULED: frozenset({S.IN_PROGRESS, S.POSTPONED, S.CANCELLED, S.COMPLETED}),
        S.IN_PROGRESS: frozenset({S.COMPLETED, S.POSTPONED, S.CANCELLED}),
        S.POSTPONED: frozenset({S.SCHEDULED, S.CANCELLED}),
    },
}
_SEVERITY = {
    SystemState.OPERATIONAL: 0,
    SystemState.UPGRADE_WINDOW: 1,
    SystemState.DEGRADED: 2,
    SystemState.DOWN: 3,
}


class NoticeLike(Protocol):
    """What the rules read of a notice (the table row, or a snapshot of it)."""

    @property
    def kind(self) -> NoticeKind: ...
    @property
    def status(self) -> NoticeStatus: ...
    @property
    def impact(self) -> Impact: ...
    @property
    def systems(self) -> Sequence[str]: ...
    @property
    def starts_at(self) -> datetime | None: ...
    @property
    def ends_at(self) -> datetime | None: ...


def statuses_for(kind: NoticeKind) -> tuple[NoticeStatus, ...]:
    """Every status a notice of ``kind`` can be in, in the order of its life."""
    if kind is NoticeKind.OUTAGE:
        return (S.DRAFT, S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED, S.DISCARDED)
    return (S.SCHEDULED, S.IN_PROGRESS, S.COMPLETED, S.POSTPONED, S.CANCELLED)


def allowed_next(kind: NoticeKind, status: NoticeStatus) -> frozenset[NoticeStatus]:
    """The statuses a notice of ``kind`` in ``status`` may move to (none once it ended)."""
    return _NEXT[kind].get(status, frozenset())


def closing_status(kind: NoticeKind) -> NoticeStatus:
    """What ``resolve`` moves a notice to: ``resolved`` for an outage, ``completed`` for an upgrade."""
    return S.RESOLVED if kind is NoticeKind.OUTAGE else S.COMPLETED


def is_active(notice: NoticeLike, now: datetime) -> bool:
    """True while the notice is in force now (see the module docstring)."""
    if notice.kind is NoticeKind.OUTAGE:
        return notice.status in OUTAGE_OPEN
    if notice.status is S.IN_PROGRESS:
        return True
    if notice.status is S.SCHEDULED and notice.starts_at is not None:
        return notice.starts_at <= now and (notice.ends_at is None or now < notice.ends_at)
    return False


def is_upcoming(notice: NoticeLike, now: datetime) -> bool:
    """True for a scheduled upgrade whose window has not begun yet."""
    return (
        notice.kind is NoticeKind.UPGRADE
        and notice.status is S.SCHEDULED
        and notice.starts_at is not None
        and now < notice.starts_at
    )


def state_from(notice: NoticeLike) -> SystemState:
    """The state an active ``notice`` puts its systems in."""
    if notice.kind is NoticeKind.UPGRADE:
        return SystemState.UPGRADE_WINDOW
    return SystemState.DOWN if notice.impact is Impact.DOWN else SystemState.DEGRADED


def system_states(
    systems: Iterable[str], notices: Iterable[NoticeLike], now: datetime
) -> dict[str, SystemState]:
    """Every system's state: the worst of its active notices' (compared by name, ignoring case)."""
    states = {name: SystemState.OPERATIONAL for name in systems}
    by_key = {name.casefold(): name for name in states}
    for notice in notices:
        if not is_active(notice, now):
            continue
        state = state_from(notice)
        for named in notice.systems:
            name = by_key.get(named.casefold(), named)
            if _SEVERITY[state] > _SEVERITY[states.get(name, SystemState.OPERATIONAL)]:
                states[name] = state
    return states
