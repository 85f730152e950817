"""Outbox delivery: throughput, and the delay from escalation committed to the ticket at the desk.

One ``itbot worker`` process (the console command, as the Procfile runs it) forwards to the fake
ServiceNow from ``tests/fakes/itsm.py`` on loopback (no added latency), for SQLite and PostgreSQL:

* throughput: a burst of tickets committed in one transaction while the worker idles; messages per
  second from the first incident created at the desk to the last;
* delay: tickets committed one by one at a steady rate (each its own transaction, as escalations
  are); for each, the time from its commit to its incident existing at the desk, p50 and p99. It is
  bounded below by the worker's poll interval (``ITBOT_WORKER_POLL_SECONDS``), so both the default
  (1 s) and a shorter one are measured.

PostgreSQL is ``ITBOT_TEST_POSTGRES_URL`` (default trust auth on 127.0.0.1:5432, database ``test``),
in a private schema dropped afterwards; when it cannot be reached its rows say so.

    .venv/bin/python benchmarks/outbox.py [--burst 1000] [--paced 100] [--rate 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.db import create_db_engine, init_db, session_factory  # noqa: E402
from bot.tickets.outbox import enqueue  # noqa: E402
from tests.databases import postgres_url as test_postgres_url  # noqa: E402
from tests.databases import private_schema  # noqa: E402
from tests.fakes.itsm import FakeServiceNow, ticket_payload  # noqa: E402

POLLS = (1.0, 0.1)


@contextmanager
def sqlite_url(home: Path) -> Iterator[str]:
    """A SQLite file in ``home``."""
    yield f"sqlite:///{home / 'itbot.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test PostgreSQL, dropped afterwards; raises ``psycopg.Error`` if absent."""
    with private_schema(test_postgres_url(), prefix="itbot_bench") as url:
        yield url


@contextmanager
def worker(settings: Settings, desk: FakeServiceNow, poll: float) -> Iterator[None]:
    """``itbot worker`` running against ``settings``' database and ``desk``; SIGTERM at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITBOT_") and k != "DATABASE_URL"}
    env.update(
        {
            "ITBOT_HOME": str(settings.home),
            "DATABASE_URL": settings.sqlalchemy_url,
            "ITBOT_ITSM_KIND": "servicenow",
            "ITBOT_ITSM_URL": desk.url,
            "ITBOT_ITSM_USERNAME": desk.username,
            "ITBOT_ITSM_PASSWORD": desk.password,
            "ITBOT_WORKER_POLL_SECONDS": str(poll),
            "HF_HUB_OFFLINE": "1",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.channels.cli.main", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2.0)  # started and idle: the imports are not what is measured
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wait_for_incidents(desk: FakeServiceNow, count: int, timeout: float = 300.0) -> None:
    """Wait until ``desk`` holds ``count`` incidents."""
    desk.wait_until(lambda: len(desk.incidents) >= count, timeout=timeout)


def measure(url: str, home: Path, *, burst: int, paced: int, rate: float) -> list[tuple[str, str, str, str]]:
    """(poll, throughput, p50, p99) rows for one database."""
    rows = []
    for poll in POLLS:
        run_home = home / f"poll-{poll}"
        run_home.mkdir(parents=True)
        settings = Settings.model_validate({"home": run_home, "database_url": url})
        engine = create_db_engine(settings)
        init_db(settings, engine=engine)
        open_session = session_factory(engine)
        with FakeServiceNow() as desk, worker(settings, desk, poll):
            # Throughput: one burst, one commit.
            with open_session() as session:
                for n in range(burst):
                    number = f"IT-{poll}-B{n:06d}"
                    enqueue(
                        session=session,
                        target="itsm",
                        topic="ticket.created",
                        payload=ticket_payload(number),
                        idempotency_key=f"{number}:created",
                        ticket_id=number,
                    )
                session.commit()
            wait_for_incidents(desk, burst)
            # From the first incident to the last: the wait for the worker's next poll is the delay's part.
            arrivals = sorted(float(i["created_at"]) for i in desk.incidents.values())
            throughput = (burst - 1) / (arrivals[-1] - arrivals[0])
            # Delay: one ticket a commit, at a steady rate.
            commits: dict[str, float] = {}
            with open_session() as session:
                for n in range(paced):
                    number = f"IT-{poll}-P{n:06d}"
                    enqueue(
                        session=session,
                        target="itsm",
                        topic="ticket.created",
                        payload=ticket_payload(number),
                        idempotency_key=f"{number}:created",
                        ticket_id=number,
                    )
                    session.commit()
                    commits[f"{number}:created"] = time.monotonic()
                    time.sleep(1.0 / rate)
            wait_for_incidents(desk, burst + paced)
            arrived = {str(i["correlation_id"]): float(i["created_at"]) for i in desk.incidents.values()}
            delays = sorted((arrived[key] - at) * 1000 for key, at in commits.items())
            counts = desk.created_by_correlation()
            assert set(counts.values()) == {1}, "a ticket was created twice"
        engine.dispose()
        p50 = statistics.median(delays)
        p99 = delays[min(len(delays) - 1, round(0.99 * (len(delays) - 1)))]
        rows.append((f"{poll:g} s", f"{throughput:.0f} msg/s", f"{p50:.0f} ms", f"{p99:.0f} ms"))
    return rows


def main() -> int:
    """Measure both databases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000, help="tickets in the throughput burst")
    parser.add_argument("--paced", type=int, default=100, help="tickets committed one by one for the delay")
    parser.add_argument("--rate", type=float, default=20.0, help="paced tickets per second")
    args = parser.parse_args()
    table: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, database in (("SQLite", sqlite_url(Path(tmp))), ("PostgreSQL", postgres_url())):
            try:
                with database as url:
                    for row in measure(
                        url, Path(tmp) / name, burst=args.burst, paced=args.paced, rate=args.rate
                    ):
                        table.append((name, *row))
            except psycopg.OperationalError as exc:
                print(f"{name} skipped: not reachable ({type(exc).__name__})", file=sys.stderr)
                table.append((name, "-", "skipped: PostgreSQL not reachable", "-", "-"))
    command = "# command: .venv/bin/python benchmarks/outbox.py"
    if (args.burst, args.paced, args.rate) != (1000, 100, 20.0):
        command += f" --burst {args.burst} --paced {args.paced} --rate {args.rate:g}"
    print("# Outbox delivery: one `itbot worker` process -> fake ServiceNow on loopback")
    print(command)
    print(
        f"# throughput: a burst of {args.burst} tickets in one commit; delay: {args.paced} tickets "
        f"committed one by one at {args.rate:g}/s, commit -> incident created at the desk"
    )
    print()
    print("| database | worker poll | throughput | delay p50 | delay p99 |")
    print("|---|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
