"""The worker's notices pass: plan, claim due dispatch rows, send each through its channel's sender.

Exactly once per row, with any number of workers and across restarts:

* a row is claimed (``sending``, a lease) before anything is sent, and marked ``sent`` — in the
  same transaction as the channel message's reference (``NoticeDelivery``) — only by the worker
  that still holds it;
* a worker that died mid-send leaves its rows ``sending``; after the lease another worker claims
  them with ``attempts`` above 1 and first asks the channel whether a message tagged with the row's
  key is already there (``NoticeSender.find``), posting only if not;
* a rate limit (429) gives the row back untried, due after ``Retry-After``, and holds the rest of the
  batch until then (Slack's limits are per method and workspace, so the next post would be refused
  too); other transient failures back off exponentially; a refused channel fails the row alone.

Nothing is dropped: a row leaves the queue sent, skipped (a reminder of a window that moved, an empty
digest, no sender for its channel) or failed (the channel is gone), each logged with ids.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.config import Settings
from bot.interactions.models import utcnow
from bot.notices.delivery_models import DispatchKind, DispatchStatus, NoticeDispatch
from bot.notices.delivery_queries import (
    ack_counts,
    claim_due,
    failed_values,
    get_delivery,
    get_route,
    record_delivery,
    release_key,
    retry_values,
    sent_reminders,
    sent_values,
    settle,
)
from bot.notices.lifecycle import is_active, is_upcoming
from bot.notices.models import Notice, NoticeEvent, NoticeStatus
from bot.notices.planning import (
    REFRESH_DELAY,
    DeliverySchedule,
    plan_ack_refresh,
    plan_digest,
    plan_updates,
    window_key,
)
from bot.notices.queries import get_notice, list_notices
from bot.notices.render import (
    REMINDER_END,
    REMINDER_START,
    digest_message,
    notice_message,
    reminder_message,
    update_line,
)
from bot.notices.routing import route_matches
from bot.notices.sender import NoticeMessage, NoticeSender
from bot.tickets.delivery import DeliveryError
from bot.tickets.outbox import backoff_seconds

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
BATCH_SIZE = 50
# A row is only started with this much of its lease left (more than a send can take), or a quarter
# of the lease when that is shorter.
LEASE_MARGIN_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 300.0


class Skip(Exception):
    """Nothing to send for this row any more (the reason is the code, for the log)."""


def new_worker_id() -> str:
    """``host:pid:random``, unique across hosts, processes and restarts (at most 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class NoticeDispatcher:
    """One worker's notices pass; ``run_once`` plans and sends what is due."""

    def __init__(
        self,
        settings: Settings,
        *,
        open_session: Callable[[], Session],
        senders: Mapping[str, NoticeSender],
        clock: Clock = utcnow,
        worker_id: str | None = None,
        batch_size: int = BATCH_SIZE,
        stop: threading.Event | None = None,
        schedule: DeliverySchedule | None = None,
    ) -> None:
        self.schedule = schedule or DeliverySchedule.from_settings(settings)
        self.lease_seconds = settings.notice_lease_seconds
        self.open_session = open_session
        self.senders = dict(senders)
        self.clock = clock
        self.worker_id = worker_id or new_worker_id()
        self.batch_size = batch_size
        self.stop = stop or threading.Event()

    def run_once(self) -> int:
        """Plan new updates and the digest slot, then send a batch of due rows; how much was done
        (0 when idle). Raises ``SQLAlchemyError`` when the database fails; what was recorded stays."""
        with self.open_session() as session:
            planned = plan_updates(session=session, schedule=self.schedule, now=self.clock())
            planned += plan_digest(session=session, schedule=self.schedule, now=self.clock())
        with self.open_session() as session:
            now = self.clock()
            batch = claim_due(
                session=session,
                worker_id=self.worker_id,
                now=now,
                lease_seconds=self.lease_seconds,
                limit=self.batch_size,
            )
            lease_end = now + timedelta(seconds=self.lease_seconds)
            margin = timedelta(seconds=min(LEASE_MARGIN_SECONDS, self.lease_seconds / 4))
            held_until: datetime | None = None
            for row in batch:
                now = self.clock()
                if self.stop.is_set() or now + margin > lease_end:
                    self._give_back(session, row, due_at=now, error=row.last_error)
                elif held_until is not None and now < held_until:
                    self._give_back(session, row, due_at=held_until, error="held_rate_limited")
                else:
                    held_until = self._send(session, row) or held_until
        return planned + len(batch)

    # -- one row -----------------------------------------------------------------------------------

    def _send(self, session: Session, row: NoticeDispatch) -> datetime | None:
        """Send one row and record the outcome; when the channel rate-limited us, until when."""
        assert row.id is not None
        sender = self.senders.get(row.channel)
        try:
            if sender is None:
                raise Skip("no_sender")
            ref = self._deliver(session, row, sender)
        except Skip as skip:
            self._settle(
                session, row, sent_values(now=self.clock(), ref="", status=DispatchStatus.SKIPPED), str(skip)
            )
            return None
        except DeliveryError as exc:
            session.rollback()
            return self._failed(session, row, exc)
        except Exception as exc:
            # A sender's own bug must not lose the row: it is retried like any failure.
            session.rollback()
            log.error(
                "event=notice_send_crashed row_id=%s error=%s", row.id, type(exc).__name__, exc_info=True
            )
            return self._failed(session, row, DeliveryError(type(exc).__name__))
        self._settle(session, row, sent_values(now=self.clock(), ref=ref), "sent")
        return None

    def _deliver(self, session: Session, row: NoticeDispatch, sender: NoticeSender) -> str:
        """Do what the row says through ``sender``; the reference of what was posted. Records the
        notice's message (``NoticeDelivery``) in the session, committed with the row's settling."""
        if row.kind is DispatchKind.DIGEST:
            return self._digest(session, row, sender)
        notice = get_notice(session=session, notice_id=row.notice_id or -1)
        if notice is None:
            raise Skip("no_notice")
        if row.kind is DispatchKind.REFRESH:
            return self._refresh(session, row, notice, sender)
        if row.kind is DispatchKind.REMINDER:
            label = str(row.payload.get("label", ""))
            self._check_reminder(notice, row, label)
            message = reminder_message(
                notice, label, tz=self.schedule.tz, ack_count=self._acks(session, notice)
            )
            return self._post_once(row, sender, message, key=row.key)
        ts = self._notice_post(session, row, notice, sender)
        if row.kind is DispatchKind.POST:
            return ts
        # An update: the post shows the notice as it is now, and the thread gets the update's line.
        sender.update(target=row.target, ref=ts, message=self._notice_message(session, notice))
        record_delivery(
            session=session,
            notice_id=notice.id or 0,
            channel=row.channel,
            target=row.target,
            ref="",
            now=self.clock(),
        )
        event = session.get(NoticeEvent, int(row.payload.get("event", -1)))
        if event is None:
            raise Skip("no_event")
        line = NoticeMessage(text=update_line(event, tz=self.schedule.tz))
        return self._post_once(row, sender, line, key=row.key, thread=ts)

    def _refresh(self, session: Session, row: NoticeDispatch, notice: Notice, sender: NoticeSender) -> str:
        """Edit the notice's post in the row's channel, and its reminders there that carry "Got it",
        to show the count as it is now. Once edited, the row frees its pending key, so that the next
        tap queues the next refresh; a tap that came while the edits were made (and found this row
        pending) is caught by reading the count again: changed, a new refresh is planned."""
        assert notice.id is not None and row.id is not None
        found = get_delivery(session=session, notice_id=notice.id, channel=row.channel, target=row.target)
        ts = str(found.message_ref.get("ts") or "") if found is not None else ""
        if not ts:
            raise Skip("not_posted")
        count = self._acks(session, notice)
        sender.update(
            target=row.target, ref=ts, message=notice_message(notice, tz=self.schedule.tz, ack_count=count)
        )
        current = window_key(notice)
        for reminder in sent_reminders(
            session=session, notice_id=notice.id, channel=row.channel, target=row.target
        ):
            label = str(reminder.payload.get("label", ""))
            if reminder.ref and label != REMINDER_END and reminder.payload.get("window") == current:
                message = reminder_message(notice, label, tz=self.schedule.tz, ack_count=count)
                sender.update(target=row.target, ref=reminder.ref, message=message)
        if release_key(session=session, row_id=row.id, worker_id=self.worker_id, key=f"{row.key}:{row.id}"):
            session.commit()
            if self._acks(session, notice) != count:
                plan_ack_refresh(session=session, notice_id=notice.id, now=self.clock(), delay=REFRESH_DELAY)
        return ts

    def _notice_post(
        self, session: Session, row: NoticeDispatch, notice: Notice, sender: NoticeSender
    ) -> str:
        """The ts of the notice's message in the row's channel, posting it first if it isn't there."""
        assert notice.id is not None
        found = get_delivery(session=session, notice_id=notice.id, channel=row.channel, target=row.target)
        if found is not None and found.message_ref.get("ts"):
            return str(found.message_ref["ts"])
        post_key = f"n{notice.id}:{row.channel}:{row.target}:post"
        ts = self._post_once(row, sender, self._notice_message(session, notice), key=post_key)
        record_delivery(
            session=session,
            notice_id=notice.id,
            channel=row.channel,
            target=row.target,
            ref=ts,
            now=self.clock(),
        )
        if row.kind is not DispatchKind.POST:
            # Kept at once: a later failure in this row (the thread line) must not post it again. A
            # post row's record is committed with the row's own settling instead.
            session.commit()
        return ts

    def _post_once(
        self,
        row: NoticeDispatch,
        sender: NoticeSender,
        message: NoticeMessage,
        *,
        key: str,
        thread: str | None = None,
    ) -> str:
        """Post ``message`` tagged ``key``, unless an earlier claim of this row may have posted it and
        the channel has it (then its reference)."""
        if row.attempts > 1:
            found = sender.find(
                target=row.target, key=key, thread=thread, since=row.created_at - timedelta(minutes=1)
            )
            if found:
                log.info("event=notice_found_posted row_id=%s attempts=%d", row.id, row.attempts)
                return found
        return sender.post(target=row.target, message=message, key=key, thread=thread)

    def _check_reminder(self, notice: Notice, row: NoticeDispatch, label: str) -> None:
        """Skip a reminder whose window moved, or whose upgrade is no longer coming (before the
        window only a scheduled one; at its start and end also one in progress)."""
        if row.payload.get("window") != window_key(notice):
            raise Skip("window_moved")
        wanted = {NoticeStatus.SCHEDULED}
        if label in (REMINDER_START, REMINDER_END):
            wanted.add(NoticeStatus.IN_PROGRESS)
        if notice.status not in wanted:
            raise Skip(f"notice_{notice.status.value}")

    def _digest(self, session: Session, row: NoticeDispatch, sender: NoticeSender) -> str:
        route = get_route(session=session, channel=row.channel, target=row.target)
        if route is None:
            raise Skip("no_route")
        slot = datetime.fromisoformat(str(row.payload["slot"]))
        now = self.clock()
        notices = [n for n in list_notices(session=session, open_only=True) if route_matches(route, n)]
        active = [n for n in notices if is_active(n, now)]
        upcoming = sorted((n for n in notices if is_upcoming(n, now)), key=lambda n: n.starts_at or now)
        message = digest_message(active, upcoming, slot=slot, tz=self.schedule.tz)
        if message is None:
            raise Skip("nothing_to_say")
        return self._post_once(row, sender, message, key=row.key)

    def _acks(self, session: Session, notice: Notice) -> int:
        assert notice.id is not None
        return ack_counts(session=session, notice_ids=[notice.id]).get(notice.id, 0)

    def _notice_message(self, session: Session, notice: Notice) -> NoticeMessage:
        return notice_message(notice, tz=self.schedule.tz, ack_count=self._acks(session, notice))

    # -- recording ---------------------------------------------------------------------------------

    def _settle(self, session: Session, row: NoticeDispatch, values: dict[str, object], outcome: str) -> None:
        if settle(session=session, row_id=row.id or 0, worker_id=self.worker_id, values=values):
            session.commit()
            log.info(
                "event=notice_dispatched row_id=%s kind=%s notice_id=%s channel=%s target=%s attempts=%d "
                "outcome=%s",
                row.id,
                row.kind.value,
                row.notice_id or "-",
                row.channel,
                row.target,
                row.attempts,
                outcome,
            )
        else:
            session.rollback()
            log.warning("event=notice_lease_lost row_id=%s worker_id=%s", row.id, self.worker_id)

    def _give_back(self, session: Session, row: NoticeDispatch, *, due_at: datetime, error: str) -> None:
        if settle(
            session=session,
            row_id=row.id or 0,
            worker_id=self.worker_id,
            values=retry_values(due_at=due_at, error=error, untried=True),
        ):
            session.commit()
        else:
            session.rollback()

    def _failed(self, session: Session, row: NoticeDispatch, error: DeliveryError) -> datetime | None:
        now = self.clock()
        if error.permanent:
            self._settle(session, row, failed_values(now=now, error=error.code), error.code)
            log.error("event=notice_dead_letter row_id=%s target=%s error=%s", row.id, row.target, error.code)
            return None
        if error.retry_after is not None:
            until = now + timedelta(seconds=error.retry_after)
            # A 429 means the channel took nothing: the next claim needs no look-up.
            self._give_back(session, row, due_at=until, error=error.code)
            log.info("event=notice_rate_limited row_id=%s retry_after_s=%.1f", row.id, error.retry_after)
            return until
        delay = backoff_seconds(
            attempts=row.attempts, base_seconds=1.0, max_seconds=MAX_BACKOFF_SECONDS, jitter=0.2
        )
        values = retry_values(due_at=now + timedelta(seconds=delay), error=error.code, untried=False)
        if settle(session=session, row_id=row.id or 0, worker_id=self.worker_id, values=values):
            session.commit()
        else:
            session.rollback()
        log.warning("event=notice_retry row_id=%s error=%s retry_in_s=%.1f", row.id, error.code, delay)
        return now + timedelta(seconds=delay) if error.unavailable else None
