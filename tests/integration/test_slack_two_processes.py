"""Two server processes share one PostgreSQL database, and Slack delivers the same event to both
(a retry landing on the other process behind a load balancer): the person gets one answer."""

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
from tests.fakes.slack_api import FakeSlackApi
from tests.live_server import free_port
from tests.slack_payloads import BOT_TOKEN, SIGNING_SECRET, dm, event_body, post_event

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


@contextmanager
def server_process(settings: Settings, slack: FakeSlackApi) -> Iterator[str]:
    """``tests.app_process`` on a free port with ``settings``' database; yields its base URL."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "ITBOT_HOME": str(settings.home),
            "DATABASE_URL": settings.sqlalchemy_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
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


def test_the_same_event_at_two_processes_is_answered_once(tmp_path: Path) -> None:
    with FakeSlackApi() as slack, postgres_settings(tmp_path) as settings, ExitStack() as stack:
        first = stack.enter_context(server_process(settings, slack))
        second = stack.enter_context(server_process(settings, slack))
        bodies = [event_body(dm(f"epic password question {n}")) for n in range(10)]

        with httpx.Client(timeout=10) as client, ThreadPoolExecutor(max_workers=4) as pool:
            deliveries = [(url, body) for body in bodies for url in (first, second, first, second)]
            statuses = list(pool.map(lambda d: post_event(client, d[0], d[1]).status_code, deliveries))

        assert set(statuses) == {200}
        slack.wait_for("chat.postMessage", count=len(bodies))
        slack.settle(quiet=0.5)
        assert len(slack.of("chat.postMessage")) == len(bodies)
