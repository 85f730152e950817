"""Every statement about notice delivery, keyword-only: routes, the dispatch queue, acks.

Claiming follows the outbox's rules (``bot.tickets.outbox``): on PostgreSQL the candidates are read
``FOR UPDATE SKIP LOCKED``; on SQLite inside ``BEGIN IMMEDIATE`` (one writer at a time). On both the
update takes only rows still unclaimed (``pending``, or ``sending`` with a lease run out), and the
worker gets back only the rows it really took. Settling a row checks the claim in the same statement
(``WHERE claimed_by = me AND status = 'sending'``), so a worker whose lease ran out and was taken
over records nothing.

A dispatch row of a notice waits while an earlier row (by ``due_at``, then id) of the same notice and
channel target is pending or being sent: the post goes before its updates, updates in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, exists, func, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.notices.delivery_models import (
    DispatchKind,
    DispatchStatus,
    NoticeAck,
    NoticeDispatch,
    NoticePlanned,
    NoticeRoute,
)
from bot.notices.models import Notice, NoticeDelivery, NoticeEvent

DISPATCH: Table = NoticeDispatch.metadata.tables["notice_dispatch"]
MAX_ERROR_CHARS = 255
_OPEN = (DispatchStatus.PENDING.value, DispatchStatus.SENDING.value)


# -- routes ------------------------------------------------------------------------------------------


def list_routes(*, session: Session, channel: str | None = None) -> list[NoticeRoute]:
    """Every configured route (of one channel kind), in the order added."""
    statement = select(NoticeRoute)
    if channel is not None:
        statement = statement.where(NoticeRoute.channel == channel)
    return list(session.exec(statement.order_by(col(NoticeRoute.id))))


def get_route(*, session: Session, channel: str, target: str) -> NoticeRoute | None:
    """The route of ``target`` on ``channel``, or None."""
    return session.exec(
        select(NoticeRoute).where(NoticeRoute.channel == channel, NoticeRoute.target == target)
    ).first()


def save_route(
    *,
    session: Session,
    channel: str,
    target: str,
    label: str,
    systems: Sequence[str],
    sites: Sequence[str],
    digest: bool,
) -> NoticeRoute:
    """Add the route, or replace what an existing route of ``target`` receives."""
    row = get_route(session=session, channel=channel, target=target) or NoticeRoute(
        channel=channel, target=target
    )
    row.label, row.systems, row.sites, row.digest = label, list(systems), list(sites), digest
    session.add(row)
    session.flush()
    return row


def remove_route(*, session: Session, channel: str, target: str) -> bool:
    """Remove the route of ``target``; False when there was none."""
    row = get_route(session=session, channel=channel, target=target)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


# -- planning ----------------------------------------------------------------------------------------


def unplanned_events(*, session: Session, limit: int = 100) -> list[tuple[NoticeEvent, Notice]]:
    """Notice updates not yet turned into dispatch rows, oldest first, each with its notice."""
    planned = exists().where(col(NoticePlanned.event_id) == col(NoticeEvent.id))
    statement = (
        select(NoticeEvent, Notice)
        .join(Notice, col(Notice.id) == col(NoticeEvent.notice_id))
        .where(~planned)
        .order_by(col(NoticeEvent.id))
        .limit(limit)
    )
    return [(event, notice) for event, notice in session.exec(statement)]


def first_event_id(*, session: Session, notice_id: int) -> int | None:
    """The id of the notice's first update (the one its post announces)."""
    return session.exec(
        select(func.min(NoticeEvent.id)).where(NoticeEvent.notice_id == notice_id)
    ).one_or_none()


