"""Finding 3: a database that hangs (accepts connections, never answers) or is gone never stalls
answers, ``/healthz`` says what is degraded, and start-up fails with one clear line.

The hung database is a real "black hole" on 127.0.0.1 (``tests/fakes/database.py``): a listener
that accepts and never replies, alone or as the proxy in front of a real PostgreSQL that stops
answering while the server runs. Every wait is checked against a deadline, never slept out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.db import DatabaseUnavailable, create_db_engine
from bot.main import create_app
from tests.databases import postgres_settings, private_schema, require_postgres, sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.database import BlackHole, SwitchableProxy
from tests.fakes.slack_api import FakeSlackApi
from tests.live_server import LiveServer, free_port, serve
from tests.slack_payloads import BOT_TOKEN, SIGNING_SECRET, dm, event_body, post_event

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
CONNECT_TIMEOUT = 2  # the least libpq takes
# The live server's: long enough that a request waiting for one connection is told from one that doesn't.
SERVER_CONNECT_TIMEOUT = 4


def within(seconds: float, work: Callable[[], T]) -> tuple[float, T | BaseException]:
    """Run ``work`` in a thread; (how long it took, its result or error). Fails the test when it is
    still running after ``seconds`` (it is left to the black hole, as a daemon thread)."""
    outcome: list[T | BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still waiting on the database after {seconds} s"
    return time.monotonic() - started, outcome[0]


def black_hole_url(port: int) -> str:
    return f"postgresql+psycopg://itbot:s3cret@127.0.0.1:{port}/itbot"


# -- the engine's own waits ---------------------------------------------------------------------------


def test_a_hung_database_fails_a_connection_within_the_connect_timeout_then_at_once(tmp_path: Path) -> None:
    with BlackHole() as hole:
        settings = sqlite_settings(
            tmp_path,
            database_url=black_hole_url(hole.port),
            db_connect_timeout_seconds=CONNECT_TIMEOUT,
            db_retry_seconds=60,
        )
        engine = create_db_engine(settings)

        first_took, first = within(CONNECT_TIMEOUT + 4, engine.connect)
        again_took, again = within(1, engine.connect)

        assert isinstance(first, OperationalError) and first_took >= CONNECT_TIMEOUT - 0.5
        assert isinstance(again, DatabaseUnavailable) and again_took < 0.5
        assert hole.connections == 1
        engine.dispose()


def test_postgresql_connections_get_a_statement_timeout_and_keep_the_urls_own_options(
    tmp_path: Path,
) -> None:
    with postgres_settings(tmp_path, db_statement_timeout_seconds=4.0) as settings:
        engine = create_db_engine(settings)
        with engine.connect() as connection:
            statement_timeout = connection.execute(text("show statement_timeout")).scalar_one()
            search_path = connection.execute(text("show search_path")).scalar_one()
        engine.dispose()

    assert statement_timeout == "4s"
    assert search_path.startswith("itbot_test_")  # the URL's options=-csearch_path=... still applies
    assert engine.pool.timeout() == settings.db_pool_timeout_seconds  # type: ignore[attr-defined]


# -- a live server whose database hangs ---------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def hung(tmp_path: Path, slack: FakeSlackApi) -> Iterator[tuple[LiveServer, SwitchableProxy]]:
    """A live server on PostgreSQL through a proxy, after one good answer; then the database hangs
    and the pool is empty, so every request would need a new connection."""
    target = make_url(require_postgres())
    with (
        private_schema(require_postgres()) as url,
        SwitchableProxy(target.host or "127.0.0.1", target.port or 5432) as proxy,
    ):
        proxied = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = sqlite_settings(
            tmp_path,
            database_url=proxied,
            db_connect_timeout_seconds=SERVER_CONNECT_TIMEOUT,
            db_health_cache_seconds=0.5,
            db_retry_seconds=0.5,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
        )
        with serve(create_app(settings, assistant=FakeAssistant())) as live:
            assert ask(live, 0).json()["interaction_id"]  # the database answered
            live.app.state.engine.dispose()
            proxy.hang()
            yield live, proxy
            proxy.restore()


def ask(server: LiveServer, index: int) -> httpx.Response:
    body: dict[str, Any] = {"text": "epic won't let me log in", "user": f"web-nurse{index:04d}"}
    if index % 2:
        body["conversation"] = f"web-{index:032x}"
    return httpx.post(f"{server.url}/api/ask", json=body, timeout=30)


def test_parallel_answers_do_not_wait_on_a_hung_database(
    hung: tuple[LiveServer, SwitchableProxy], caplog: pytest.LogCaptureFixture
) -> None:
    server, _proxy = hung

    def timed(index: int) -> tuple[float, httpx.Response]:
        started = time.monotonic()
        response = ask(server, index)
        return time.monotonic() - started, response

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(timed, range(1, 13)))

    for took, response in results:
        assert response.status_code == 200 and response.json()["decision"] == "answer"
        assert took < SERVER_CONNECT_TIMEOUT + 4, f"an answer waited {took:.1f} s on the database"
    plain = [r.json() for _took, r in results if "conversation" not in r.json()]
    assert plain and all(body["interaction_id"] is None for body in plain)
    assert "won't let me log in" not in caplog.text


def test_healthz_says_the_database_is_unreachable_at_once_and_probes_it_once(
    hung: tuple[LiveServer, SwitchableProxy],
) -> None:
    server, proxy = hung
    swallowed = proxy.swallowed

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _i: within(4, lambda: httpx.get(f"{server.url}/healthz")), range(10)))

    for took, response in results:
        assert isinstance(response, httpx.Response) and response.status_code == 200
        body = response.json()
        assert (body["status"], body["database"]) == ("degraded", "unreachable")
        assert body["degraded"] == ["database"]
        assert body["index"]["articles"] == 3
        assert took < 3
    assert proxy.swallowed - swallowed <= 1  # one probe, however many checks

    proxy.restore()
    deadline = time.monotonic() + 15
    while httpx.get(f"{server.url}/healthz").json()["status"] != "ok":
        assert time.monotonic() < deadline, "healthz never saw the database come back"
        time.sleep(0.1)


def test_slack_acks_and_answers_without_waiting_on_a_hung_database(
    hung: tuple[LiveServer, SwitchableProxy], slack: FakeSlackApi
) -> None:
    server, _proxy = hung

    with httpx.Client(timeout=30) as http:
        started = time.monotonic()
        acked = post_event(http, server.url, event_body(dm("epic won't let me log in")))
        ack_took = time.monotonic() - started

    assert acked.status_code == 200 and ack_took < 2.5, f"the ack took {ack_took:.1f} s"
    [answer] = slack.wait_for("chat.postMessage", timeout=SERVER_CONNECT_TIMEOUT + 4)
    assert "Caps Lock" in str(answer.body.get("blocks"))


# -- start-up ---------------------------------------------------------------------------------------


def start(command: str, database_url: str, home: Path) -> subprocess.CompletedProcess[str]:
    ours = ("ITBOT_", "SLACK_", "DATABASE")
    environment = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    environment.update(
        PYTHONPATH=str(ROOT),
        HF_HUB_OFFLINE="1",
        ITBOT_HOME=str(home),
        DATABASE_URL=database_url,
        ITBOT_DB_CONNECT_TIMEOUT_SECONDS=str(CONNECT_TIMEOUT),
    )
    argv = [sys.executable, "-m", "bot.channels.cli.main", command]
    if command == "serve":
        argv += ["--port", str(free_port())]
    return subprocess.run(argv, env=environment, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize("database", ["closed port", "black hole"])
def test_an_unreachable_database_at_start_up_is_one_clear_line_and_a_failure(
    command: str, database: str, tmp_path: Path
) -> None:
    with BlackHole() as hole:
        port = hole.port if database == "black hole" else free_port()
        finished = start(command, black_hole_url(port), tmp_path)

    assert finished.returncode == 1
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    [line] = lines
    assert line.startswith(f"itbot {command}: can't reach the database at ")
    assert f"itbot:***@127.0.0.1:{port}/itbot" in line and "s3cret" not in line
    assert "check DATABASE_URL" in line and "Traceback" not in line


def test_settings_bound_every_database_wait_by_default() -> None:
    settings = Settings.model_validate({})

    assert 1 <= settings.db_connect_timeout_seconds <= 5
    assert 0 < settings.db_statement_timeout_seconds <= 30
    assert 0 < settings.db_pool_timeout_seconds <= 5
    assert 0 < settings.db_health_timeout_seconds <= 2
    assert 0 < settings.db_record_wait_seconds <= 2
