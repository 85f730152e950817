"""The life of a notice: which status may follow which, when it is active, what it does to systems."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.notices.lifecycle import (
    allowed_next,
    closing_status,
    is_active,
    is_upcoming,
    statuses_for,
    system_states,
)
from bot.notices.models import Impact, NoticeKind, NoticeStatus, SystemState

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
S = NoticeStatus


@dataclass
class Snapshot:
    kind: NoticeKind
    status: NoticeStatus
    systems: list[str] = field(default_factory=lambda: ["Epic"])
    impact: Impact = Impact.DEGRADED
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def test_an_outage_moves_between_its_open_statuses_in_any_order_and_ends_resolved() -> None:
    assert allowed_next(NoticeKind.OUTAGE, S.INVESTIGATING) == {S.IDENTIFIED, S.MONITORING, S.RESOLVED}
    assert S.INVESTIGATING in allowed_next(NoticeKind.OUTAGE, S.MONITORING)
    assert closing_status(NoticeKind.OUTAGE) is S.RESOLVED


def test_an_upgrade_goes_scheduled_in_progress_completed_or_is_postponed_or_cancelled() -> None:
    assert allowed_next(NoticeKind.UPGRADE, S.SCHEDULED) >= {S.IN_PROGRESS, S.POSTPONED, S.CANCELLED}
    assert allowed_next(NoticeKind.UPGRADE, S.POSTPONED) == {S.SCHEDULED, S.CANCELLED}
    assert closing_status(NoticeKind.UPGRADE) is S.COMPLETED
    assert S.RESOLVED not in statuses_for(NoticeKind.UPGRADE)


@pytest.mark.parametrize(
    ("kind", "ended"),
    [(NoticeKind.OUTAGE, S.RESOLVED), (NoticeKind.UPGRADE, S.COMPLETED), (NoticeKind.UPGRADE, S.CANCELLED)],
)
def test_an_ended_notice_changes_no_more(kind: NoticeKind, ended: NoticeStatus) -> None:
    assert allowed_next(kind, ended) == frozenset()


def test_an_outage_is_active_until_resolved() -> None:
    assert is_active(Snapshot(NoticeKind.OUTAGE, S.MONITORING), NOW)
    assert not is_active(Snapshot(NoticeKind.OUTAGE, S.RESOLVED), NOW)


def test_a_scheduled_upgrade_is_upcoming_before_its_window_and_active_inside_it() -> None:
    window = {"starts_at": NOW + timedelta(hours=1), "ends_at": NOW + timedelta(hours=3)}
    upgrade = Snapshot(NoticeKind.UPGRADE, S.SCHEDULED, **window)  # type: ignore[arg-type]
    assert is_upcoming(upgrade, NOW) and not is_active(upgrade, NOW)
    inside = NOW + timedelta(hours=2)
    assert is_active(upgrade, inside) and not is_upcoming(upgrade, inside)
    assert not is_active(upgrade, NOW + timedelta(hours=4))


def test_an_upgrade_in_progress_is_active_even_past_its_window() -> None:
    late = Snapshot(
        NoticeKind.UPGRADE,
        S.IN_PROGRESS,
        starts_at=NOW - timedelta(hours=5),
        ends_at=NOW - timedelta(hours=1),
    )
    assert is_active(late, NOW)


def test_a_system_takes_the_worst_state_of_its_active_notices() -> None:
    notices = [
        Snapshot(NoticeKind.UPGRADE, S.IN_PROGRESS, systems=["Epic", "Citrix Workspace"]),
        Snapshot(NoticeKind.OUTAGE, S.INVESTIGATING, systems=["epic"], impact=Impact.DOWN),
        Snapshot(NoticeKind.OUTAGE, S.RESOLVED, systems=["Vocera"], impact=Impact.DOWN),
        Snapshot(NoticeKind.OUTAGE, S.IDENTIFIED, systems=["Outlook"]),
    ]
    states = system_states(["Epic", "Citrix Workspace", "Vocera", "Outlook", "Pyxis"], notices, NOW)
    assert states == {
        "Epic": SystemState.DOWN,
        "Citrix Workspace": SystemState.UPGRADE_WINDOW,
        "Vocera": SystemState.OPERATIONAL,
        "Outlook": SystemState.DEGRADED,
        "Pyxis": SystemState.OPERATIONAL,
    }
