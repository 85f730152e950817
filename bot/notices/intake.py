"""Monitoring's alerts become draft outages that IT confirms before anyone is told.

``take_alert`` applies one alert (``bot.notices.alerts``) inside the caller's transaction:

* firing, nothing open for its key → a **draft** outage (never active, never matched, never on the
  status board) and a post in IT's Slack triage channel with Confirm / Discard;
* firing again → the same draft or notice (one a key, however often Alertmanager repeats itself); new
  systems are added; an alert that had recovered and fires again is noted in the triage thread, and
  a confirmed notice in ``monitoring`` goes back to ``investigating``;
* resolved → never resolves silently: a draft is marked recovered and IT is asked in the triage
  thread to discard it; a confirmed notice moves to ``monitoring`` and IT is offered "Resolve";
* resolved with nothing open → nothing to do.

``confirm_draft`` makes a draft a live notice (``investigating``); ``discard_draft`` ends it unseen.
Each triage post goes through the outbox (``chat.triage_opened`` / ``chat.triage_message``), queued
in the same transaction, keyed so a retried request never posts twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.config import Settings
from bot.notices import active
from bot.notices.actions import update_notice
from bot.notices.alerts import Alert
from bot.notices.errors import BadTransitionError, NoticeNotFoundError
from bot.notices.lifecycle import OUTAGE_OPEN
from bot.notices.models import Notice, NoticeKind, NoticeStatus
from bot.notices.queries import add_update, create_notice, get_notice, list_systems
from bot.notices.registry import resolve_names
from bot.tickets.outbox import enqueue, get_by_key

log = logging.getLogger(__name__)

CONFIRM_PREFIX = "draft_confirm:"
DISCARD_PREFIX = "draft_discard:"
RESOLVE_PREFIX = "notice_resolve:"
MONITORING_AUTHOR = "monitoring"


@dataclass(frozen=True)
class Intake:
    """What an alert did: ``created``, ``updated``, ``unchanged``, ``recovered`` (a draft's alert
    resolved), ``monitoring`` (a live notice's alert resolved) or ``ignored``; and the notice."""

    action: str
    notice: Notice | None


def get_open_by_alert(*, session: Session, key: str) -> Notice | None:
    """The notice an alert with ``key`` belongs to while it is open (drafts included), or None."""
    return session.exec(select(Notice).where(Notice.alert_key == key)).first()


def take_alert(*, session: Session, settings: Settings, alert: Alert, now: datetime) -> Intake:
    """Apply ``alert`` (see the module docstring); flushes, never commits. Raises
    ``UnknownSystemError`` (with the closest known name) before anything is written."""
    systems = resolve_names(alert.systems, list_systems(session=session))
    notice = get_open_by_alert(session=session, key=alert.key)
    if notice is None:
        if not alert.firing:
            return Intake("ignored", None)
        return Intake("created", _open_draft(session, settings, alert, systems, now))
    if alert.firing:
        return Intake(_fires(session, settings, notice, systems, now), notice)
    return Intake(_recovers(session, settings, notice, now), notice)


def confirm_draft(*, session: Session, notice_id: int, now: datetime, author: str) -> Notice:
    """Make the draft a live outage (``investigating``): from now on it answers questions and is
    delivered. Refused (``BadTransitionError``) for anything but a draft."""
    notice = _draft(session, notice_id, "confirmed")
    update_notice(
        session=session,
        notice_id=notice_id,
        now=now,
        status=NoticeStatus.INVESTIGATING,
        author=author,
    )
    active.changed()
    return notice


def discard_draft(*, session: Session, notice_id: int, now: datetime, author: str) -> Notice:
    """End the draft unseen (``discarded``): nobody is ever told. Refused for anything but a draft."""
    _draft(session, notice_id, "discarded")
    return update_notice(
        session=session,
        notice_id=notice_id,
        now=now,
        status=NoticeStatus.DISCARDED,
        author=author,
    )


def draft_text(notice: Notice) -> str:
    """How a new draft reads in IT's triage channel (Markdown)."""
    impact = "down" if notice.impact.value == "down" else "degraded"
    lines = [
        f"**Draft outage from {notice.alert_source or 'monitoring'}**: {notice.title}",
        f"Systems: {', '.join(notice.systems)} · looks {impact} · notice {notice.id}",
    ]
    if notice.body:
        lines.append(notice.body[:500])
    lines.append("Nobody has been told. Confirm to post it and answer staff with it, or discard it.")
    return "\n".join(lines)


def triage_thread_of_notice(*, session: Session, notice_id: int) -> str | None:
    """The ts of the draft's delivered triage post (its thread), or None when not posted (yet)."""
    posted = get_by_key(session=session, idempotency_key=_draft_post_key(notice_id))
    return posted.external_ref if posted is not None and posted.external_ref else None


# -- the steps -------------------------------------------------------------------------------------


def _open_draft(
    session: Session, settings: Settings, alert: Alert, systems: list[str], now: datetime
) -> Notice:
    notice = Notice(
        kind=NoticeKind.OUTAGE,
        title=alert.summary,
        status=NoticeStatus.DRAFT,
        impact=alert.impact,
        body=alert.description,
        author=MONITORING_AUTHOR,
        systems=systems,
        created_at=now,
        updated_at=now,
        alert_key=alert.key,
        alert_source=alert.source,
        alert_status="firing",
    )
    create_notice(session=session, notice=notice)
    assert notice.id is not None
    if settings.slack_triage_channel:
        enqueue(
            session=session,
            target="chat",
            topic="chat.triage_opened",
            payload={
                "channel": "slack",
                "reply_to": {"channel": settings.slack_triage_channel},
                "text": draft_text(notice),
                "ticket_number": "",
                "kind": "triage",
                "actions": [f"{CONFIRM_PREFIX}{notice.id}", f"{DISCARD_PREFIX}{notice.id}"],
            },
            idempotency_key=_draft_post_key(notice.id),
        )
    log.info("event=alert_draft_opened notice_id=%s source=%s", notice.id, alert.source)
    return notice


def _fires(session: Session, settings: Settings, notice: Notice, systems: list[str], now: datetime) -> str:
    added = [s for s in systems if s.casefold() not in {n.casefold() for n in notice.systems}]
    again = notice.alert_status == "resolved"
    if not added and not again:
        return "unchanged"
    if added:
        notice.systems = [*notice.systems, *added]
    notice.alert_status = "firing"
    note = "Monitoring reports it failing again." if again else f"Monitoring adds {', '.join(added)}."
    if again and notice.status is NoticeStatus.MONITORING:
        update_notice(
            session=session,
            notice_id=notice.id or 0,
            now=now,
            status=NoticeStatus.INVESTIGATING,
            body=note,
            author=MONITORING_AUTHOR,
        )
    else:
        add_update(
            session=session, notice=notice, status=notice.status, body=note, author=MONITORING_AUTHOR, at=now
        )
    active.changed()
    _tell_thread(session, settings, notice, f"{note} ({notice.title})", [], now)
    return "updated"


def _recovers(session: Session, settings: Settings, notice: Notice, now: datetime) -> str:
    if notice.alert_status == "resolved":
        return "unchanged"
    notice.alert_status = "resolved"
    at = now.strftime("%H:%M UTC")
    assert notice.id is not None
    if notice.status is NoticeStatus.DRAFT:
        add_update(
            session=session,
            notice=notice,
            status=notice.status,
            body=f"Monitoring reports it recovered at {at}.",
            author=MONITORING_AUTHOR,
            at=now,
        )
        text = (
            f"Monitoring says *{notice.title}* recovered at {at}. Nobody was told: discard the draft "
            "unless staff still need to hear about it."
        )
        _tell_thread(session, settings, notice, text, [f"{DISCARD_PREFIX}{notice.id}"], now)
        return "recovered"
    if notice.status in OUTAGE_OPEN and notice.status is not NoticeStatus.MONITORING:
        update_notice(
            session=session,
            notice_id=notice.id,
            now=now,
            status=NoticeStatus.MONITORING,
            body=f"Monitoring reports recovery at {at}; we are watching it before calling it fixed.",
            author=MONITORING_AUTHOR,
        )
    else:
        session.add(notice)
        session.flush()
    text = f"Monitoring says *{notice.title}* recovered at {at}. Resolve the notice once you've checked."
    _tell_thread(session, settings, notice, text, [f"{RESOLVE_PREFIX}{notice.id}"], now)
    return "monitoring"


def _tell_thread(
    session: Session, settings: Settings, notice: Notice, text: str, actions: list[str], now: datetime
) -> None:
    """A line in the notice's triage thread (a new triage post when it has none yet)."""
    if not settings.slack_triage_channel or notice.id is None:
        return
    thread = triage_thread_of_notice(session=session, notice_id=notice.id)
    reply_to = {"channel": settings.slack_triage_channel, **({"thread_ts": thread} if thread else {})}
    enqueue(
        session=session,
        target="chat",
        topic="chat.triage_message",
        payload={
            "channel": "slack",
            "reply_to": reply_to,
            "text": text,
            "ticket_number": "",
            "kind": "triage",
            "actions": actions,
        },
        idempotency_key=f"notice:{notice.id}:alert:{now.isoformat()}",
    )


def _draft(session: Session, notice_id: int, verb: str) -> Notice:
    notice = get_notice(session=session, notice_id=notice_id)
    if notice is None:
        raise NoticeNotFoundError(notice_id)
    if notice.status is not NoticeStatus.DRAFT:
        raise BadTransitionError(
            "not a draft",
            user_message=f"Notice {notice_id} can't be {verb}: it is already {notice.status.value}.",
        )
    return notice


def _draft_post_key(notice_id: int) -> str:
    return f"notice:{notice_id}:draft"
