"""The worker's Teams housekeeping: claims of old activities and old cards deleted, on a slow cadence.

A claim only has to outlive Teams' redeliveries (minutes), a card the clicks people still make on it
(``teams_claim_retention_hours``, ``teams_card_retention_days``). The pass is cheap when not due: it
looks at the clock and returns 0, so it never keeps the worker from sleeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.channels.teams.queries import prune_teams_rows
from bot.config import Settings
from bot.interactions.models import utcnow

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0


class TeamsPruner:
    """A worker pass (``run_worker(passes=[...])``) that prunes the Teams tables once an hour."""

    def __init__(
        self,
        settings: Settings,
        *,
        open_session: Callable[[], Session],
        every_seconds: float = PRUNE_EVERY_SECONDS,
        clock: Callable[[], datetime] = utcnow,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.open_session = open_session
        self.claims_kept = timedelta(hours=settings.teams_claim_retention_hours)
        self.cards_kept = timedelta(days=settings.teams_card_retention_days)
        self.every_seconds = every_seconds
        self.clock = clock
        self.timer = timer
        self._next_at: float | None = None

    def run_once(self) -> int:
        """Prune when due (the first call, then every ``every_seconds``); how many rows went.

        Raises ``SQLAlchemyError`` when the database fails (the worker waits the outage out).
        """
        now = self.timer()
        if self._next_at is not None and now < self._next_at:
            return 0
        self._next_at = now + self.every_seconds
        with self.open_session() as session:
            gone = prune_teams_rows(
                session=session,
                older_than=self.claims_kept,
                cards_older_than=self.cards_kept,
                now=self.clock(),
            )
        log.info("event=teams_pruned rows=%d", gone)
        return gone
