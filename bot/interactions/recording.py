"""Recording a reply as an interaction, for every channel: scrubbed text only, ids in the log.

Recording must never cost the person their answer: a database error is logged (event, ids and the
error's type, never text) and the reply goes out without an interaction id. Nor may it hold the
answer up: ``BackgroundRecorder`` writes on a thread of its own, many rows at a time, and the answer
waits for its row only a moment (``db_record_wait_seconds``); a slower database gets the row later,
the answer goes without.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import traceback
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.core.models import Question, Reply
from bot.db import SessionFactory
from bot.interactions.models import Interaction, InteractionCreate
from bot.interactions.queries import create_interaction, insert_interactions

log = logging.getLogger(__name__)

MAX_STORED_CHARS = 8000


def log_failure(logger: logging.Logger, event: str, exc: BaseException, **ids: object) -> None:
    """Log that ``event`` failed with the error's type and the frames it came from.

    The exception's message is left out on purpose: it may quote the question, which may hold PHI.
    """
    fields = " ".join(f"{key}={value}" for key, value in ids.items())
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("event=%s error=%s %s\n%s", event, type(exc).__name__, fields, frames)


def interaction_from_reply(*, question: Question, reply: Reply, latency_ms: int) -> InteractionCreate:
    """The row to store for ``reply``: the scrubbed question, the decision and the citations' ids."""
    top = reply.citations[0] if reply.citations else None
    top_score = reply.signals.get("top_score", top.score if top else None)
    return InteractionCreate(
        channel=question.channel,
        user_id=question.user,
        question=reply.asked.replace("\x00", "")[:MAX_STORED_CHARS],
        decision=reply.decision.value,
        top_article=top.article if top else None,
        top_score=float(top_score) if top_score is not None else None,
        citations=[{"article": c.article, "score": round(float(c.score), 4)} for c in reply.citations],
        latency_ms=max(0, latency_ms),
    )


def record_reply(
    *, session: Session, question: Question, reply: Reply, latency_ms: int
) -> Interaction | None:
    """Store the interaction for ``reply`` and log it; None (and a logged error) if the database failed.

    Stores ``reply.asked`` (the question as the core scrubbed it), never ``question.text``.
    """
    data = interaction_from_reply(question=question, reply=reply, latency_ms=latency_ms)
    row: Interaction | None = None
    try:
        row = create_interaction(session=session, data=data)
    except SQLAlchemyError as exc:
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        log_failure(log, "record_failed", exc, channel=question.channel, decision=data.decision)
    _log_answered(data, row.id if row is not None else None)
    return row


class BackgroundRecorder:
    """Records interactions on a writer thread of its own; a caller waits at most ``wait_seconds``.

    Rows that arrive while the writer is busy are written together, as one multi-row insert in one
    transaction (at most ``batch`` rows): under load a row then costs a fraction of an insert and a
    commit of its own, which, on a server answering many questions at once, was a third of the time
    spent holding Python's GIL (``benchmarks/load.py``). A caller still gets its interaction id only
    once its row is committed. At most ``backlog`` recordings wait at once; past that a reply is not
    recorded at all (logged by channel and decision), so a hung database cannot pile up work.
    """

    def __init__(
        self, sessions: SessionFactory, *, wait_seconds: float, backlog: int = 256, batch: int = 64
    ) -> None:
        self._sessions = sessions
        self._wait = wait_seconds
        self._batch = batch
        self._pending: queue.Queue[_Pending | None] = queue.Queue(maxsize=backlog)
        self._writer = threading.Thread(target=self._run, name="itbot-record", daemon=True)
        self._writer.start()

    def record(self, *, question: Question, reply: Reply, latency_ms: int) -> str | None:
        """Record ``reply`` (scrubbed, as ``record_reply``); its interaction id if the row was written
        within the wait, else None (the write goes on; a failure is logged by ids)."""
        data = interaction_from_reply(question=question, reply=reply, latency_ms=latency_ms)
        pending = _Pending(Interaction.model_validate(data), Future())
        try:
            self._pending.put_nowait(pending)
        except queue.Full:
            log.warning("event=record_skipped channel=%s decision=%s", question.channel, reply.decision.value)
            return None
        try:
            return pending.done.result(timeout=self._wait)
        except FutureTimeout:
            log.warning("event=record_pending channel=%s decision=%s", question.channel, reply.decision.value)
            return None

    def close(self) -> None:
        """Write the recordings under way and stop the writer."""
        self._pending.put(None)
        self._writer.join()

    def _run(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._batch:
                try:
                    more = self._pending.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Pending]) -> None:
        """Insert ``batch`` in one transaction; each caller's future gets its id, or None on failure."""
        rows = [p.row for p in batch]
        try:
            with self._sessions() as session:
                insert_interactions(session=session, rows=rows)
        except SQLAlchemyError as exc:
            channels = ",".join(sorted({row.channel for row in rows}))
            log_failure(log, "record_failed", exc, channel=channels, rows=len(rows))
            for p in batch:
                p.done.set_result(None)
            return
        except BaseException:
            for p in batch:
                p.done.set_result(None)
            raise
        for p in batch:
            _log_answered(p.row, p.row.id)
            p.done.set_result(p.row.id)


@dataclass(frozen=True)
class _Pending:
    """One row waiting to be written, and where its caller waits for the outcome."""

    row: Interaction
    done: Future[str | None]


def _log_answered(data: InteractionCreate | Interaction, interaction_id: str | None) -> None:
    log.info(
        "event=answered interaction_id=%s channel=%s decision=%s top_article=%s top_score=%s latency_ms=%d",
        interaction_id or "-",
        data.channel,
        data.decision,
        data.top_article or "-",
        f"{data.top_score:.3f}" if data.top_score is not None else "-",
        data.latency_ms,
    )