def _insert_ignoring_duplicates(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert ``values`` unless a row with the same unique key exists; True when it was inserted."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = pg_insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - itbot runs on SQLite and PostgreSQL
        statement = insert(table).values(**values)
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT it answered with RETURNING.
    key = next(iter(table.primary_key.columns))
    return session.execute(statement.returning(key)).first() is not None


def mark_planned(*, session: Session, event_id: int, now: datetime) -> bool:
    """Note that ``event_id`` is planned; False when another worker did it first."""
    table = NoticePlanned.metadata.tables["notice_planned"]
    return _insert_ignoring_duplicates(session, table, {"event_id": event_id, "planned_at": now})


def add_dispatch(
    *,
    session: Session,
    key: str,
    kind: str,
    notice_id: int | None,
    channel: str,
    target: str,
    due_at: datetime,
    payload: dict[str, Any],
    now: datetime,
) -> bool:
    """Queue one message unless ``key`` is already queued (whatever its state); True when added."""
    return _insert_ignoring_duplicates(
        session,
        DISPATCH,
        {
            "key": key[:255],
            "kind": kind,
            "notice_id": notice_id,
            "channel": channel,
            "target": target,
            "payload": payload,
            "status": DispatchStatus.PENDING.value,
            "due_at": due_at,
            "attempts": 0,
            "last_error": "",
            "ref": "",
            "created_at": now,
        },
    )


def skip_reminders(*, session: Session, notice_id: int, keep_window: str | None) -> int:
    """Skip the notice's pending reminders, except those of the window ``keep_window``; how many."""
    condition = and_(
        DISPATCH.c.notice_id == notice_id,
        DISPATCH.c.kind == "reminder",
        DISPATCH.c.status == DispatchStatus.PENDING.value,
    )
    if keep_window is not None:
        condition = and_(condition, DISPATCH.c.payload["window"].as_string() != keep_window)
    result = session.execute(update(DISPATCH).where(condition).values(status=DispatchStatus.SKIPPED.value))
    return int(getattr(result, "rowcount", 0))


# -- claiming and settling ---------------------------------------------------------------------------


def _claimable(*, now: datetime) -> ColumnElement[bool]:
    row = DISPATCH.c
    return or_(
        and_(row.status == DispatchStatus.PENDING.value, row.due_at <= now),
        and_(row.status == DispatchStatus.SENDING.value, row.claimed_until <= now),
    )


def _not_held() -> ColumnElement[bool]:
    row, earlier = DISPATCH.c, DISPATCH.alias("earlier").c
    blocked = exists().where(
        earlier.notice_id == row.notice_id,
        earlier.channel == row.channel,
        earlier.target == row.target,
        earlier.id != row.id,
        earlier.status.in_(_OPEN),
        or_(earlier.due_at < row.due_at, and_(earlier.due_at == row.due_at, earlier.id < row.id)),
    )
    return or_(row.notice_id.is_(None), ~blocked)


def claim_due(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[NoticeDispatch]:
    """Take up to ``limit`` due rows for ``worker_id`` until ``now + lease_seconds``; commits.

    Oldest due first; no two workers get the same row while its lease runs. Each claim counts an
    attempt. Call it with no transaction open.
    """
    until = now + timedelta(seconds=lease_seconds)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    candidates = (
        select(NoticeDispatch.id)
        .where(_claimable(now=now), _not_held())
        .order_by(col(NoticeDispatch.due_at), col(NoticeDispatch.id))
        .limit(limit)
    )
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True, of=NoticeDispatch)
    ids = [i for i in session.exec(candidates).all() if i is not None]
    if not ids:
        session.commit()
        return []
    session.execute(
        update(DISPATCH)
        .where(DISPATCH.c.id.in_(ids), _claimable(now=now))
        .values(
            status=DispatchStatus.SENDING.value,
            claimed_by=worker_id,
            claimed_until=until,
            attempts=DISPATCH.c.attempts + 1,
        )
    )
    session.commit()
    taken = session.exec(
        select(NoticeDispatch)
        .where(
            col(NoticeDispatch.id).in_(ids),
            NoticeDispatch.claimed_by == worker_id,
            NoticeDispatch.claimed_until == until,
            NoticeDispatch.status == DispatchStatus.SENDING,
        )
        .order_by(col(NoticeDispatch.due_at), col(NoticeDispatch.id))
        .execution_options(populate_existing=True)
    ).all()
    session.commit()
    return list(taken)


def settle(*, session: Session, row_id: int, worker_id: str, values: dict[str, Any]) -> bool:
    """Apply ``values`` to the row if ``worker_id`` still holds it (no commit); False if it lost it."""
    result = session.execute(
        update(DISPATCH)
        .where(
            DISPATCH.c.id == row_id,
            DISPATCH.c.claimed_by == worker_id,
            DISPATCH.c.status == DispatchStatus.SENDING.value,
        )
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


def release_key(*, session: Session, row_id: int, worker_id: str, key: str) -> bool:
    """Give the row ``worker_id`` holds the new ``key`` (no commit): a refresh frees its pending key
    as it starts, so that a tap from now on queues the next one. False if the claim was lost."""
    return settle(session=session, row_id=row_id, worker_id=worker_id, values={"key": key[:255]})


def sent_reminders(*, session: Session, notice_id: int, channel: str, target: str) -> list[NoticeDispatch]:
    """The notice's reminders already posted into ``target``, oldest first."""
    statement = select(NoticeDispatch).where(
        NoticeDispatch.notice_id == notice_id,
        NoticeDispatch.channel == channel,
        NoticeDispatch.target == target,
        NoticeDispatch.kind == DispatchKind.REMINDER,
        NoticeDispatch.status == DispatchStatus.SENT,
    )
    return list(session.exec(statement.order_by(col(NoticeDispatch.id))))


def sent_values(*, now: datetime, ref: str, status: DispatchStatus = DispatchStatus.SENT) -> dict[str, Any]:
    """What settling a row as sent (or skipped) writes."""
    return {"status": status.value, "sent_at": now, "claimed_until": None, "ref": ref[:255]}


def retry_values(*, due_at: datetime, error: str, untried: bool) -> dict[str, Any]:
    """What giving a row back writes: due again at ``due_at``; ``untried`` when the channel surely got
    nothing (a 429, or never sent), so the next claim needs no look-up."""
    values: dict[str, Any] = {
        "status": DispatchStatus.PENDING.value,
        "due_at": due_at,
        "claimed_until": None,
        "last_error": error[:MAX_ERROR_CHARS],
    }
    if untried:
        values["attempts"] = DISPATCH.c.attempts - 1
    return values


def failed_values(*, now: datetime, error: str) -> dict[str, Any]:
    """What dead-lettering a row writes (the channel refused it for good)."""
    return {
        "status": DispatchStatus.FAILED.value,
        "sent_at": now,
        "claimed_until": None,
        "last_error": error[:MAX_ERROR_CHARS],
    }


def list_dispatch(
    *, session: Session, notice_id: int | None = None, status: DispatchStatus | None = None
) -> list[NoticeDispatch]:
    """Dispatch rows by due time (of one notice, or in one state)."""
    statement = select(NoticeDispatch)
    if notice_id is not None:
        statement = statement.where(NoticeDispatch.notice_id == notice_id)
    if status is not None:
        statement = statement.where(NoticeDispatch.status == status)
    return list(session.exec(statement.order_by(col(NoticeDispatch.due_at), col(NoticeDispatch.id))))


def next_due_at(*, session: Session) -> datetime | None:
    """When the earliest pending row is due, or None."""
    return session.exec(
        select(func.min(NoticeDispatch.due_at)).where(NoticeDispatch.status == DispatchStatus.PENDING)
    ).one_or_none()


# -- where a notice was posted -----------------------------------------------------------------------


def get_delivery(*, session: Session, notice_id: int, channel: str, target: str) -> NoticeDelivery | None:
    """Where the notice was posted in ``target``, or None."""
    return session.exec(
        select(NoticeDelivery).where(
            NoticeDelivery.notice_id == notice_id,
            NoticeDelivery.channel == channel,
            NoticeDelivery.target == target,
        )
    ).first()


def record_delivery(
    *, session: Session, notice_id: int, channel: str, target: str, ref: str, now: datetime
) -> NoticeDelivery:
    """Remember the notice's message in ``target`` (its ts), or that it was just edited."""
    row = get_delivery(session=session, notice_id=notice_id, channel=channel, target=target)
    if row is None:
        row = NoticeDelivery(
            notice_id=notice_id,
            channel=channel,
            target=target,
            message_ref={"ts": ref},
            posted_at=now,
            updated_at=now,
        )
    else:
        row.updated_at = now
        if ref:
            row.message_ref = {"ts": ref}
    session.add(row)
    session.flush()
    return row


def list_deliveries(*, session: Session, notice_id: int) -> list[NoticeDelivery]:
    """Every channel message of the notice."""
    return list(
        session.exec(
            select(NoticeDelivery)
            .where(NoticeDelivery.notice_id == notice_id)
            .order_by(col(NoticeDelivery.id))
        )
    )


# -- acknowledgements --------------------------------------------------------------------------------


def add_ack(*, session: Session, notice_id: int, channel: str, user: str, now: datetime) -> bool:
    """Record one person's "Got it" (once however often they tap); True when it is new."""
    table = NoticeAck.metadata.tables["notice_ack"]
    return _insert_ignoring_duplicates(
        session, table, {"notice_id": notice_id, "channel": channel, "user": user[:255], "created_at": now}
    )


def ack_counts(*, session: Session, notice_ids: Sequence[int]) -> dict[int, int]:
    """How many people acknowledged each notice (notices without acks are absent)."""
    if not notice_ids:
        return {}
    rows = session.exec(
        select(NoticeAck.notice_id, func.count())
        .where(col(NoticeAck.notice_id).in_(list(notice_ids)))
        .group_by(col(NoticeAck.notice_id))
    ).all()
    return {int(notice_id): int(count) for notice_id, count in rows}
