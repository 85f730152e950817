"""The outage check of ``POST /api/ask`` without a conversation (the stateless contract path): like
``itbot ask``, a question about an active notice gets the notice (``decision: outage``) before the
assistant is asked. Reads only; nobody is subscribed."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.core.models import Question, Reply
from bot.db import SessionFactory
from bot.notices.answers import outage_reply

log = logging.getLogger(__name__)


def known_outage(sessions: SessionFactory | None, question: Question, *, kb: Path) -> Reply | None:
    """The ``outage`` reply when ``question`` is about an active notice; None otherwise, without a
    database, or when the database cannot be read (the assistant then answers as usual)."""
    if sessions is None:
        return None
    try:
        with sessions() as session:
            return outage_reply(session, question, kb=kb)
    except SQLAlchemyError as exc:
        log.warning("event=outage_check_failed channel=%s error=%s", question.channel, type(exc).__name__)
        return None
