"""Recording a reply as an interaction, for every channel: scrubbed text only, ids in the log.

Recording must never cost the person their answer: a database error is logged (event, ids and the
error's type, never text) and the reply goes out without an interaction id. Nor may it hold the
answer up: ``BackgroundRecorder`` writes on threads of its own and the answer waits for its row only
a moment (``db_record_wait_seconds``); a slower database gets the row later, the answer goes without.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.core.models import Question, Reply
from bot.db import SessionFactory
from bot.interactions.models import Interaction, InteractionCreate
from bot.interactions.queries import create_interaction

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
    log.info(
        "event=answered interaction_id=%s channel=%s decision=%s top_article=%s top_score=%s latency_ms=%d",
        row.id if row is not None else "-",
        data.channel,
        data.decision,
        data.top_article or "-",
        f"{data.top_score:.3f}" if data.top_score is not None else "-",
        data.latency_ms,
    )
    return row


class BackgroundRecorder:
    """Records interactions on ``threads`` threads of its own; a caller waits at most ``wait_seconds``.

    At most ``backlog`` recordings wait or run at once; past that a reply is not recorded at all
    (logged by channel and decision), so a hung database cannot pile up work in the process.
    """

    def __init__(
        self, sessions: SessionFactory, *, wait_seconds: float, threads: int = 4, backlog: int = 256
    ) -> None:
        self._sessions = sessions
        self._wait = wait_seconds
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="itbot-record")
        self._slots = threading.BoundedSemaphore(backlog)

    def record(self, *, question: Question, reply: Reply, latency_ms: int) -> str | None:
        """Record ``reply`` (scrubbed, as ``record_reply``); its interaction id if the row was written
        within the wait, else None (the write goes on; a failure is logged by ids)."""
        if not self._slots.acquire(blocking=False):
            log.warning("event=record_skipped channel=%s decision=%s", question.channel, reply.decision.value)
            return None
        try:
            future = self._executor.submit(self._record, question, reply, latency_ms)
        except RuntimeError:  # shut down: the app is stopping
            self._slots.release()
            return None
        try:
            return future.result(timeout=self._wait)
        except FutureTimeout:
            log.warning("event=record_pending channel=%s decision=%s", question.channel, reply.decision.value)
            return None

    def close(self) -> None:
        """Finish the recordings under way and stop the threads."""
        self._executor.shutdown(wait=True, cancel_futures=False)

    def _record(self, question: Question, reply: Reply, latency_ms: int) -> str | None:
        try:
            with self._sessions() as session:
                row = record_reply(session=session, question=question, reply=reply, latency_ms=latency_ms)
            return row.id if row is not None else None
        finally:
            self._slots.release()
