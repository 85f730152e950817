"""Recording a reply as an interaction, for every channel: scrubbed text only, ids in the log.

Recording must never cost the person their answer: a database error is logged (event, ids and the
error's type, never text) and the reply goes out without an interaction id.
"""

from __future__ import annotations

import contextlib
import logging
import traceback

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.core.models import Question, Reply
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
