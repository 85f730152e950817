"""Every statement about the outbox, keyword-only: enqueue, claim, and record what delivery did.

A worker *claims* a batch of due messages by writing its id into ``locked_by`` and a lease end into
``locked_until``; a claim also counts the attempt (``attempts + 1``), so a message whose worker died
mid-delivery comes back after the lease with ``attempts > 1`` and the forwarder knows to look the
record up before creating it again. On PostgreSQL the claim reads with ``FOR UPDATE SKIP LOCKED``;
on SQLite it runs inside ``BEGIN IMMEDIATE`` (SQLite has one writer at a time). On both, the update
only takes rows that are still unclaimed, and the worker gets back only the rows it really took.

Messages of one ticket go out in order, per receiver (the service desk, or one chat channel): a
message waits while an older message of the same ticket to the same receiver is pending, and while
that ticket's ``ticket.created`` is not delivered (its receiver id is what comments and status
changes need). A dead-lettered ``ticket.created`` therefore holds the ticket's later messages until
it is requeued; a dead-lettered comment holds nothing. Messages without a ``ticket_id`` are never
held.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, exists, func, literal, or_, update
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.interactions.models import UtcDateTime
from bot.tickets.outbox_models import OutboxMessage, OutboxStatus

CREATED_TOPIC = "ticket.created"
CHAT_TARGET = "chat"
MAX_TEXT_CHARS = 255
# The table itself, for the set-based updates and the due condition (typed columns for SQL Core).
OUTBOX: Table = OutboxMessage.metadata.tables["outbox_message"]


def enqueue(
    *,
    session: Session,
    target: str,
    topic: str,
    payload: dict[str, Any],
    idempotency_key: str,
    ticket_id: str | None = None,
) -> OutboxMessage:
    """Add a pending message to ``session`` without committing: the caller commits it with its change.

    Enqueuing a key that is already stored (or already added to this session) returns that row and
    adds nothing, so a retried escalation cannot send twice.
    """
    existing = session.exec(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)
    ).first()
    if existing is not None:
        return existing
    row = OutboxMessage(
        target=target,
        topic=topic,
        payload=payload,
        idempotency_key=idempotency_key,
        ticket_id=ticket_id,
    )
    session.add(row)
    return row


def backoff_seconds(
    *,
    attempts: int,
    base_seconds: float,
    max_seconds: float,
    retry_after: float | None = None,
    retry_after_max_seconds: float = 3600.0,
    jitter: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """How long to wait after the ``attempts``-th failed try.

    The schedule: ``base``, doubling, at most ``max``, then lengthened by up to ``jitter`` of itself
    at random (``rand()`` in [0, 1)), so that workers and messages that failed together do not come
    back together. A receiver's Retry-After can only lengthen that wait, never shorten it (a desk
    answering ``Retry-After: 1`` to every try must not burn the tries in seconds), and is believed up
    to ``retry_after_max_seconds``.
    """
    exponent = max(attempts - 1, 0)
    # Cap the exponent before computing: 2.0 ** 2000 overflows a float.
    scheduled = max_seconds if exponent >= 64 else min(base_seconds * 2.0**exponent, max_seconds)
    delay = float(scheduled) * (1.0 + jitter * rand())
    if retry_after is not None:
        delay = max(delay, min(retry_after, retry_after_max_seconds))
    return delay


def _due_condition(*, now: datetime) -> ColumnElement[bool]:
    """Pending, due, not leased by a live worker, and not held behind an older message of its ticket."""
    return and_(OUTBOX.c.next_attempt_at <= now, _unleased(now=now), _not_held())


def _not_held() -> ColumnElement[bool]:
    """Pending and not waiting for an older message of the same ticket and receiver (see the module)."""
    row, older = OUTBOX.c, OUTBOX.alias("older").c
    blocked_by_older = exists().where(
        older.ticket_id == row.ticket_id,
        # One expression, not target and channel apart: the planner then finds older messages through
        # the ticket_id index (a ticket has a handful) rather than the target's (thousands).
        _receiver(older) == _receiver(row),
        older.id != row.id,
        or_(
            and_(older.topic == CREATED_TOPIC, older.status != OutboxStatus.DELIVERED.value),
            and_(
                older.status == OutboxStatus.PENDING.value,
                or_(
                    older.created_at < row.created_at,
                    and_(older.created_at == row.created_at, older.id < row.id),
                ),
            ),
        ),
    )
    return and_(row.status == OutboxStatus.PENDING.value, or_(row.ticket_id.is_(None), ~blocked_by_older))


def _receiver(columns: Any) -> ColumnElement[str]:
    """Who receives a message: its target, and for chat its channel (chat order is kept per channel)."""
    channel = func.coalesce(columns.payload["channel"].as_string(), "")
    return case((columns.target == CHAT_TARGET, CHAT_TARGET + ":" + channel), else_=columns.target)


def _unleased(*, now: datetime) -> ColumnElement[bool]:
    """No worker holds the message: never leased, or its lease has run out."""
    return or_(OUTBOX.c.locked_until.is_(None), OUTBOX.c.locked_until <= now)


def claim_due(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages for ``worker_id`` until ``now + lease_seconds``; commits.

    Oldest due first. No two workers get the same message while its lease runs, whatever the backend
    and however many processes claim at once. Each claimed message's ``attempts`` goes up by one, and
    its first claim (since it was enqueued or requeued) sets ``first_attempt_at``.
    Call it on a session with no transaction open (a fresh one, or right after a commit).
    """
    until = now + timedelta(seconds=lease_seconds)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # Take SQLite's write lock before reading, so no other process claims between read and write.
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    candidates = (
        select(OutboxMessage.id)
        .where(_due_condition(now=now))
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.created_at), col(OutboxMessage.id))
        .limit(limit)
    )
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True, of=OutboxMessage)
    ids = list(session.exec(candidates).all())
    if not ids:
        session.commit()
        return []
    session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ids), OUTBOX.c.status == OutboxStatus.PENDING.value, _unleased(now=now))
        .values(
            locked_by=worker_id,
            locked_until=until,
            attempts=OUTBOX.c.attempts + 1,
            first_attempt_at=func.coalesce(OUTBOX.c.first_attempt_at, literal(now, UtcDateTime())),
        )
    )
    session.commit()
    taken = session.exec(
        select(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(ids),
            OutboxMessage.locked_by == worker_id,
            OutboxMessage.locked_until == until,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.created_at), col(OutboxMessage.id))
        .execution_options(populate_existing=True)
    ).all()
    session.commit()
    return list(taken)


