"""Notice delivery over real HTTP into a fake Slack workspace, on SQLite and PostgreSQL: routes per
system and site, one post per channel that every update edits in place with a line in its thread,
429s on 200 channels delivered once each, reminders and digests, and "Got it" counts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from bot.channels.slack.notice_sender import SlackNoticeSender, make_notice_client
from bot.config import Settings
from bot.db import session_factory
from bot.interactions.models import utcnow
from bot.notices.acks import acknowledge
from bot.notices.actions import NewNotice, open_notice, resolve_notice, update_notice
from bot.notices.alerts import Alert
from bot.notices.delivery_models import DispatchStatus
from bot.notices.delivery_queries import list_dispatch, save_route
from bot.notices.dispatcher import NoticeDispatcher
from bot.notices.intake import confirm_draft, discard_draft, take_alert
from bot.notices.models import NoticeKind, NoticeStatus
from bot.notices.registry import ensure_seeded
from tests.fakes.slack_workspace import FakeSlackWorkspace, RateLimit

KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def slack() -> Iterator[FakeSlackWorkspace]:
    with FakeSlackWorkspace() as fake:
        yield fake


@pytest.fixture
def seeded(session: Session) -> Session:
    ensure_seeded(session=session, kb=KB)
    session.commit()
    return session


class Clock:
    """A clock the test moves."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def dispatcher(
    settings: Settings,
    engine: Engine,
    slack: FakeSlackWorkspace,
    clock: Clock | None = None,
    **overrides: object,
) -> NoticeDispatcher:
    tuned = settings.model_copy(
        update={"slack_bot_token": "xoxb-test", "slack_api_url": slack.api_url, **overrides}
    )
    return NoticeDispatcher(
        tuned,
        open_session=session_factory(engine),
        senders={"slack": SlackNoticeSender(make_notice_client(tuned))},
        clock=clock or utcnow,
    )


def drain(worker: NoticeDispatcher, *, rounds: int = 50) -> None:
    for _ in range(rounds):
        if worker.run_once() == 0:
            return
    raise AssertionError("the queue did not drain")


def add_routes(session: Session) -> None:
    save_route(
        session=session, channel="slack", target="CED", label="#ed", systems=[], sites=["ED"], digest=True
    )
    save_route(
        session=session, channel="slack", target="CALL", label="#all-staff", systems=[], sites=[], digest=True
    )
    save_route(
        session=session,
        channel="slack",
        target="C4W",
        label="#4-west",
        systems=[],
        sites=["4 West"],
        digest=True,
    )
    save_route(
        session=session,
        channel="slack",
        target="CPACS",
        label="#radiology",
        systems=["PACS"],
        sites=[],
        digest=False,
    )
    session.commit()


def outage(session: Session, title: str, systems: list[str], sites: list[str], now: datetime) -> int:
    notice = open_notice(
        session=session,
        new=NewNotice(
            kind=NoticeKind.OUTAGE, title=title, systems=systems, sites=sites, body="Use the paper log."
        ),
        now=now,
    )
    session.commit()
    assert notice.id is not None
    return notice.id


def test_the_migration_creates_the_delivery_tables_as_the_models_describe(db_engine: Engine) -> None:
    tables = ("notice_route", "notice_dispatch", "notice_planned", "notice_ack")
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    assert [d for d in diffs if any(t in repr(d) for t in tables)] == []


def test_a_notice_about_the_eds_badge_readers_goes_to_the_ed_and_all_staff_channels_only(
    seeded: Session, db_settings: Settings, db_engine: Engine, slack: FakeSlackWorkspace
) -> None:
    add_routes(seeded)
    outage(seeded, "Badge readers down in the ED", ["Epic"], ["ED"], datetime.now(UTC))

    drain(dispatcher(db_settings, db_engine, slack))

    assert sorted(c.body["channel"] for c in slack.succeeded("chat.postMessage")) == ["CALL", "CED"]


def test_a_hospital_wide_notice_reaches_every_channel_its_systems_match(
    seeded: Session, db_settings: Settings, db_engine: Engine, slack: FakeSlackWorkspace
) -> None:
    add_routes(seeded)
    outage(seeded, "Epic is slow everywhere", ["Epic"], [], datetime.now(UTC))

    drain(dispatcher(db_settings, db_engine, slack))

    # The radiology channel takes PACS notices only.
    assert sorted(c.body["channel"] for c in slack.succeeded("chat.postMessage")) == ["C4W", "CALL", "CED"]


