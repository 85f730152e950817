"""Turning what IT did into dispatch rows: the durable schedule the worker sends from.

* Every notice update (a ``NoticeEvent``, however it was made: CLI, API, Slack) is planned once: its
  notice's first update becomes a ``post`` row for each route the notice matches; every later
  update an ``update`` row (edit the post, add a thread line), after a ``post`` row for a route
  that has none yet (a channel added mid-outage hears of it at the next update; one that never saw
  the notice is not told it ended).
* An upgrade's reminders (``notice_reminders`` before the window, at its start and at its end) are
  rows due at those times, keyed by the window: rescheduling skips the old window's reminders and
  plans the new ones; an upgrade that ended or was postponed has its pending reminders skipped.
  Reminders already past when planned are not sent.
* "Got it" counts: a new acknowledgement plans one ``refresh`` row per channel the notice was posted
  in, due ``REFRESH_DELAY`` later, keyed by notice and channel alone: while one waits, more taps add
  nothing (at most one pending refresh per channel and notice), so 100 taps make one edit a channel,
  not 100. A refresh frees its key as it starts, so a tap during the edit queues the next one.
* Shift-change digests: at each ``notice_digest_times`` slot (local time), one ``digest`` row per
  route that takes digests, planned by whichever worker passes first within ``DIGEST_GRACE``.

Keys are unique (notice, channel, target, event), and every insert ignores a key already stored, so
two workers planning the same update or slot at once store it once. Planning an update marks it in
``notice_planned`` in the same transaction as its rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.config import Settings
from bot.notices.delivery_models import DispatchKind, NoticeRoute
from bot.notices.delivery_queries import (
    add_dispatch,
    first_event_id,
    get_delivery,
    list_deliveries,
    list_dispatch,
    list_routes,
    mark_planned,
    skip_reminders,
    unplanned_events,
)
from bot.notices.lifecycle import ENDED, UNPUBLISHED
from bot.notices.models import Notice, NoticeEvent, NoticeKind, NoticeStatus
from bot.notices.render import REMINDER_END, REMINDER_START, parse_offset, reminder_due
from bot.notices.routing import routes_for

log = logging.getLogger(__name__)

DIGEST_GRACE = timedelta(minutes=30)
# Taps within this long of the first are shown by one edit of each post.
REFRESH_DELAY = timedelta(seconds=5)
# A reminder planned a little late (the worker was busy) is still sent; one long past is not.
REMINDER_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class DeliverySchedule:
    """The delivery settings, read once: reminder labels, digest times, the hospital's time zone."""

    reminders: tuple[str, ...]
    digest_times: tuple[time, ...]
    tz: ZoneInfo

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliverySchedule:
        """Parse ``notice_reminders``, ``notice_digest_times`` and ``notice_timezone``; raises
        ``ValueError`` naming the bad value."""
        offsets = tuple(part.strip() for part in settings.notice_reminders.split(",") if part.strip())
        for offset in offsets:
            parse_offset(offset)
        digest_times = tuple(
            time.fromisoformat(part.strip())
            for part in settings.notice_digest_times.split(",")
            if part.strip()
        )
        return cls(
            reminders=(*offsets, REMINDER_START, REMINDER_END),
            digest_times=digest_times,
            tz=ZoneInfo(settings.notice_timezone),
        )


def published(notice: Notice) -> bool:
    """True for a notice staff may be told of (a draft awaiting IT's confirmation is not)."""
    return notice.status not in UNPUBLISHED


def post_key(notice_id: int, channel: str, target: str) -> str:
    """The dispatch key of a notice's post in one channel."""
    return f"n{notice_id}:{channel}:{target}:post"


def refresh_key(notice_id: int, channel: str, target: str) -> str:
    """The key of the pending "Got it" refresh of a notice's post in one channel."""
    return f"n{notice_id}:{channel}:{target}:refresh"


def plan_ack_refresh(
    *, session: Session, notice_id: int, now: datetime, delay: timedelta = REFRESH_DELAY
) -> int:
    """Plan a refresh of every post of the notice, unless one is already pending there (flushes,
    never commits); how many were added."""
    added = 0
    for delivery in list_deliveries(session=session, notice_id=notice_id):
        added += add_dispatch(
            session=session,
            key=refresh_key(notice_id, delivery.channel, delivery.target),
            kind=DispatchKind.REFRESH.value,
            notice_id=notice_id,
            channel=delivery.channel,
            target=delivery.target,
            due_at=now + delay,
            payload={},
            now=now,
        )
    return added


def window_key(notice: Notice) -> str:
    """The upgrade's window as a key: its start and end, in seconds since the epoch."""
    if notice.starts_at is None or notice.ends_at is None:
        return "none"
    return f"{int(notice.starts_at.timestamp())}-{int(notice.ends_at.timestamp())}"


