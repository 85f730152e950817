"""Two server processes share one PostgreSQL database, and Teams delivers the same activity to both
(a redelivery landing on the other process behind a load balancer): the person gets one answer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from tests.databases import postgres_settings
from tests.fakes.teams import APP_ID, APP_PASSWORD, TENANT_ID, FakeTeams
from tests.live_server import free_port
from tests.teams_payloads import personal, post_activity

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


@contextmanager
def server_process(settings: Settings, teams: FakeTeams) -> Iterator[str]:
    """``tests.app_process`` on a free port with ``settings``' database and Teams on; yields its URL."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "ITBOT_HOME": str(settings.home),
            "DATABASE_URL": settings.sqlalchemy_url,
            "TEAMS_APP_ID": APP_ID,
            "TEAMS_APP_PASSWORD": APP_PASSWORD,
            "TEAMS_APP_TENANT_ID": TENANT_ID,
            "ITBOT_TEAMS_OPENID_METADATA_URL": teams.openid_url,
            "ITBOT_TEAMS_TOKEN_URL": teams.token_url,
            "ITBOT_TEAMS_SERVICE_URLS": teams.service_url,
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.app_process", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {process.stderr.read() if process.stderr else ''}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_same_activity_at_two_processes_is_answered_once(tmp_path: Path) -> None:
    with FakeTeams() as teams, postgres_settings(tmp_path) as settings, ExitStack() as stack:
        first = stack.enter_context(server_process(settings, teams))
        second = stack.enter_context(server_process(settings, teams))
        activities = [personal(teams, f"epic password question {n}", chat=f"a:chat-{n}") for n in range(10)]

        with httpx.Client(timeout=10) as client, ThreadPoolExecutor(max_workers=4) as pool:
            deliveries = [(url, a) for a in activities for url in (first, second, first, second)]
            statuses = list(
                pool.map(lambda d: post_activity(client, d[0], teams, d[1]).status_code, deliveries)
            )

        assert set(statuses) == {200}
        teams.wait_for("reply", count=len(activities))
        teams.settle(quiet=0.5)
        assert sorted(c.conversation for c in teams.posts()) == sorted(
            a["conversation"]["id"] for a in activities
        )
