"""The pure rules of notice delivery: which channels a notice goes to, when reminders and digests
are due, and what the messages say."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.notices.models import Notice, NoticeKind, NoticeStatus
from bot.notices.planning import DIGEST_GRACE, DeliverySchedule, digest_slot
from bot.notices.render import digest_message, notice_message, parse_offset, reminder_due, reminder_message
from bot.notices.routing import routes_for

NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class Route:
    name: str
    systems: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)


ROUTES = [
    Route("#ed", sites=["ED"]),
    Route("#4-west", sites=["4 West"]),
    Route("#all-staff"),
    Route("#radiology", systems=["PACS"]),
]


def routed(systems: list[str], sites: list[str]) -> list[str]:
    notice = Notice(
        kind=NoticeKind.OUTAGE, title="t", status=NoticeStatus.INVESTIGATING, systems=systems, sites=sites
    )
    return [r.name for r in routes_for(notice, ROUTES)]


def test_a_notice_for_one_site_goes_to_that_sites_channel_and_all_staff_only() -> None:
    assert routed(["Badge tap"], ["ED"]) == ["#ed", "#all-staff"]


def test_sites_compare_ignoring_case_and_spacing() -> None:
    assert routed(["Epic"], ["  4  west "]) == ["#4-west", "#all-staff"]


def test_a_hospital_wide_notice_goes_to_every_channel_its_systems_match() -> None:
    assert routed(["Epic"], []) == ["#ed", "#4-west", "#all-staff"]
    assert routed(["PACS"], []) == ["#ed", "#4-west", "#all-staff", "#radiology"]


def upgrade(starts: datetime) -> Notice:
    return Notice(
        id=7,
        kind=NoticeKind.UPGRADE,
        title="Epic upgrade",
        status=NoticeStatus.SCHEDULED,
        systems=["Epic"],
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        updated_at=starts - timedelta(days=2),
    )


def test_reminders_fall_24h_and_1h_before_the_window_and_at_its_start_and_end() -> None:
    starts = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
    notice = upgrade(starts)
    assert [reminder_due(notice, label) for label in ("24h", "1h", "start", "end")] == [
        starts - timedelta(hours=24),
        starts - timedelta(hours=1),
        starts,
        starts + timedelta(hours=2),
    ]


@pytest.mark.parametrize("bad", ["", "24", "h", "1.5h", "-1h", "1w"])
def test_a_bad_reminder_offset_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(ValueError, match="reminder offset"):
        parse_offset(bad)


def schedule(*times: str) -> DeliverySchedule:
    return DeliverySchedule(
        reminders=(), digest_times=tuple(time.fromisoformat(t) for t in times), tz=NEW_YORK
    )


def test_the_digest_slot_is_the_last_shift_change_in_local_time_within_the_grace() -> None:
    # 07:10 in New York in December is 12:10 UTC.
    now = datetime(2026, 12, 3, 12, 10, tzinfo=UTC)
    assert digest_slot(schedule=schedule("07:00", "19:00"), now=now) == datetime(
        2026, 12, 3, 12, 0, tzinfo=UTC
    )
    late = datetime(2026, 12, 3, 12, 0, tzinfo=UTC) + DIGEST_GRACE + timedelta(minutes=1)
    assert digest_slot(schedule=schedule("07:00", "19:00"), now=late) is None


def test_the_evening_slot_is_found_after_midnight_utc() -> None:
    # 19:05 in New York is 00:05 UTC the next day.
    now = datetime(2026, 12, 4, 0, 5, tzinfo=UTC)
    assert digest_slot(schedule=schedule("07:00", "19:00"), now=now) == datetime(
        2026, 12, 4, 0, 0, tzinfo=UTC
    )


def test_no_digest_times_means_no_digest() -> None:
    assert digest_slot(schedule=schedule(), now=datetime(2026, 12, 3, 12, 0, tzinfo=UTC)) is None


def test_an_upgrade_message_shows_its_local_window_changes_and_a_got_it_count() -> None:
    notice = upgrade(datetime(2026, 12, 5, 7, 0, tzinfo=UTC))
    notice.staff_changes = "New login screen."
    message = notice_message(notice, tz=NEW_YORK, ack_count=3)
    assert "Planned upgrade: Epic upgrade" in message.text
    assert "Sat 5 Dec 02:00–04:00 (America/New_York)" in message.text
    assert "New login screen." in message.text
    assert (message.ack_notice_id, message.ack_count) == (7, 3)


def test_an_upgrade_message_links_its_downtime_procedure_and_so_do_its_reminders() -> None:
    notice = upgrade(datetime(2026, 12, 5, 7, 0, tzinfo=UTC))
    notice.procedure_article = "downtime/ehr-downtime-procedures"
    link = "[downtime/ehr-downtime-procedures](/kb/downtime/ehr-downtime-procedures)"

    message = notice_message(notice, tz=NEW_YORK)
    reminder = reminder_message(notice, "1h", tz=NEW_YORK)

    assert f"Downtime procedure: {link}" in message.text and link in reminder.text
    assert message.procedure_article == reminder.procedure_article == "downtime/ehr-downtime-procedures"
    assert reminder_message(notice, "end", tz=NEW_YORK).procedure_article == ""


def test_an_ended_notice_offers_no_got_it() -> None:
    notice = upgrade(datetime(2026, 12, 5, 7, 0, tzinfo=UTC))
    notice.status = NoticeStatus.COMPLETED
    message = notice_message(notice, tz=NEW_YORK)
    assert message.text.startswith("**Completed: Epic upgrade**") and message.ack_notice_id is None


def test_an_empty_digest_is_not_sent() -> None:
    assert digest_message([], [], slot=datetime(2026, 12, 3, 12, 0, tzinfo=UTC), tz=NEW_YORK) is None