def plan_updates(*, session: Session, schedule: DeliverySchedule, now: datetime, limit: int = 100) -> int:
    """Plan every update not planned yet (commits each); how many this call planned."""
    planned = 0
    for event, notice in unplanned_events(session=session, limit=limit):
        assert event.id is not None
        if not mark_planned(session=session, event_id=event.id, now=now):
            session.rollback()
            continue
        if published(notice):
            _plan_event(session, event, notice, schedule=schedule, now=now)
        session.commit()
        planned += 1
    return planned


def _plan_event(
    session: Session, event: NoticeEvent, notice: Notice, *, schedule: DeliverySchedule, now: datetime
) -> None:
    assert notice.id is not None and event.id is not None
    first = first_event_id(session=session, notice_id=notice.id) == event.id
    routes = routes_for(notice, list_routes(session=session))
    for route in routes:
        key = post_key(notice.id, route.channel, route.target)
        # A channel that has no post yet (a confirmed draft, a route added since) gets the post alone:
        # it shows the notice as it stands, so a thread line for this event would repeat it.
        posted = not first and _was_posted(session, notice.id, route)
        if not first and not posted and notice.status in ENDED:
            continue
        add_dispatch(
            session=session,
            key=key,
            kind=DispatchKind.POST.value,
            notice_id=notice.id,
            channel=route.channel,
            target=route.target,
            due_at=now,
            payload={"event": event.id},
            now=now,
        )
        if posted:
            add_dispatch(
                session=session,
                key=f"n{notice.id}:{route.channel}:{route.target}:ev{event.id}",
                kind=DispatchKind.UPDATE.value,
                notice_id=notice.id,
                channel=route.channel,
                target=route.target,
                due_at=now,
                payload={"event": event.id},
                now=now,
            )
    if notice.kind is NoticeKind.UPGRADE:
        _plan_reminders(session, notice, routes, schedule=schedule, now=now)
    log.info(
        "event=notice_planned notice_id=%s event_id=%s routes=%d first=%s",
        notice.id,
        event.id,
        len(routes),
        first,
    )


def _was_posted(session: Session, notice_id: int, route: NoticeRoute) -> bool:
    if get_delivery(session=session, notice_id=notice_id, channel=route.channel, target=route.target):
        return True
    key = post_key(notice_id, route.channel, route.target)
    return any(row.key == key for row in list_dispatch(session=session, notice_id=notice_id))


def _plan_reminders(
    session: Session, notice: Notice, routes: list[NoticeRoute], *, schedule: DeliverySchedule, now: datetime
) -> None:
    assert notice.id is not None
    if notice.status not in (NoticeStatus.SCHEDULED, NoticeStatus.IN_PROGRESS):
        skip_reminders(session=session, notice_id=notice.id, keep_window=None)
        return
    current = window_key(notice)
    skip_reminders(session=session, notice_id=notice.id, keep_window=current)
    for label in schedule.reminders:
        due = reminder_due(notice, label)
        if due is None or due < now - REMINDER_GRACE:
            continue
        for route in routes:
            add_dispatch(
                session=session,
                key=f"n{notice.id}:{route.channel}:{route.target}:remind:{label}:{current}",
                kind=DispatchKind.REMINDER.value,
                notice_id=notice.id,
                channel=route.channel,
                target=route.target,
                due_at=due,
                payload={"label": label, "window": current},
                now=now,
            )


def digest_slot(*, schedule: DeliverySchedule, now: datetime) -> datetime | None:
    """The latest shift-change slot at or before ``now`` (UTC), if it is at most ``DIGEST_GRACE`` ago."""
    today = now.astimezone(schedule.tz).date()
    slots = [
        datetime.combine(day, at, tzinfo=schedule.tz).astimezone(now.tzinfo)
        for day in (today - timedelta(days=1), today)
        for at in schedule.digest_times
    ]
    past = [slot for slot in slots if slot <= now]
    if not past:
        return None
    latest = max(past)
    return latest if now - latest <= DIGEST_GRACE else None


def plan_digest(*, session: Session, schedule: DeliverySchedule, now: datetime) -> int:
    """Plan the current slot's digest for every route that takes one (commits); how many were new."""
    slot = digest_slot(schedule=schedule, now=now)
    if slot is None:
        return 0
    stamp = slot.strftime("%Y-%m-%dT%H:%MZ")
    added = 0
    for route in list_routes(session=session):
        if route.digest:
            added += add_dispatch(
                session=session,
                key=f"digest:{stamp}:{route.channel}:{route.target}",
                kind=DispatchKind.DIGEST.value,
                notice_id=None,
                channel=route.channel,
                target=route.target,
                due_at=slot,
                payload={"slot": slot.isoformat()},
                now=now,
            )
    session.commit()
    return added