def test_each_update_edits_the_post_in_place_and_adds_one_line_in_its_thread(
    seeded: Session, db_settings: Settings, db_engine: Engine, slack: FakeSlackWorkspace
) -> None:
    add_routes(seeded)
    start = datetime.now(UTC)
    notice_id = outage(seeded, "Epic is slow in the ED", ["Epic"], ["ED"], start)
    worker = dispatcher(db_settings, db_engine, slack)
    drain(worker)
    update_notice(
        session=seeded,
        notice_id=notice_id,
        now=start + timedelta(minutes=5),
        status=NoticeStatus.IDENTIFIED,
        body="A storage fault; the vendor is on it.",
    )
    seeded.commit()
    drain(worker)
    update_notice(
        session=seeded,
        notice_id=notice_id,
        now=start + timedelta(minutes=20),
        status=NoticeStatus.MONITORING,
        body="Fix applied, watching.",
    )
    seeded.commit()
    drain(worker)
    resolve_notice(
        session=seeded, notice_id=notice_id, now=start + timedelta(minutes=40), body="Back to normal."
    )
    seeded.commit()
    drain(worker)

    for channel in ("CED", "CALL"):
        posts = slack.top_level(channel)
        assert len(posts) == 1, channel
        post = posts[0]
        assert post.edits == 3 and "Resolved: Epic is slow in the ED" in str(post.blocks)
        lines = [m.text for m in slack.thread(channel, post.ts)]
        assert len(lines) == 3
        assert (
            "Identified: A storage fault" in lines[0] and "Monitoring" in lines[1] and "Resolved" in lines[2]
        )
    assert slack.top_level("C4W") == [] and slack.duplicates() == {}
    statuses = {row.status for row in list_dispatch(session=seeded, notice_id=notice_id)}
    assert statuses == {DispatchStatus.SENT}


def test_rate_limits_on_200_channels_deliver_every_post_exactly_once(
    seeded: Session, db_settings: Settings, db_engine: Engine
) -> None:
    for n in range(200):
        save_route(
            session=seeded, channel="slack", target=f"C{n:04d}", label="", systems=[], sites=[], digest=False
        )
    seeded.commit()
    notice_id = outage(seeded, "Citrix is down", ["Citrix Workspace"], [], datetime.now(UTC))
    limits = {"chat.postMessage": RateLimit(per_channel_seconds=1.0, per_second=20)}

    with FakeSlackWorkspace(limits=limits) as slack:
        # Besides the limits, a burst of 429s right away, whatever the speed of this machine.
        slack.fail_next("chat.postMessage", status=429, retry_after=1, times=5)
        worker = dispatcher(db_settings, db_engine, slack)
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while datetime.now(UTC) < deadline:
            rows = list_dispatch(session=seeded, notice_id=notice_id)
            seeded.expire_all()
            if rows and all(r.status is DispatchStatus.SENT for r in rows):
                break
            if worker.run_once() == 0:
                time.sleep(0.05)

        posted = slack.keys_posted()
        refused = [c for c in slack.of("chat.postMessage") if c.response.get("error") == "ratelimited"]
    assert len(refused) >= 5
    assert len(posted) == 200 and set(posted.values()) == {1}
    assert {r.target for r in list_dispatch(session=seeded, notice_id=notice_id)} == {
        f"C{n:04d}" for n in range(200)
    }


def test_upgrade_reminders_come_24h_and_1h_before_and_at_start_and_end_once_each(
    seeded: Session, db_settings: Settings, db_engine: Engine, slack: FakeSlackWorkspace
) -> None:
    add_routes(seeded)
    created = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    starts = created + timedelta(days=2)
    notice = open_notice(
        session=seeded,
        new=NewNotice(
            kind=NoticeKind.UPGRADE,
            title="Epic upgrade",
            systems=["Epic"],
            sites=["ED"],
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            staff_changes="New login screen.",
        ),
        now=created,
    )
    seeded.commit()
    clock = Clock(created)
    worker = dispatcher(db_settings, db_engine, slack, clock, notice_digest_times="")
    drain(worker)
    assert len(slack.top_level("CED")) == 1
    seen = []
    for moment in (
        starts - timedelta(hours=24),
        starts - timedelta(hours=1),
        starts,
        starts + timedelta(hours=2),
        starts + timedelta(hours=3),
    ):
        clock.now = moment
        drain(worker)
        drain(worker)
        seen.append(len(slack.top_level("CED")))

    assert seen == [2, 3, 4, 5, 5]
    texts = [m.text for m in slack.top_level("CED")[1:]]
    assert "in 1 day" in texts[0] and "in 1 hour" in texts[1]
    assert texts[2].startswith("Starting now") and texts[3].startswith("Window over")
    assert slack.duplicates() == {}
    assert notice.id is not None


