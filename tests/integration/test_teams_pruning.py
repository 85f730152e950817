"""The worker prunes the Teams tables on a slow cadence (SQLite and PostgreSQL): claims older than
``teams_claim_retention_hours`` go, cards and notice posts older than ``teams_card_retention_days``
go, newer rows stay; the pass then waits an hour before pruning again, and ``itbot worker`` runs it
whenever Teams is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.channels.teams.models import TeamsActivity, TeamsCard, TeamsNoticePost, activity_key
from bot.channels.teams.pruning import TeamsPruner
from bot.config import Settings
from bot.db import session_factory
from bot.interactions.models import utcnow
from bot.tickets.worker import run_worker

ROOT = Path(__file__).resolve().parents[2]


class Timer:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def add_rows(session: Session, now: datetime) -> None:
    """Claims 1 hour and 3 days old; cards and notice posts 1 day and 40 days old."""
    for age, name in ((timedelta(hours=1), "new"), (timedelta(days=3), "old")):
        session.add(TeamsActivity(key=activity_key("c", name), activity_id=name, received_at=now - age))
    for age, name in ((timedelta(days=1), "new"), (timedelta(days=40), "old")):
        session.add(
            TeamsCard(key=activity_key("c", name), card={"type": "AdaptiveCard"}, posted_at=now - age)
        )
        session.add(TeamsNoticePost(key=activity_key("c", name), ref=name, posted_at=now - age))
    session.commit()


def kept(session: Session) -> tuple[list[str], list[str], list[str]]:
    session.expire_all()
    return (
        [a.activity_id for a in session.exec(select(TeamsActivity))],
        [c.key for c in session.exec(select(TeamsCard))],
        [p.ref for p in session.exec(select(TeamsNoticePost))],
    )


def test_old_claims_cards_and_notice_posts_go_and_the_pass_waits_an_hour_before_pruning_again(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    now = utcnow()
    add_rows(session, now)
    timer = Timer()
    pruner = TeamsPruner(db_settings, open_session=session_factory(db_engine), clock=lambda: now, timer=timer)

    assert run_worker(db_settings, senders={}, once=True, engine=db_engine, passes=[pruner.run_once]) == 0

    claims, cards, posts = kept(session)
    assert claims == ["new"] and cards == [activity_key("c", "new")] and posts == ["new"]
    older = TeamsActivity(
        key=activity_key("c", "older"), activity_id="older", received_at=now - timedelta(days=9)
    )
    session.add(older)
    session.commit()
    timer.now += 600
    assert pruner.run_once() == 0  # not due yet
    assert "older" in kept(session)[0]
    timer.now += 3600
    assert pruner.run_once() == 1
    assert kept(session)[0] == ["new"]


def test_itbot_worker_prunes_the_teams_tables_when_teams_is_configured(
    db_settings: Settings, db_engine: Engine, session: Session
) -> None:
    add_rows(session, utcnow())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ITBOT_", "TEAMS_", "SLACK_"))}
    env.update(
        {
            "ITBOT_HOME": str(db_settings.home),
            "DATABASE_URL": db_settings.sqlalchemy_url,
            "HF_HUB_OFFLINE": "1",
            "TEAMS_APP_ID": "00000000-aaaa-4bbb-8ccc-000000000001",
            "TEAMS_APP_PASSWORD": "test-secret",
        }
    )

    done = subprocess.run(
        [sys.executable, "-m", "bot.channels.cli.main", "worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "event=teams_pruned rows=3" in done.stderr
    claims, cards, posts = kept(session)
    assert claims == ["new"] and len(cards) == 1 and posts == ["new"]
