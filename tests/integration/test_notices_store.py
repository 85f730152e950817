"""Notices on real databases (SQLite and PostgreSQL): the schema the migration makes, the registry
seeded from the knowledge folder, and IT's actions, each refused without writing anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import Session, SQLModel

from bot.config import Settings
from bot.db import alembic_config
from bot.notices.actions import NewNotice, add_registry_system, open_notice, resolve_notice, update_notice
from bot.notices.errors import BadScheduleError, BadTransitionError, NoticeNotFoundError, UnknownSystemError
from bot.notices.lifecycle import system_states
from bot.notices.models import Impact, NoticeKind, NoticeStatus, SystemState
from bot.notices.queries import add_subscriber, list_notices, list_systems, list_updates, untold_subscribers
from bot.notices.registry import ensure_seeded

NOTICE_TABLES = ("notice", "notice_event", "notice_subscriber", "notice_delivery", "notice_system")
KB = Path(__file__).resolve().parents[2] / "knowledge"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def seeded(session: Session) -> Session:
    ensure_seeded(session=session, kb=KB)
    session.commit()
    return session


def outage(session: Session, *systems: str, title: str = "Epic is slow") -> int:
    notice = open_notice(
        session=session,
        new=NewNotice(
            kind=NoticeKind.OUTAGE, title=title, systems=systems or ("Epic",), body="Slow everywhere."
        ),
        now=NOW,
    )
    session.commit()
    assert notice.id is not None
    return notice.id


def test_migrations_create_the_notice_tables_as_the_models_describe(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    assert [d for d in diffs if any(t in repr(d) for t in NOTICE_TABLES)] == []


def test_the_registry_is_seeded_once_from_the_articles_systems_with_glossary_aliases(
    session: Session,
) -> None:
    added = ensure_seeded(session=session, kb=KB)

    systems = {s.name: s.aliases for s in list_systems(session=session)}
    assert added == len(systems) and "Epic" in systems and "Citrix Workspace" in systems
    assert {"emr", "hyperspace"} <= set(systems["Epic"])
    assert ensure_seeded(session=session, kb=KB) == 0


def test_a_notice_is_stored_with_its_first_update_and_names_systems_as_the_registry_spells_them(
    seeded: Session,
) -> None:
    notice_id = outage(seeded, "emr", "citrix workspace")

    [stored] = list_notices(session=seeded)
    assert (stored.id, stored.status, stored.systems) == (
        notice_id,
        NoticeStatus.INVESTIGATING,
        ["Epic", "Citrix Workspace"],
    )
    assert [u.status for u in list_updates(session=seeded, notice_ids=[notice_id])] == [
        NoticeStatus.INVESTIGATING
    ]


def test_an_unknown_system_is_refused_with_the_closest_name_and_nothing_is_written(seeded: Session) -> None:
    with pytest.raises(UnknownSystemError) as refused:
        outage(seeded, "Epic", "Citrx Workspace")

    assert "Citrix Workspace" in refused.value.user_message
    seeded.rollback()
    assert list_notices(session=seeded) == []


def test_updates_follow_the_lifecycle_and_are_kept_in_order(seeded: Session) -> None:
    notice_id = outage(seeded)
    later = NOW + timedelta(minutes=20)
    update_notice(
        session=seeded,
        notice_id=notice_id,
        now=later,
        status=NoticeStatus.IDENTIFIED,
        body="A storage array is slow.",
        next_update_at=later + timedelta(minutes=30),
    )
    resolve_notice(session=seeded, notice_id=notice_id, now=later + timedelta(hours=1), body="Fixed.")
    seeded.commit()

    [stored] = list_notices(session=seeded)
    assert (
        stored.status is NoticeStatus.RESOLVED
        and stored.closed_at is not None
        and stored.next_update_at is None
    )
    bodies = [(u.status, u.body) for u in list_updates(session=seeded, notice_ids=[notice_id])]
    assert bodies == [
        (NoticeStatus.INVESTIGATING, "Slow everywhere."),
        (NoticeStatus.IDENTIFIED, "A storage array is slow."),
        (NoticeStatus.RESOLVED, "Fixed."),
    ]


def test_resolving_a_resolved_notice_is_refused(seeded: Session) -> None:
    notice_id = outage(seeded)
    resolve_notice(session=seeded, notice_id=notice_id, now=NOW)
    seeded.commit()

    with pytest.raises(BadTransitionError) as refused:
        resolve_notice(session=seeded, notice_id=notice_id, now=NOW)
    assert "already resolved" in refused.value.user_message


def test_an_outage_cannot_take_an_upgrade_status(seeded: Session) -> None:
    notice_id = outage(seeded)
    with pytest.raises(BadTransitionError):
        update_notice(session=seeded, notice_id=notice_id, now=NOW, status=NoticeStatus.IN_PROGRESS)


def test_an_unknown_notice_is_not_found(seeded: Session) -> None:
    with pytest.raises(NoticeNotFoundError):
        resolve_notice(session=seeded, notice_id=999, now=NOW)


@pytest.mark.parametrize(
    ("starts", "ends"),
    [(timedelta(hours=-2), timedelta(hours=1)), (timedelta(hours=2), timedelta(hours=1)), (None, None)],
    ids=["starts-in-the-past", "ends-before-it-starts", "no-window"],
)
def test_an_upgrade_needs_a_window_from_now_on(
    seeded: Session, starts: timedelta | None, ends: timedelta | None
) -> None:
    new = NewNotice(
        kind=NoticeKind.UPGRADE,
        title="Epic upgrade",
        systems=["Epic"],
        starts_at=NOW + starts if starts is not None else None,
        ends_at=NOW + ends if ends is not None else None,
    )
    with pytest.raises(BadScheduleError):
        open_notice(session=seeded, new=new, now=NOW)
    seeded.rollback()
    assert list_notices(session=seeded) == []


def test_system_states_follow_the_active_notices(seeded: Session) -> None:
    open_notice(
        session=seeded,
        new=NewNotice(kind=NoticeKind.OUTAGE, title="Vocera down", systems=["Vocera"], impact=Impact.DOWN),
        now=NOW,
    )
    open_notice(
        session=seeded,
        new=NewNotice(
            kind=NoticeKind.UPGRADE,
            title="Citrix upgrade",
            systems=["Citrix Workspace"],
            starts_at=NOW + timedelta(hours=1),
            ends_at=NOW + timedelta(hours=2),
        ),
        now=NOW,
    )
    seeded.commit()
    names = [s.name for s in list_systems(session=seeded)]

    now_states = system_states(names, list_notices(session=seeded, open_only=True), NOW)
    in_window = system_states(
        names, list_notices(session=seeded, open_only=True), NOW + timedelta(minutes=90)
    )
    assert (now_states["Vocera"], now_states["Citrix Workspace"], now_states["Epic"]) == (
        SystemState.DOWN,
        SystemState.OPERATIONAL,
        SystemState.OPERATIONAL,
    )
    assert in_window["Citrix Workspace"] is SystemState.UPGRADE_WINDOW


def test_a_system_added_by_hand_can_be_named_by_its_alias(seeded: Session) -> None:
    add_registry_system(session=seeded, name="Lab system", aliases=["beaker", "lis"])
    seeded.commit()

    notice_id = outage(seeded, "LIS", title="Lab results delayed")
    [stored] = [n for n in list_notices(session=seeded) if n.id == notice_id]
    assert stored.systems == ["Lab system"]


def test_an_alias_already_naming_another_system_is_refused(seeded: Session) -> None:
    from bot.notices.errors import NoticeError

    with pytest.raises(NoticeError) as refused:
        add_registry_system(session=seeded, name="Hyperspace client", aliases=["emr"])
    assert "Epic" in refused.value.user_message


def test_a_person_subscribes_once_however_often_they_ask(seeded: Session) -> None:
    notice_id = outage(seeded)
    for _ in range(2):
        add_subscriber(
            session=seeded,
            notice_id=notice_id,
            channel="slack",
            user="U1",
            reply_to={"channel": "C1", "thread_ts": "1.0"},
        )
    seeded.commit()

    assert [s.user for s in untold_subscribers(session=seeded, notice_id=notice_id)] == ["U1"]


def test_the_notices_migration_goes_down_to_0005_and_up_again(
    db_settings: Settings, db_engine: Engine
) -> None:
    def step(target: str, down: bool) -> set[str]:
        with db_engine.begin() as connection:
            config = alembic_config(db_settings)
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, target)
        return set(inspect(db_engine).get_table_names())

    assert not set(NOTICE_TABLES) & step("0005", down=True)
    assert set(NOTICE_TABLES) <= step("head", down=False)
