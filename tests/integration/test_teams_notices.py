"""Notices into Microsoft Teams over real HTTP, beside Slack, on SQLite and PostgreSQL: one card per
route that every update edits in place with a line in its thread, the connector's 429 and 5xx
retried by the notices queue, a retry after a crash finding the first post, the service URL taken
from stored conversation references, and "Got it" on an upgrade card counted and shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from bot.channels.senders import notice_senders
from bot.channels.slack.notice_sender import SlackNoticeSender, make_notice_client
from bot.channels.teams.notice_sender import TeamsNoticeSender
from bot.config import Settings
from bot.db import session_factory
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice, resolve_notice, update_notice
from bot.notices.delivery_models import DispatchStatus, NoticeAck
from bot.notices.delivery_queries import list_dispatch, save_route
from bot.notices.dispatcher import NoticeDispatcher
from bot.notices.models import NoticeKind, NoticeStatus
from bot.notices.queries import add_subscriber
from bot.notices.registry import ensure_seeded
from bot.notices.sender import NoticeMessage
from tests.fakes.assistant import FakeAssistant
from tests.fakes.slack_workspace import FakeSlackWorkspace
from tests.fakes.teams import FakeTeams
from tests.integration.test_teams_server import teams_options
from tests.live_server import serve
from tests.teams_payloads import button_data, click, post_activity

KB = Path(__file__).resolve().parents[2] / "knowledge"
ED_CHANNEL = "19:ed-staff@thread.tacv2"


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with FakeTeams() as fake:
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlackWorkspace]:
    with FakeSlackWorkspace() as fake:
        yield fake


@pytest.fixture
def settings(db_settings: Settings, teams: FakeTeams, slack: FakeSlackWorkspace) -> Settings:
    return db_settings.model_copy(
        update={
            **teams_options(teams),
            "teams_notice_service_url": teams.service_url,
            "slack_bot_token": "xoxb-test",
            "slack_api_url": slack.api_url,
        }
    )


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


def dispatcher(settings: Settings, engine: Engine, clock: Clock | None = None) -> NoticeDispatcher:
    sessions = session_factory(engine)
    return NoticeDispatcher(
        settings,
        open_session=sessions,
        senders={
            "slack": SlackNoticeSender(make_notice_client(settings)),
            "teams": TeamsNoticeSender.from_settings(settings, sessions=sessions),
        },
        clock=clock or (lambda: datetime.now(UTC)),
    )


def drain(worker: NoticeDispatcher, *, rounds: int = 50) -> None:
    for _ in range(rounds):
        if worker.run_once() == 0:
            return
    raise AssertionError("the queue did not drain")


def route(session: Session, channel: str, target: str) -> None:
    save_route(
        session=session, channel=channel, target=target, label="ED", systems=[], sites=["ED"], digest=False
    )
    session.commit()


def outage(session: Session, now: datetime, *, title: str = "Epic is slow in the ED") -> int:
    notice = open_notice(
        session=session,
        new=NewNotice(
            kind=NoticeKind.OUTAGE, title=title, systems=["Epic"], sites=["ED"], body="Use the paper log."
        ),
        now=now,
    )
    session.commit()
    assert notice.id is not None
    return notice.id


def test_the_migration_creates_the_teams_tables_as_the_models_describe(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    assert [d for d in diffs if "teams_" in repr(d)] == []


def test_the_worker_has_a_teams_notice_sender_when_teams_is_configured(
    settings: Settings, db_engine: Engine
) -> None:
    senders = notice_senders(settings, sessions=session_factory(db_engine))

    assert sorted(senders) == ["slack", "teams"]
    assert senders["teams"].channel == "teams"


def test_an_outage_routed_to_teams_and_slack_is_posted_in_both_and_every_update_edits_both(
    seeded: Session, settings: Settings, db_engine: Engine, teams: FakeTeams, slack: FakeSlackWorkspace
) -> None:
    route(seeded, "teams", ED_CHANNEL)
    route(seeded, "slack", "CED")
    start = datetime.now(UTC)
    notice_id = outage(seeded, start)
    worker = dispatcher(settings, db_engine)
    drain(worker)

    [post] = teams.wait_for("send")
    assert post.conversation == ED_CHANNEL
    assert "Outage" in post.card_text or "Known issue" in post.card_text
    assert "Epic is slow in the ED" in post.card_text and "Use the paper log." in post.card_text
    assert post.buttons == []
    [slack_post] = slack.top_level("CED")

    update_notice(
        session=seeded,
        notice_id=notice_id,
        now=start + timedelta(minutes=5),
        status=NoticeStatus.IDENTIFIED,
        body="A storage fault; the vendor is on it.",
    )
    seeded.commit()
    drain(worker)
    resolve_notice(
        session=seeded, notice_id=notice_id, now=start + timedelta(minutes=40), body="Back to normal."
    )
    seeded.commit()
    drain(worker)

    updates = teams.of("update")
    assert [u.activity_id for u in updates] == [post.posted_id] * 2
    assert "Resolved: Epic is slow in the ED" in updates[-1].card_text
    lines = teams.of("reply")
    assert [line.conversation for line in lines] == [f"{ED_CHANNEL};messageid={post.posted_id}"] * 2
    assert [line.activity_id for line in lines] == [post.posted_id] * 2
    assert "Identified: A storage fault" in lines[0].card_text and "Resolved" in lines[1].card_text
    assert len(teams.of("send")) == 1

    [slack_post] = slack.top_level("CED")
    assert slack_post.edits == 2 and "Resolved: Epic is slow in the ED" in str(slack_post.blocks)
    assert len(slack.thread("CED", slack_post.ts)) == 2
    statuses = {row.status for row in list_dispatch(session=seeded, notice_id=notice_id)}
    assert statuses == {DispatchStatus.SENT}


def test_a_rate_limited_or_failing_connector_is_retried_by_the_queue_and_posts_once(
    seeded: Session, settings: Settings, db_engine: Engine, teams: FakeTeams
) -> None:
    route(seeded, "teams", ED_CHANNEL)
    clock = Clock(datetime.now(UTC))
    notice_id = outage(seeded, clock.now)
    worker = dispatcher(settings, db_engine, clock)

    teams.fail_next(status=429, retry_after=30)
    worker.run_once()
    [row] = list_dispatch(session=seeded, notice_id=notice_id)
    assert row.status is DispatchStatus.PENDING and row.last_error == "http_429"
    assert row.due_at >= clock.now + timedelta(seconds=29)
    assert teams.posts() == []

    clock.now += timedelta(seconds=31)
    teams.fail_next(status=503)
    worker.run_once()
    seeded.expire_all()
    [row] = list_dispatch(session=seeded, notice_id=notice_id)
    assert row.status is DispatchStatus.PENDING and row.last_error == "http_503"

    clock.now += timedelta(minutes=5)
    drain(worker)
    seeded.expire_all()
    [row] = list_dispatch(session=seeded, notice_id=notice_id)
    assert row.status is DispatchStatus.SENT
    assert len(teams.of("send")) == 1


def test_a_retry_after_a_crash_finds_the_card_the_first_try_posted(
    settings: Settings, db_engine: Engine, teams: FakeTeams
) -> None:
    sender = TeamsNoticeSender.from_settings(settings, sessions=session_factory(db_engine))
    before = datetime.now(UTC) - timedelta(seconds=1)

    ref = sender.post(target=ED_CHANNEL, message=NoticeMessage(text="**Outage: PACS**"), key="n1:post")

    assert sender.find(target=ED_CHANNEL, key="n1:post", thread=None, since=before) == ref
    assert sender.find(target=ED_CHANNEL, key="n2:post", thread=None, since=before) is None
    assert sender.find(target="19:other@thread.tacv2", key="n1:post", thread=None, since=before) is None


def test_without_a_configured_service_url_the_one_of_a_stored_conversation_reference_is_used(
    seeded: Session, settings: Settings, db_engine: Engine, teams: FakeTeams
) -> None:
    notice_id = outage(seeded, datetime.now(UTC), title="PACS images slow")
    reference: dict[str, object] = {
        "service_url": teams.service_url,
        "conversation": f"{ED_CHANNEL};messageid=1",
    }
    add_subscriber(session=seeded, notice_id=notice_id, channel="teams", user="aad-1", reply_to=reference)
    seeded.commit()
    unset = settings.model_copy(update={"teams_notice_service_url": ""})
    sender = TeamsNoticeSender.from_settings(unset, sessions=session_factory(db_engine))

    assert sender.service_url_for(ED_CHANNEL) == teams.service_url
    sender.post(target=ED_CHANNEL, message=NoticeMessage(text="hello"), key="k")
    assert [c.conversation for c in teams.of("send")] == [ED_CHANNEL]


def test_a_stored_service_url_that_is_not_allowed_is_never_called(
    seeded: Session, settings: Settings, db_engine: Engine, teams: FakeTeams
) -> None:
    notice_id = outage(seeded, datetime.now(UTC), title="PACS images slow")
    reference: dict[str, object] = {
        "service_url": "https://evil.example/connector/",
        "conversation": ED_CHANNEL,
    }
    add_subscriber(session=seeded, notice_id=notice_id, channel="teams", user="aad-1", reply_to=reference)
    seeded.commit()
    unset = settings.model_copy(update={"teams_notice_service_url": ""})
    sender = TeamsNoticeSender.from_settings(unset, sessions=session_factory(db_engine))

    with pytest.raises(Exception) as refused:
        sender.post(target=ED_CHANNEL, message=NoticeMessage(text="hello"), key="k")
    assert getattr(refused.value, "permanent", False) is True
    assert teams.posts() == []


def test_got_it_on_an_upgrade_card_is_counted_once_a_person_and_the_card_shows_the_count(
    seeded: Session, settings: Settings, db_engine: Engine, teams: FakeTeams
) -> None:
    route(seeded, "teams", ED_CHANNEL)
    start = datetime.now(UTC)
    upgrade = open_notice(
        session=seeded,
        new=NewNotice(
            kind=NoticeKind.UPGRADE,
            title="Epic upgrade",
            systems=["Epic"],
            sites=["ED"],
            starts_at=start + timedelta(days=3),
            ends_at=start + timedelta(days=3, hours=2),
        ),
        now=start,
    )
    seeded.commit()
    drain(dispatcher(settings, db_engine))
    [card] = teams.wait_for("send", where=lambda c: "Epic upgrade" in c.card_text)
    assert card.buttons == ["Got it"] and "0 people got it" in card.card_text

    with serve(create_app(settings, assistant=FakeAssistant())) as server, httpx.Client(timeout=10) as http:
        in_thread = {"id": f"{ED_CHANNEL};messageid={card.posted_id}", "conversationType": "channel"}
        tap = click(teams, card, button_data(card, "Got it"), like={"conversation": in_thread})
        assert post_activity(http, server.url, teams, tap).status_code == 200
        [first] = teams.wait_for("update")
        again = click(teams, card, button_data(card, "Got it"), like={"conversation": in_thread})
        post_activity(http, server.url, teams, again)
        second = teams.wait_for("update", count=2)[1]

    assert first.activity_id == card.posted_id and "1 person got it" in first.card_text
    assert first.buttons == ["Got it"]
    assert "1 person got it" in second.card_text  # the same person twice is still one
    acks = seeded.exec(select(NoticeAck).where(NoticeAck.notice_id == upgrade.id)).all()
    assert [(a.channel, a.user) for a in acks] == [("teams", "aad-nurse-1")]
