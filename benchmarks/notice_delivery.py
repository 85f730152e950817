"""One outage notice to many Slack channels under Slack-like rate limits: time taken, lost, duplicated.

The fake Slack workspace (``tests/fakes/slack_workspace.py``) enforces on ``chat.postMessage`` one
post a channel a second and at most ``--per-second`` posts a second across the workspace, answering
anything faster with ``429`` and a whole-second ``Retry-After``, as Slack does. (Slack publishes the
per-channel limit; the workspace-wide one is unpublished, so it is a parameter.) ``--workers``
notice dispatchers (the worker's notices pass, ``bot.notices.dispatcher``) run as threads, each
with its own database engine, until every dispatch row is settled. Then the workspace's messages
are counted: channels without the post (lost) and posts carrying the same key twice (duplicated).
The database is SQLite in a temporary folder, or a fresh schema in the test PostgreSQL
(``--db postgresql``).

    .venv/bin/python benchmarks/notice_delivery.py [--channels 200] [--per-second 20] [--workers 1]
        [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.channels.slack.notice_sender import SlackNoticeSender, make_notice_client  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db import create_db_engine, init_db, session_factory  # noqa: E402
from bot.interactions.models import utcnow  # noqa: E402
from bot.notices.actions import NewNotice, open_notice  # noqa: E402
from bot.notices.delivery_models import DispatchStatus  # noqa: E402
from bot.notices.delivery_queries import list_dispatch, save_route  # noqa: E402
from bot.notices.dispatcher import NoticeDispatcher  # noqa: E402
from bot.notices.models import NoticeKind  # noqa: E402
from bot.notices.registry import ensure_seeded  # noqa: E402
from tests.databases import postgres_url, private_schema, sqlite_settings  # noqa: E402
from tests.fakes.slack_workspace import FakeSlackWorkspace, RateLimit  # noqa: E402

KB = ROOT / "knowledge"


@dataclass
class Result:
    """One run's figures."""

    seconds: float
    posted: int
    refused_429: int
    lost: int
    duplicated: int
    settled: dict[str, int]


@contextmanager
def database(kind: str, home: Path) -> Iterator[Settings]:
    """Settings on a fresh SQLite file or PostgreSQL schema."""
    if kind == "sqlite":
        yield sqlite_settings(home, kb=KB)
        return
    with private_schema(postgres_url()) as url:
        yield sqlite_settings(home, kb=KB, database_url=url)


def run(*, channels: int, per_second: int, workers: int, db: str) -> Result:
    """Post one notice to ``channels`` channels and measure it."""
    limits = {"chat.postMessage": RateLimit(per_channel_seconds=1.0, per_second=per_second)}
    with (
        tempfile.TemporaryDirectory() as home,
        database(db, Path(home)) as base,
        FakeSlackWorkspace(limits=limits) as slack,
    ):
        settings = base.model_copy(
            update={
                "slack_bot_token": "xoxb-bench",
                "slack_api_url": slack.api_url,
                "notice_digest_times": "",
            }
        )
        engine = create_db_engine(settings)
        init_db(settings, engine=engine)
        with session_factory(engine)() as session:
            ensure_seeded(session=session, kb=KB)
            for n in range(channels):
                save_route(
                    session=session,
                    channel="slack",
                    target=f"C{n:05d}",
                    label="",
                    systems=[],
                    sites=[],
                    digest=False,
                )
            notice = open_notice(
                session=session,
                new=NewNotice(kind=NoticeKind.OUTAGE, title="Epic is down on all units", systems=["Epic"]),
                now=utcnow(),
            )
            session.commit()
            notice_id = notice.id
        done = threading.Event()

        def work() -> None:
            own = create_db_engine(settings)
            dispatcher = NoticeDispatcher(
                settings,
                open_session=session_factory(own),
                senders={"slack": SlackNoticeSender(make_notice_client(settings))},
            )
            try:
                while not done.is_set():
                    if dispatcher.run_once() == 0:
                        time.sleep(0.05)
            finally:
                own.dispose()

        started = time.perf_counter()
        threads = [threading.Thread(target=work, name=f"dispatcher-{i}") for i in range(workers)]
        for thread in threads:
            thread.start()
        with session_factory(engine)() as session:
            while True:
                session.expire_all()
                rows = list_dispatch(session=session, notice_id=notice_id)
                session.commit()
                waiting = (DispatchStatus.PENDING, DispatchStatus.SENDING)
                if len(rows) == channels and all(r.status not in waiting for r in rows):
                    break
                time.sleep(0.02)
        seconds = time.perf_counter() - started
        done.set()
        for thread in threads:
            thread.join()
        settled: dict[str, int] = {}
        for row in rows:
            settled[row.status.value] = settled.get(row.status.value, 0) + 1
        engine.dispose()
        posted = slack.keys_posted()
        have = {key.split(":")[2] for key in posted}
        return Result(
            seconds=seconds,
            posted=sum(posted.values()),
            refused_429=sum(
                1 for c in slack.of("chat.postMessage") if c.response.get("error") == "ratelimited"
            ),
            lost=sum(1 for n in range(channels) if f"C{n:05d}" not in have),
            duplicated=sum(count - 1 for count in posted.values() if count > 1),
            settled=settled,
        )


def main() -> None:
    """Run once and print the table with the command that made it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--per-second", type=int, default=20, help="workspace-wide chat.postMessage limit")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    result = run(channels=args.channels, per_second=args.per_second, workers=args.workers, db=args.db)
    floor = max(args.channels / args.per_second, 0.0)
    print(
        f"$ python benchmarks/notice_delivery.py --channels {args.channels} --per-second {args.per_second} "
        f"--workers {args.workers} --db {args.db}"
    )
    print(
        f"{'channels':>8} {'limit/s':>7} {'workers':>7} {'db':>10} {'posted':>6} {'429s':>5} {'lost':>4} "
        f"{'dup':>4} {'seconds':>8} {'floor s':>7} {'settled'}"
    )
    print(
        f"{args.channels:>8} {args.per_second:>7} {args.workers:>7} {args.db:>10} {result.posted:>6} "
        f"{result.refused_429:>5} {result.lost:>4} {result.duplicated:>4} {result.seconds:>8.1f} "
        f"{floor:>7.1f} {result.settled}"
    )


if __name__ == "__main__":
    main()
