"""Every statement about conversations and deliveries, keyword-only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from bot.interactions.conversation_models import MAX_TURNS, Conversation, Delivery, Turn
from bot.interactions.models import utcnow

# Writers racing for one conversation retry this often (each retry re-reads the row).
ADD_TURNS_ATTEMPTS = 20
# What SQLite and PostgreSQL say when another writer holds the lock: a race worth retrying. Any other
# OperationalError (disk full, connection lost, read-only file) would fail the same way again.
_LOCK_WORDS = ("database is locked", "database table is locked", "busy", "deadlock", "could not serialize")


def is_lock_conflict(error: OperationalError) -> bool:
    """True when ``error`` says another writer held the lock (retrying may succeed), not a failure."""
    message = str(error.orig).lower() if error.orig is not None else ""
    return any(word in message for word in _LOCK_WORDS)


def claim_delivery(*, session: Session, key: str, channel: str) -> bool:
    """Record that the delivery ``key`` is being handled; True for the first claim only.

    The insert is its own transaction, so of any number of processes sharing the database exactly one
    gets True for a key. Commits (or rolls back the losing insert).
    """
    session.add(Delivery(key=key[:255], channel=channel))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def release_delivery(*, session: Session, key: str) -> None:
    """Forget a claim, so that a redelivery of ``key`` is handled again (the first attempt failed)."""
    session.exec(delete(Delivery).where(col(Delivery.key) == key[:255]))
    session.commit()


def prune_deliveries(*, session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete claims older than ``older_than`` (senders stop retrying within minutes); how many went."""
    cutoff = (now or utcnow()) - older_than
    result = session.exec(delete(Delivery).where(col(Delivery.received_at) < cutoff))
    session.commit()
    return int(result.rowcount or 0)


def get_conversation(*, session: Session, channel: str, thread_key: str) -> Conversation | None:
    """The conversation in ``thread_key`` of ``channel``, or None when the bot is not in that thread."""
    statement = select(Conversation).where(
        Conversation.channel == channel, Conversation.thread_key == thread_key[:255]
    )
    return session.exec(statement).first()


def get_conversation_by_id(*, session: Session, conversation_id: str) -> Conversation | None:
    """The conversation with this id, or None."""
    return session.get(Conversation, conversation_id)


def add_turns(
    *,
    session: Session,
    channel: str,
    thread_key: str,
    user_id: str,
    turns: list[Turn],
    state: str | None = None,
) -> Conversation:
    """Append ``turns`` to the thread's conversation, creating it on the first turn; commits.

    Keeps the newest ``MAX_TURNS`` turns. ``state`` (when given) replaces what the thread waits for.
    Turns that several processes add at once (the web process and the worker, two servers) are all
    kept: the row is locked while it changes where the database can (PostgreSQL), and every write
    is also a compare-and-set on ``updated_at``, retried when another write came first (SQLite).
    Two processes starting the same thread at once both succeed: the loser of the insert appends
    to the winner's row.

    Raises the database's error when the write itself fails (disk full, connection lost: only a held
    lock is retried), and ``StaleDataError`` when other writers won every attempt.
    """
    stamped: list[dict[str, Any]] = [
        t.model_copy(update={"at": t.at or utcnow().isoformat(timespec="seconds")}).model_dump()
        for t in turns
    ]
    key = thread_key[:255]
    for _attempt in range(ADD_TURNS_ATTEMPTS):
        statement = (
            select(Conversation)
            .where(Conversation.channel == channel, Conversation.thread_key == key)
            .with_for_update()
        )
        row = session.exec(statement).first()
        try:
            if row is None:
                row = Conversation(
                    channel=channel, thread_key=key, user_id=user_id[:255], turns=stamped[-MAX_TURNS:]
                )
                if state is not None:
                    row.state = state[:64]
                session.add(row)
                session.commit()
            else:
                values: dict[str, Any] = {
                    "turns": [*row.turns, *stamped][-MAX_TURNS:],
                    "updated_at": utcnow(),
                }
                if state is not None:
                    values["state"] = state[:64]
                swap = (
                    update(Conversation)
                    .where(col(Conversation.id) == row.id, col(Conversation.updated_at) == row.updated_at)
                    .values(**values)
                )
                if session.execute(swap).rowcount != 1:  # type: ignore[attr-defined]
                    session.rollback()
                    continue
                session.commit()
        except IntegrityError:
            session.rollback()  # another process created the row first
            continue
        except OperationalError as exc:
            session.rollback()
            if not is_lock_conflict(exc):
                raise
            continue  # (SQLite) another process held the write lock too long
        session.expire_all()
        fresh = get_conversation(session=session, channel=channel, thread_key=key)
        if fresh is not None:
            return fresh
    raise StaleDataError("could not record the conversation turn: other writers won every attempt")


def set_state(*, session: Session, conversation_id: str, state: str) -> None:
    """Set what the conversation waits for next ("" for nothing); commits."""
    row = session.get(Conversation, conversation_id)
    if row is None:
        return
    row.state = state[:64]
    row.updated_at = utcnow()
    session.add(row)
    session.commit()


def transcript(conversation: Conversation) -> list[Turn]:
    """The conversation's turns, oldest first, as ``Turn`` objects."""
    return [Turn.model_validate(t) for t in conversation.turns]
