"""Times as IT types them on a command line or in the API: ISO 8601, or relative to now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.notices.errors import BadScheduleError

_RELATIVE = re.compile(r"^\+?\s*(\d{1,5})\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?)$", re.IGNORECASE)


def parse_time(text: str, now: datetime) -> datetime:
    """``text`` as a timezone-aware time: ISO 8601 (``2026-12-04T02:00``, a time without a zone is
    UTC) or relative (``+30m``, ``2h``, ``1d``). Raises ``BadScheduleError`` for anything else."""
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        step = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}[unit[0]]
        return now + amount * step
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadScheduleError(
            f"bad time {value[:40]!r}",
            user_message=f"Can't read the time {value[:40]!r}: write 2026-12-04T02:00 (UTC) or +30m.",
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def optional_time(text: str | None, now: datetime) -> datetime | None:
    """``parse_time`` for an optional value (None or blank gives None)."""
    return parse_time(text, now) if text and text.strip() else None