def test_postponing_an_upgrade_skips_the_old_windows_reminders_and_plans_the_new_ones(
    seeded: Session, db_settings: Settings, db_engine: Engine, slack: FakeSlackWorkspace
) -> None:
    add_routes(seeded)
    created = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    starts = created + timedelta(days=2)
    notice = open_notice(
        session=seeded,
        new=NewNotice(
            kind=NoticeKind.UPGRADE,
            title="PACS upgrade",
            systems=["Epic"],
            sites=["ED"],
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
        ),
        now=created,
    )
    seeded.commit()
    assert notice.id is not None
    clock = Clock(created)
    worker = dispatcher(db_settings, db_engine, slack, clock, notice_digest_times="")
    drain(worker)
    later = starts + timedelta(days=7)
    update_notice(
        session=seeded,
        notice_id=notice.id,
        now=created + timedelta(hours=1),
        starts_at=later,
        ends_at=later + timedelta(hours=1),
        body="Moved a week.",
    )
    seeded.commit()
    clock.now = created + timedelta(hours=1)
    drain(worker)
    clock.now = starts
    drain(worker)
    assert [m.text for m in slack.top_level("CED")][1:] == []  # the old window's reminders never went

    clock.now = later - timedelta(hours=1)
    drain(worker)
    assert "in 1 hour" in slack.top_level("CED")[-1].text


def test_the_shift_change_digest_goes_once_per_slot_and_channel_with_what_is_active_and_coming(
    seeded: Session, db_settings: Settings, db_engine: Engine, slack: FakeSlackWorkspace
) -> None:
    add_routes(seeded)
    morning = datetime(2026, 12, 3, 6, 50, tzinfo=UTC)
    outage(seeded, "Epic is slow in the ED", ["Epic"], ["ED"], morning)
    clock = Clock(morning)
    first = dispatcher(db_settings, db_engine, slack, clock, notice_digest_times="07:00,19:00")
    second = dispatcher(db_settings, db_engine, slack, clock, notice_digest_times="07:00,19:00")
    drain(first)
    clock.now = morning + timedelta(minutes=12)
    drain(first)
    drain(second)
    clock.now = morning + timedelta(minutes=20)
    drain(second)

    digests = [
        m for ch in ("CED", "CALL", "C4W", "CPACS") for m in slack.top_level(ch) if "Shift change" in m.text
    ]
    # CPACS takes no digest; 4 West has nothing active or coming, so it is not bothered.
    assert sorted(m.channel for m in digests) == ["CALL", "CED"]
    assert all("Epic is slow in the ED" in m.text and "07:00" in m.text for m in digests)


def test_got_it_is_counted_once_a_person_and_shown_on_the_next_edit(
    seeded: Session, db_settings: Settings, db_engine: Engine, slack: FakeSlackWorkspace
) -> None:
    add_routes(seeded)
    now = datetime.now(UTC)
    notice = open_notice(
        session=seeded,
        new=NewNotice(
            kind=NoticeKind.UPGRADE,
            title="Vocera upgrade",
            systems=["Epic"],
            sites=["ED"],
            starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=1),
        ),
        now=now,
    )
    seeded.commit()
    assert notice.id is not None
    worker = dispatcher(db_settings, db_engine, slack, notice_digest_times="")
    drain(worker)
    assert "Got it" in str(slack.top_level("CED")[0].blocks) and "0 people got it" in str(
        slack.top_level("CED")[0].blocks
    )

    counts = [
        acknowledge(session=seeded, notice_id=notice.id, channel="slack", user=user, now=now).count
        for user in ("U1", "U2", "U1")
    ]
    seeded.commit()
    update_notice(session=seeded, notice_id=notice.id, now=now + timedelta(minutes=1), body="Still on.")
    seeded.commit()
    drain(worker)

    assert counts == [1, 2, 2]
    assert "2 people got it" in str(slack.top_level("CED")[0].blocks)


def test_a_draft_from_monitoring_is_posted_only_once_it_is_confirmed_and_a_discarded_one_never(
    seeded: Session, db_settings: Settings, db_engine: Engine, slack: FakeSlackWorkspace
) -> None:
    add_routes(seeded)
    worker = dispatcher(db_settings, db_engine, slack)
    now = datetime.now(UTC)

    def draft(key: str) -> int:
        alert = Alert(key=key, source="prometheus", firing=True, systems=("Epic",), summary="Epic slow")
        notice = take_alert(session=seeded, settings=db_settings, alert=alert, now=now).notice
        seeded.commit()
        assert notice is not None and notice.id is not None
        return notice.id

    kept, dropped = draft("epic-latency"), draft("epic-errors")
    drain(worker)
    assert slack.succeeded("chat.postMessage") == []  # nobody is told of a draft

    confirm_draft(session=seeded, notice_id=kept, now=now, author="amy")
    discard_draft(session=seeded, notice_id=dropped, now=now, author="amy")
    seeded.commit()
    drain(worker)

    posts = slack.succeeded("chat.postMessage")
    assert sorted(c.body["channel"] for c in posts) == ["C4W", "CALL", "CED"]
    assert all(str(kept) in str(c.body) or "Epic slow" in str(c.body) for c in posts)
