"""What notices say in chat (pure): the notice's own message (edited as it changes), one thread line
per update, the upgrade reminders and the shift-change digest. Markdown; times in the hospital's
time zone (``Settings.notice_timezone``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.notices.lifecycle import ENDED
from bot.notices.models import Impact, Notice, NoticeEvent, NoticeKind, NoticeStatus
from bot.notices.procedures import procedure_link
from bot.notices.sender import NoticeMessage

REMINDER_START = "start"
REMINDER_END = "end"
_ENDED_LEAD = {
    NoticeStatus.RESOLVED: "Resolved",
    NoticeStatus.COMPLETED: "Completed",
    NoticeStatus.CANCELLED: "Cancelled",
}


def status_words(status: NoticeStatus) -> str:
    """A status as people read it: ``in_progress`` → "In progress"."""
    return status.value.replace("_", " ").capitalize()


def local(at: datetime, tz: ZoneInfo) -> datetime:
    """``at`` in the hospital's time zone."""
    return at.astimezone(tz)


def clock(at: datetime, tz: ZoneInfo) -> str:
    """A time of day: ``09:40``."""
    return f"{local(at, tz):%H:%M}"


def when(at: datetime, tz: ZoneInfo) -> str:
    """A day and time: ``Sat 5 Dec 02:00``."""
    shown = local(at, tz)
    return f"{shown:%a} {shown.day} {shown:%b %H:%M}"


def window(notice: Notice, tz: ZoneInfo) -> str:
    """An upgrade's window, ``Sat 5 Dec 02:00–04:00`` (the end's day only when it differs)."""
    if notice.starts_at is None or notice.ends_at is None:
        return "window to be announced"
    start, end = local(notice.starts_at, tz), local(notice.ends_at, tz)
    tail = f"{end:%H:%M}" if start.date() == end.date() else when(notice.ends_at, tz)
    return f"{when(notice.starts_at, tz)}–{tail} ({tz.key})"


def headline(notice: Notice) -> str:
    """The first line: what kind of notice, its title, its status."""
    if notice.status in ENDED:
        return f"**{_ENDED_LEAD[notice.status]}: {notice.title}**"
    if notice.kind is NoticeKind.UPGRADE:
        return f"**Planned upgrade: {notice.title}** ({status_words(notice.status)})"
    lead = "Outage" if notice.impact is Impact.DOWN else "Known issue"
    return f"**{lead}: {notice.title}** ({status_words(notice.status)})"


def notice_message(notice: Notice, *, tz: ZoneInfo, ack_count: int = 0) -> NoticeMessage:
    """The notice's message in a channel, as it stands now (every update edits it to this)."""
    assert notice.id is not None
    where = ", ".join(notice.sites) if notice.sites else "all sites"
    lines = [headline(notice), f"Systems: {', '.join(notice.systems)} · Where: {where}"]
    if notice.kind is NoticeKind.UPGRADE:
        lines.append(f"Window: {window(notice, tz)}")
    if notice.staff_changes:
        lines.append(f"What changes for you: {notice.staff_changes}")
    if notice.procedure_article:
        lines.append(f"Downtime procedure: {procedure_link(notice.procedure_article)}")
    if notice.body:
        lines += ["", notice.body]
    tail = [f"Updated {clock(notice.updated_at, tz)}"]
    if notice.next_update_at is not None and notice.status not in ENDED:
        tail.insert(0, f"Next update {clock(notice.next_update_at, tz)}")
    lines += ["", " · ".join(tail) + " · updates in the thread"]
    wants_ack = notice.kind is NoticeKind.UPGRADE and notice.status not in ENDED
    return NoticeMessage(
        text="\n".join(lines),
        ack_notice_id=notice.id if wants_ack else None,
        ack_count=ack_count,
        procedure_article=notice.procedure_article if notice.status not in ENDED else "",
    )


def update_line(event: NoticeEvent, *, tz: ZoneInfo) -> str:
    """The thread line for one update: ``09:40 · Identified: the words IT posted``."""
    text = f"{clock(event.created_at, tz)} · {status_words(event.status)}"
    return f"{text}: {event.body}" if event.body else text


def reminder_due(notice: Notice, label: str) -> datetime | None:
    """When the reminder ``label`` (``24h``, ``1h``, ``start``, ``end``) of an upgrade is due."""
    if notice.starts_at is None or notice.ends_at is None:
        return None
    if label == REMINDER_START:
        return notice.starts_at
    if label == REMINDER_END:
        return notice.ends_at
    return notice.starts_at - parse_offset(label)


def parse_offset(label: str) -> timedelta:
    """A reminder offset as written in ``notice_reminders``: ``24h``, ``1h``, ``30m``, ``90s``."""
    value = label.strip().lower()
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit():
        raise ValueError(f"bad reminder offset {label!r}: write 24h, 1h, 30m")
    return timedelta(seconds=int(value[:-1]) * units[value[-1]])


def _in_words(label: str) -> str:
    seconds = int(parse_offset(label).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def reminder_message(notice: Notice, label: str, *, tz: ZoneInfo, ack_count: int = 0) -> NoticeMessage:
    """An upgrade reminder: before the window, at its start, at its end."""
    assert notice.id is not None
    if label == REMINDER_START:
        text = f"**Starting now: {notice.title}** ({window(notice, tz)})"
    elif label == REMINDER_END:
        text = f"**Window over: {notice.title}.** IT will confirm here when everything is back."
    else:
        text = f"**Reminder: {notice.title} in {_in_words(label)}** ({window(notice, tz)})"
    if notice.staff_changes and label != REMINDER_END:
        text += f"\nWhat changes for you: {notice.staff_changes}"
    if notice.procedure_article and label != REMINDER_END:
        text += f"\nDowntime procedure: {procedure_link(notice.procedure_article)}"
    return NoticeMessage(
        text=text,
        ack_notice_id=notice.id if label != REMINDER_END else None,
        ack_count=ack_count,
        procedure_article=notice.procedure_article if label != REMINDER_END else "",
    )


def digest_message(
    active: Sequence[Notice], upcoming: Sequence[Notice], *, slot: datetime, tz: ZoneInfo
) -> NoticeMessage | None:
    """The shift-change digest: what is active and what is coming; None when there is nothing."""
    if not active and not upcoming:
        return None
    lines = [f"**Shift change {clock(slot, tz)}: IT notices**"]
    if active:
        lines.append("Active now:")
        for notice in active:
            extra = f", next update {clock(notice.next_update_at, tz)}" if notice.next_update_at else ""
            lines.append(f"• {notice.title} ({status_words(notice.status).lower()}{extra})")
    if upcoming:
        lines.append("Coming up:")
        lines += [f"• {notice.title}: {window(notice, tz)}" for notice in upcoming]
    return NoticeMessage(text="\n".join(lines))
