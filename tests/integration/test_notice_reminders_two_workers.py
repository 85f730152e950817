"""Upgrade reminders sent exactly once per channel by two ``itbot worker`` processes, both killed
(SIGKILL) in the middle of a batch and started again, on SQLite and PostgreSQL.

Real processes, the real console command, a fake Slack workspace that answers slowly (so the kill
lands with posts claimed, some in flight) and keeps every message with its metadata. The schedule
is squeezed into seconds: reminders 4 s and 2 s before a window that starts 6 s from now and lasts
2 s. The restarted workers take the killed workers' claims over once their lease ends, ask Slack
whether each was already posted, and post only what was not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.config import Settings
from bot.notices.actions import NewNotice, open_notice
from bot.notices.delivery_models import DispatchKind, DispatchStatus
from bot.notices.delivery_queries import list_dispatch, save_route
from bot.notices.models import NoticeKind
from bot.notices.registry import ensure_seeded
from tests.fakes.slack_workspace import FakeSlackWorkspace

ROOT = Path(__file__).resolve().parents[2]
KB = ROOT / "knowledge"
CHANNELS = [f"CWARD{n}" for n in range(8)]
LEASE_SECONDS = 2


@pytest.fixture
def slack() -> Iterator[FakeSlackWorkspace]:
    with FakeSlackWorkspace(latency=0.08) as fake:
        yield fake


def worker_env(settings: Settings, slack: FakeSlackWorkspace) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ITBOT_", "SLACK_")) and k != "DATABASE_URL"
    }
    env.update(
        {
            "ITBOT_HOME": str(settings.home),
            "ITBOT_KB": str(KB),
            "DATABASE_URL": settings.sqlalchemy_url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": slack.api_url,
            "ITBOT_NOTICE_REMINDERS": "4s,2s",
            "ITBOT_NOTICE_DIGEST_TIMES": "",
            "ITBOT_NOTICE_LEASE_SECONDS": str(LEASE_SECONDS),
            "ITBOT_WORKER_POLL_SECONDS": "0.1",
            "HF_HUB_OFFLINE": "1",
        }
    )
    return env


def start_workers(env: dict[str, str], count: int = 2) -> list[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "bot.channels.cli.main", "worker"]
    return [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]


def reminders_posted(slack: FakeSlackWorkspace) -> int:
    return sum(1 for key in slack.keys_posted() if ":remind:" in key)


def test_two_workers_killed_mid_batch_and_restarted_send_every_reminder_exactly_once(
    db_settings: Settings, session: Session, slack: FakeSlackWorkspace
) -> None:
    ensure_seeded(session=session, kb=KB)
    for channel in CHANNELS:
        save_route(
            session=session, channel="slack", target=channel, label="", systems=[], sites=[], digest=False
        )
    now = datetime.now(UTC)
    notice = open_notice(
        session=session,
        new=NewNotice(
            kind=NoticeKind.UPGRADE,
            title="Epic upgrade",
            systems=["Epic"],
            starts_at=now + timedelta(seconds=6),
            ends_at=now + timedelta(seconds=8),
        ),
        now=now,
    )
    session.commit()
    assert notice.id is not None
    env = worker_env(db_settings, slack)
    workers = start_workers(env)
    restarted: list[subprocess.Popen[str]] = []
    try:
        # Kill both in the middle of the first reminder's batch: some posts done, some claimed.
        deadline = time.monotonic() + 30
        while reminders_posted(slack) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
        killed_at = reminders_posted(slack)
        for worker in workers:
            worker.wait(timeout=10)
        restarted = start_workers(env)

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            session.expire_all()
            rows = list_dispatch(session=session, notice_id=notice.id)
            if len(rows) == len(CHANNELS) * 5 and all(r.status is DispatchStatus.SENT for r in rows):
                break
            time.sleep(0.2)
    finally:
        for worker in restarted:
            worker.send_signal(signal.SIGTERM)
        errors = [worker.communicate(timeout=30)[1] for worker in restarted]

    assert [w.returncode for w in restarted] == [0, 0], [e[-2000:] for e in errors]
    assert "Traceback" not in "".join(errors)
    assert 3 <= killed_at < len(CHANNELS) * 4  # the kill really came mid-way
    posted = slack.keys_posted()
    labels = ("post", "remind:4s", "remind:2s", "remind:start", "remind:end")
    for channel in CHANNELS:
        mine = {key: n for key, n in posted.items() if f":{channel}:" in key}
        assert sorted(mine.values()) == [1] * 5, (channel, mine)
        assert all(any(label in key for key in mine) for label in labels), (channel, mine)
    assert slack.duplicates() == {}
    rows = list_dispatch(session=session, notice_id=notice.id)
    assert sum(r.kind is DispatchKind.REMINDER for r in rows) == len(CHANNELS) * 4
    # The kill left claims behind that the restarted workers took over (and looked up first).
    assert any(r.attempts >= 2 for r in rows)
    assert slack.of("conversations.history")
