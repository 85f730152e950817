"""The worker process (``itbot worker``): delivers the outbox.

Each pass replays tickets spooled to disk while the database was down, claims a small batch of due
messages, delivers them one by one and records each result at once. When nothing was due it sleeps
``worker_poll_seconds``. SIGTERM or SIGINT stops it after the message in hand; the rest of its batch
goes back to the outbox untried. When the database is unreachable it logs, waits (longer each time,
at most half a minute) and tries again; messages it had claimed come back after their lease.

Any number of workers may run at once (see ``bot.tickets.outbox.claim_due``); each has its own id,
``host:pid:random``, kept in ``locked_by``. The worker does not migrate the database: the web process
does (``init_db`` in ``create_app``), and two processes migrating a fresh PostgreSQL at once would
collide; a worker that starts first waits for the tables as it waits out an outage.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.config import Settings
from bot.db import create_db_engine, session_factory
from bot.interactions.models import utcnow
from bot.interactions.recording import log_failure
from bot.tickets.delivery import ITSM_TARGET, ChatSender, Deliverer, DeliveryError, Forwarder
from bot.tickets.outbox import (
    CREATED_TOPIC,
    claim_due,
    created_ref,
    mark_delivered,
    mark_failed,
    mark_retry,
    release,
    retry_delay,
)
from bot.tickets.outbox_models import OutboxMessage, OutboxStatus

if TYPE_CHECKING:
    from bot.tickets.opening import OutageLookup

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

BATCH_SIZE = 10
# Long enough for a whole batch at the forwarder's timeouts; a crashed worker's messages wait this long.
LEASE_SECONDS = 300.0
# A message is only started with this much lease left: more than one delivery can take (two calls).
LEASE_MARGIN_SECONDS = 60.0
MAX_OUTAGE_WAIT_SECONDS = 30.0
# In --once mode: enough passes to drain any realistic backlog, and a bound if something loops.
MAX_ONCE_PASSES = 10_000


def new_worker_id() -> str:
    """A worker id unique across hosts, processes and restarts: ``host:pid:random`` (at most 64 chars)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class PassReport:
    """What one pass did, by outcome."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    spooled: int = 0


class Worker:
    """One outbox worker: ``run_once`` is one pass; ``run_worker`` loops it."""

    def __init__(
        self,
        settings: Settings,
        *,
        open_session: Callable[[], Session],
        deliverer: Deliverer,
        clock: Clock = utcnow,
        worker_id: str | None = None,
        batch_size: int = BATCH_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        lease_margin_seconds: float = LEASE_MARGIN_SECONDS,
        stop: threading.Event | None = None,
        outage_lookup: OutageLookup | None = None,
    ) -> None:
        self.settings = settings
        self.open_session = open_session
        self.deliverer = deliverer
        self.clock = clock
        self.worker_id = worker_id or new_worker_id()
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.lease_margin_seconds = lease_margin_seconds
        self.stop = stop or threading.Event()
        self.outage_lookup = outage_lookup

    def run_once(self) -> PassReport:
        """One pass: replay the spool, claim a batch, deliver it, record every result.

        Raises ``SQLAlchemyError`` when the database fails; what was already recorded stays recorded.
        """
        report = PassReport(spooled=self.replay_spool())
        with self.open_session() as session:
            now = self.clock()
            batch = claim_due(
                session=session,
                worker_id=self.worker_id,
                now=now,
                lease_seconds=self.lease_seconds,
                limit=self.batch_size,
            )
            report.claimed = len(batch)
            lease_end = now + timedelta(seconds=self.lease_seconds)
            # Receivers that said they are down or throttling, and when to try them again.
            held: dict[str, datetime] = {}
            for message in batch:
                now = self.clock()
                key = _receiver_key(message)
                if self.stop.is_set() or now + timedelta(seconds=self.lease_margin_seconds) > lease_end:
                    self._release(session, message, not_before=now, report=report)
                elif key in held:
                    self._release(session, message, not_before=held[key], report=report)
                else:
                    hold_until = self._deliver(session, message, report=report)
                    if hold_until is not None:
                        held[key] = hold_until
        return report

    def replay_spool(self) -> int:
        """Open the tickets spooled while the database was down; how many. Its failures are logged."""
        # Imported here so that importing the worker does not load the ticket store until a pass runs.
        from bot.tickets.spool import replay_spool

        try:
            with self.open_session() as session:
                count = replay_spool(
                    settings=self.settings, session=session, outage_lookup=self.outage_lookup
                )
        except SQLAlchemyError:
            raise
        except Exception as exc:
            log_failure(log, "spool_replay_failed", exc, worker_id=self.worker_id)
            return 0
        if count:
            log.info("event=spool_replayed worker_id=%s tickets=%d", self.worker_id, count)
        return count

    def _deliver(self, session: Session, message: OutboxMessage, *, report: PassReport) -> datetime | None:
        """Deliver one message and record the result; when its receiver is down, until when to hold it."""
        parent_ref = ""
        if message.target == ITSM_TARGET and message.topic != CREATED_TOPIC:
            parent_ref = created_ref(session=session, target=message.target, ticket_id=message.ticket_id)
            # End the read before the HTTP call: an open SQLite read cannot become the write that
            # records the result once another process has written in between.
            session.commit()
        try:
            done = self.deliverer.deliver(message, parent_ref=parent_ref)
        except DeliveryError as exc:
            return self._record_failure(session, message, exc, report=report)
        except Exception as exc:
            # A sender's or forwarder's own bug must not lose the message: it is retried like any failure.
            log_failure(log, "outbox_delivery_crashed", exc, message_id=message.id, topic=message.topic)
            return self._record_failure(session, message, DeliveryError(type(exc).__name__), report=report)
        if mark_delivered(
            session=session,
            message_id=message.id,
            worker_id=self.worker_id,
            now=self.clock(),
            external_ref=done.external_ref,
            note=done.note,
        ):
            report.delivered += 1
            log.info(
                "event=outbox_delivered message_id=%s ticket_id=%s target=%s topic=%s attempts=%d "
                "external_ref=%s note=%s",
                message.id,
                message.ticket_id or "-",
                message.target,
                message.topic,
                message.attempts,
                done.external_ref or "-",
                done.note or "-",
            )
        else:
            self._log_lost_lease(message)
        return None

    def _record_failure(
        self, session: Session, message: OutboxMessage, error: DeliveryError, *, report: PassReport
    ) -> datetime | None:
        now = self.clock()
        # Drawn once (it has jitter): the same delay is recorded, logged and used to hold the receiver.
        delay = retry_delay(settings=self.settings, attempts=message.attempts, retry_after=error.retry_after)
        if error.permanent:
            status = mark_failed(
                session=session, message_id=message.id, worker_id=self.worker_id, now=now, error=error.code
            )
        else:
            status = mark_retry(
                session=session,
                message=message,
                worker_id=self.worker_id,
                now=now,
                error=error.code,
                settings=self.settings,
                delay=delay,
            )
        if status is None:
            self._log_lost_lease(message)
            return None
        fields = (
            message.id,
            message.ticket_id or "-",
            message.target,
            message.topic,
            message.attempts,
            error.code,
        )
        if status == OutboxStatus.FAILED:
            report.failed += 1
            first = message.first_attempt_at or message.created_at
            log.error(
                "event=outbox_dead_letter message_id=%s ticket_id=%s target=%s topic=%s attempts=%d error=%s "
                "tried_for_s=%.0f",
                *fields,
                (now - first).total_seconds(),
            )
            return None
        report.retried += 1
        log.warning(
            "event=outbox_retry message_id=%s ticket_id=%s target=%s topic=%s attempts=%d error=%s "
            "retry_in_s=%.1f",
            *fields,
            delay,
        )
        return now + timedelta(seconds=delay) if error.unavailable else None

    def _release(
        self, session: Session, message: OutboxMessage, *, not_before: datetime, report: PassReport
    ) -> None:
        if release(session=session, message_id=message.id, worker_id=self.worker_id, not_before=not_before):
            report.released += 1

    def _log_lost_lease(self, message: OutboxMessage) -> None:
        log.warning("event=outbox_lease_lost message_id=%s worker_id=%s", message.id, self.worker_id)


def _receiver_key(message: OutboxMessage) -> str:
    """Who receives the message: the service desk, or one chat channel (each can be down alone)."""
    if message.target == ITSM_TARGET:
        return ITSM_TARGET
    return f"{message.target}:{message.payload.get('channel', '')}"


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM and SIGINT while the block runs (only the main thread can listen)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("event=worker_stopping signal=%s", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_worker(
    settings: Settings,
    *,
    senders: Mapping[str, ChatSender],
    forwarder: Forwarder | None = None,
    stop: threading.Event | None = None,
    once: bool = False,
    clock: Clock = utcnow,
    engine: Engine | None = None,
    batch_size: int = BATCH_SIZE,
    worker_id: str | None = None,
    passes: Sequence[Callable[[], int]] = (),
    outage_lookup: OutageLookup | None = None,
) -> int:
    """Deliver the outbox until ``stop`` is set or SIGTERM/SIGINT arrives; the messages delivered.

    ``outage_lookup`` links the tickets replayed from the spool to their outage (``open_ticket``).
    ``passes`` run after each outbox pass (the notices pass: ``bot.notices.dispatcher``); each
    returns how much it did, 0 when idle, and the worker sleeps only when every pass was idle.

    ``forwarder`` None means the one ``settings`` describe (``bot.tickets.itsm.build_forwarder``; none
    when ``itsm_kind`` is ``none``). ``once``: deliver what is due now, then return (a database
    failure then raises). Otherwise a database outage is logged and waited out.
    """
    own_forwarder = None
    if forwarder is None:
        from bot.tickets.itsm import build_forwarder

        forwarder = own_forwarder = build_forwarder(settings)
    own_engine = engine is None
    active = engine if engine is not None else create_db_engine(settings)
    stop = stop or threading.Event()
    worker = Worker(
        settings,
        open_session=session_factory(active),
        deliverer=Deliverer(forwarder=forwarder, senders=senders),
        clock=clock,
        worker_id=worker_id,
        batch_size=batch_size,
        stop=stop,
        outage_lookup=outage_lookup,
    )
    log.info(
        "event=worker_started worker_id=%s itsm_kind=%s once=%s", worker.worker_id, settings.itsm_kind, once
    )
    try:
        with _stop_on_signals(stop):
            return _loop(worker, settings=settings, stop=stop, once=once, extra_passes=passes)
    finally:
        if own_forwarder is not None:
            own_forwarder.close()
        if own_engine:
            active.dispose()
        log.info("event=worker_stopped worker_id=%s", worker.worker_id)


def _loop(
    worker: Worker,
    *,
    settings: Settings,
    stop: threading.Event,
    once: bool,
    extra_passes: Sequence[Callable[[], int]],
) -> int:
    delivered = 0
    outages = 0
    passes = 0
    while not stop.is_set():
        passes += 1
        try:
            report = worker.run_once()
            busy = report.claimed + sum(run_pass() for run_pass in extra_passes)
        except SQLAlchemyError as exc:
            if once:
                raise
            outages += 1
            log_failure(log, "worker_database_unavailable", exc, worker_id=worker.worker_id, outages=outages)
            stop.wait(min(settings.worker_poll_seconds * 2.0**outages, MAX_OUTAGE_WAIT_SECONDS))
            continue
        if outages:
            log.info("event=worker_database_back worker_id=%s after_failures=%d", worker.worker_id, outages)
            outages = 0
        delivered += report.delivered
        if busy == 0:
            if once:
                break
            stop.wait(settings.worker_poll_seconds)
        elif once and passes >= MAX_ONCE_PASSES:
            break
    return delivered