def _settle(*, session: Session, message_id: str, worker_id: str, values: dict[str, Any]) -> bool:
    """Apply ``values`` to the message if ``worker_id`` still holds it; commits. False if it lost it."""
    result = session.execute(
        update(OUTBOX)
        .where(
            OUTBOX.c.id == message_id,
            OUTBOX.c.locked_by == worker_id,
            OUTBOX.c.status == OutboxStatus.PENDING.value,
        )
        .values(**values)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def mark_delivered(
    *,
    session: Session,
    message_id: str,
    worker_id: str,
    now: datetime,
    external_ref: str = "",
    note: str = "",
) -> bool:
    """Record that the message reached its receiver (``external_ref``: the receiver's id for it).

    ``note`` says why nothing was sent when nothing needed to be (``no_target``, ``no_sender``). The
    lease ends; ``locked_by`` stays, naming the worker that delivered it. Commits; False (and nothing
    changed) if ``worker_id`` no longer holds the message.
    """
    return _settle(
        session=session,
        message_id=message_id,
        worker_id=worker_id,
        values={
            "status": OutboxStatus.DELIVERED,
            "delivered_at": now,
            "locked_until": None,
            "external_ref": external_ref[:MAX_TEXT_CHARS],
            "last_error": note[:MAX_TEXT_CHARS],
        },
    )


def retry_delay(
    *,
    settings: Settings,
    attempts: int,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds until the next try after ``attempts`` failed ones, by the outbox settings (jitter
    included; see ``backoff_seconds``)."""
    return backoff_seconds(
        attempts=attempts,
        base_seconds=settings.outbox_backoff_seconds,
        max_seconds=settings.outbox_backoff_max_seconds,
        retry_after=retry_after,
        retry_after_max_seconds=settings.outbox_retry_after_max_seconds,
        jitter=settings.outbox_backoff_jitter,
        rand=rand,
    )


def spent(*, message: OutboxMessage, now: datetime, settings: Settings) -> bool:
    """True when a failing ``message`` may be given up: it has been tried at least
    ``outbox_max_attempts`` times *and* for at least ``outbox_dead_letter_after_seconds`` since its
    first try. Either alone is not enough: many quick tries are not a long outage, and one slow try
    is not many."""
    if message.attempts < settings.outbox_max_attempts:
        return False
    first = message.first_attempt_at or message.created_at
    return now - first >= timedelta(seconds=settings.outbox_dead_letter_after_seconds)


def mark_retry(
    *,
    session: Session,
    message: OutboxMessage,
    worker_id: str,
    now: datetime,
    error: str,
    settings: Settings,
    retry_after: float | None = None,
    delay: float | None = None,
) -> OutboxStatus | None:
    """Record a failed try: due again after ``delay`` (default ``retry_delay``), or ``failed`` (the
    dead letter) once the message is ``spent``.

    ``error`` is an error type or HTTP status, never text from the message. Commits; returns the new
    status, or None if ``worker_id`` no longer holds the message.
    """
    if spent(message=message, now=now, settings=settings):
        return mark_failed(session=session, message_id=message.id, worker_id=worker_id, now=now, error=error)
    if delay is None:
        delay = retry_delay(settings=settings, attempts=message.attempts, retry_after=retry_after)
    settled = _settle(
        session=session,
        message_id=message.id,
        worker_id=worker_id,
        values={
            "next_attempt_at": now + timedelta(seconds=delay),
            "locked_until": None,
            "last_error": error[:MAX_TEXT_CHARS],
        },
    )
    return OutboxStatus.PENDING if settled else None


def mark_failed(
    *, session: Session, message_id: str, worker_id: str, now: datetime, error: str
) -> OutboxStatus | None:
    """Dead-letter the message at once (the receiver refused it for good); commits.

    Returns ``failed``, or None if ``worker_id`` no longer holds the message.
    """
    settled = _settle(
        session=session,
        message_id=message_id,
        worker_id=worker_id,
        values={
            "status": OutboxStatus.FAILED,
            "locked_until": None,
            "next_attempt_at": now,
            "last_error": error[:MAX_TEXT_CHARS],
        },
    )
    return OutboxStatus.FAILED if settled else None


def release(*, session: Session, message_id: str, worker_id: str, not_before: datetime) -> bool:
    """Give a claimed message back untried: its attempt is not counted, it is due at ``not_before``.

    For messages a worker took but did not send (it is stopping, its lease is running out, or their
    target just said it is unavailable). Commits; False if ``worker_id`` no longer holds it.
    """
    return _settle(
        session=session,
        message_id=message_id,
        worker_id=worker_id,
        values={
            "locked_until": None,
            "next_attempt_at": not_before,
            # A claim counted the attempt; this one was never tried.
            "attempts": OUTBOX.c.attempts - 1,
            "first_attempt_at": case((OUTBOX.c.attempts <= 1, None), else_=OUTBOX.c.first_attempt_at),
        },
    )


def get_message(*, session: Session, message_id: str) -> OutboxMessage | None:
    """The message with this id, or None."""
    return session.get(OutboxMessage, message_id)


def get_by_key(*, session: Session, idempotency_key: str) -> OutboxMessage | None:
    """The message stored under ``idempotency_key``, or None."""
    return session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)).first()


def created_ref(*, session: Session, target: str, ticket_id: str | None) -> str:
    """The receiver's id for the ticket's delivered ``ticket.created`` on ``target``; "" if none."""
    if ticket_id is None:
        return ""
    ref = session.exec(
        select(OutboxMessage.external_ref).where(
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.target == target,
            OutboxMessage.topic == CREATED_TOPIC,
            OutboxMessage.status == OutboxStatus.DELIVERED,
        )
    ).first()
    return ref or ""


def list_messages(
    *,
    session: Session,
    status: OutboxStatus | None = None,
    ticket_id: str | None = None,
    limit: int = 1000,
) -> list[OutboxMessage]:
    """Messages oldest first, optionally only those with ``status`` or of one ticket."""
    statement = select(OutboxMessage)
    if status is not None:
        statement = statement.where(OutboxMessage.status == status)
    if ticket_id is not None:
        statement = statement.where(OutboxMessage.ticket_id == ticket_id)
    statement = statement.order_by(col(OutboxMessage.created_at), col(OutboxMessage.id)).limit(limit)
    return list(session.exec(statement).all())


def list_for_tickets(*, session: Session, ticket_ids: Sequence[str], target: str) -> list[OutboxMessage]:
    """The messages to ``target`` of these tickets, oldest first."""
    if not ticket_ids:
        return []
    statement = (
        select(OutboxMessage)
        .where(col(OutboxMessage.ticket_id).in_(list(ticket_ids)), OutboxMessage.target == target)
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
    )
    return list(session.exec(statement).all())


def list_failed(*, session: Session, target: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """The dead letters (``failed``), newest first, optionally of one target only."""
    statement = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
    if target is not None:
        statement = statement.where(OutboxMessage.target == target)
    statement = statement.order_by(col(OutboxMessage.created_at).desc(), col(OutboxMessage.id).desc())
    return list(session.exec(statement.limit(limit)).all())


def _requeue_values(*, now: datetime) -> dict[str, Any]:
    """What a requeue writes: pending, due ``now``, fresh attempts and first try, one more requeue.

    ``locked_by`` is cleared so that no worker that once held the message can record a result for
    it; ``last_error`` stays, saying what happened before the requeue.
    """
    return {
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "first_attempt_at": None,
        "next_attempt_at": now,
        "locked_by": None,
        "locked_until": None,
        "requeues": OUTBOX.c.requeues + 1,
    }


def requeue_failed(
    *, session: Session, now: datetime, message_ids: Sequence[str] | None = None, target: str | None = None
) -> int:
    """Make dead letters pending again with fresh attempts (IT fixed the receiver); commits.

    All of them, or only ``message_ids`` / one ``target``. Returns how many were requeued. The
    messages a requeued ``ticket.created`` held go out after it, in their order.
    """
    statement = update(OUTBOX).where(OUTBOX.c.status == OutboxStatus.FAILED.value)
    if message_ids is not None:
        statement = statement.where(OUTBOX.c.id.in_(list(message_ids)))
    if target is not None:
        statement = statement.where(OUTBOX.c.target == target)
    result = session.execute(statement.values(**_requeue_values(now=now)))
    session.commit()
    return int(getattr(result, "rowcount", 0))


def requeue_dead_of_tickets(
    *, session: Session, now: datetime, target: str, ticket_ids: Sequence[str] | None = None
) -> list[OutboxMessage]:
    """Requeue the dead letters to ``target`` of these tickets (None: every dead letter to ``target``,
    with or without a ticket); commits. Returns them as they were before (last error, attempts),
    oldest first; a message another process requeued meanwhile is not among them."""
    statement = select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.FAILED, OutboxMessage.target == target
    )
    if ticket_ids is not None:
        statement = statement.where(col(OutboxMessage.ticket_id).in_(list(ticket_ids)))
    dead = list(session.exec(statement.order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))).all())
    for message in dead:
        session.expunge(message)
    session.commit()
    if not dead:
        return []
    taken = session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_([m.id for m in dead]), OUTBOX.c.status == OutboxStatus.FAILED.value)
        .values(**_requeue_values(now=now))
        .returning(OUTBOX.c.id)
    )
    ids = set(taken.scalars().all())
    session.commit()
    return [m for m in dead if m.id in ids]


def count_by_status(*, session: Session) -> dict[str, int]:
    """How many messages there are per status (statuses with none are absent)."""
    rows = session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {str(status): int(count) for status, count in rows}


def next_due_at(*, session: Session) -> datetime | None:
    """When the earliest message that is not held behind another becomes due (maybe already), or None."""
    return session.execute(select(func.min(OUTBOX.c.next_attempt_at)).where(_not_held())).scalar_one_or_none()
