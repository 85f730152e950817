"""A notice as answers see it: a frozen copy of the row, safe to share between threads and cache."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.notices.models import Impact, Notice, NoticeKind, NoticeStatus


@dataclass(frozen=True)
class ActiveNotice:
    """What matching and replies read of one notice."""

    id: int
    kind: NoticeKind
    title: str
    status: NoticeStatus
    systems: tuple[str, ...]
    body: str = ""
    sites: tuple[str, ...] = ()
    impact: Impact = Impact.DEGRADED
    staff_changes: str = ""
    procedure_article: str = ""
    next_update_at: datetime | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    created_at: datetime | None = None

    @classmethod
    def of(cls, notice: Notice) -> ActiveNotice:
        """The snapshot of a stored notice."""
        assert notice.id is not None
        return cls(
            id=notice.id,
            kind=notice.kind,
            title=notice.title,
            status=notice.status,
            systems=tuple(notice.systems),
            body=notice.body,
            sites=tuple(notice.sites),
            impact=notice.impact,
            staff_changes=notice.staff_changes,
            procedure_article=notice.procedure_article,
            next_update_at=notice.next_update_at,
            starts_at=notice.starts_at,
            ends_at=notice.ends_at,
            created_at=notice.created_at,
        )

    def to_json(self) -> dict[str, Any]:
        """The notice as the JSON contract spells it (the keys every notice JSON has, then the rest)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "title": self.title,
            "status": self.status.value,
            "systems": list(self.systems),
            "body": self.body,
            "next_update": _iso(self.next_update_at),
            "impact": self.impact.value,
            "sites": list(self.sites),
            "starts": _iso(self.starts_at),
            "ends": _iso(self.ends_at),
            "staff_changes": self.staff_changes,
            "procedure_article": self.procedure_article,
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None
