""" "Got it" on a notice card in Teams: the person's acknowledgement recorded (once), and the card
they tapped (the notice's post or a reminder, kept by the notice sender) rewritten with the new count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.channels.teams.activities import channel_of
from bot.channels.teams.notice_cards import with_ack_count
from bot.channels.teams.queries import get_card, save_card
from bot.core.errors import ItbotError
from bot.db import SessionFactory
from bot.interactions.models import utcnow
from bot.interactions.recording import log_failure
from bot.notices.acks import acknowledge

log = logging.getLogger(__name__)
CHANNEL = "teams"


@dataclass(frozen=True)
class AckOutcome:
    """What a tap did: the card to show now (None: leave it), or a sentence for the person alone."""

    card: dict[str, Any] | None = None
    said: str = ""


def take_ack(
    sessions: SessionFactory, *, notice: str, user: str, conversation: str, card_id: str
) -> AckOutcome:
    """Record ``user``'s "Got it" on ``notice`` and give back the tapped card with the new count
    (kept under its channel's id, so a tap inside the post's thread finds it). Never raises."""
    try:
        with sessions() as session:
            done = acknowledge(
                session=session,
                notice_id=int(notice) if notice.isdigit() else -1,
                channel=CHANNEL,
                user=user,
                now=utcnow(),
            )
            session.commit()
            log.info(
                "event=notice_acknowledged channel=teams notice_id=%s new=%s count=%d",
                notice,
                done.new,
                done.count,
            )
            posted = get_card(session=session, conversation_id=channel_of(conversation), posted_id=card_id)
            if posted is None:
                return AckOutcome()
            updated = with_ack_count(posted, done.count)
            save_card(
                session=session, conversation_id=channel_of(conversation), posted_id=card_id, card=updated
            )
            return AckOutcome(card=updated)
    except ItbotError as exc:
        return AckOutcome(said=exc.user_message)
    except SQLAlchemyError as exc:
        log_failure(log, "notice_ack_failed", exc, notice_id=notice or "-")
        return AckOutcome(said="I couldn't note that just now. Please try again.")
