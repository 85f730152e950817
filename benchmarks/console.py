"""How fast the console's pages answer with 100,000 stored interactions.

Seeds a fresh database (SQLite in a temporary home, or ``--database-url``) with ``--interactions``
questions spread over 90 days (channels, decisions and feedback mixed; the unanswered ones worded
as in ``benchmarks/gaps/labelled.jsonl``), ``--tickets`` tickets with agent events, and a few
notices; starts itbot with uvicorn on loopback in a process of its own (the real assistant over the
shipped knowledge base, so the gap groups use the real encoder), signs in as an admin, requests
each page ``--warmup`` times untimed and then ``--requests`` times one after another, and prints
p50 and p99 per page, then the command that made the table.

    .venv/bin/python benchmarks/console.py [--interactions 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text as sql_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings
from bot.db import create_db_engine, init_db, session_factory
from bot.interactions.models import Feedback, Interaction
from bot.interactions.queries import insert_interactions
from bot.notices.actions import NewNotice, open_notice
from bot.notices.models import NoticeKind
from bot.notices.registry import ensure_seeded
from bot.tickets.models import AuthorRole, EventKind, Ticket, TicketEvent, TicketStatus
from bot.tickets.numbers import format_number

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password 1"
CHANNELS = ("slack", "slack", "slack", "teams", "web", "cli")
ARTICLES = [
    "ehr/epic-session-timeout",
    "printing/office-printer-offline",
    "accounts/password-reset",
    "network/wifi-guest",
    "devices/wow-battery",
    "remote/citrix-frozen",
]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _settings(home: Path, database_url: str) -> Settings:
    values: dict[str, object] = {"home": home, "kb": ROOT / "knowledge", "console_cookie_secure": False}
    if database_url:
        values["database_url"] = database_url
    return Settings.model_validate(values)


def seed(settings: Settings, *, interactions: int, tickets: int, rng: random.Random) -> dict[str, str]:
    """Fill the database; returns a ticket number and a notice id to time their pages."""
    unanswered = [
        json.loads(line)["text"]
        for line in (ROOT / "benchmarks" / "gaps" / "labelled.jsonl").read_text().splitlines()
        if line.strip()
    ]
    now = datetime.now(UTC)
    engine = create_db_engine(settings)
    init_db(settings, engine=engine)
    with session_factory(engine)() as session:
        batch: list[Interaction] = []
        for _ in range(interactions):
            at = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            roll = rng.random()
            decision = (
                "answer"
                if roll < 0.68
                else "clarify"
                if roll < 0.8
                else "escalate"
                if roll < 0.97
                else "outage"
            )
            article = rng.choice(ARTICLES) if decision == "answer" else None
            feedback = Feedback.NONE
            if decision == "answer":
                f = rng.random()
                feedback = Feedback.HELPFUL if f < 0.3 else Feedback.UNHELPFUL if f < 0.38 else Feedback.NONE
            text = (
                rng.choice(unanswered) if decision in ("clarify", "escalate") else "how do I fix this [NAME]"
            )
            batch.append(
                Interaction(
                    channel=rng.choice(CHANNELS),
                    user_id=f"U{rng.randrange(4000):05d}",
                    question=text,
                    decision=decision,
                    top_article=article,
                    top_score=0.7 if article else None,
                    citations=[{"article": article, "score": 0.7}] if article else [],
                    latency_ms=rng.randrange(20, 400),
                    created_at=at,
                    feedback=feedback,
                    feedback_at=at + timedelta(minutes=2) if feedback is not Feedback.NONE else None,
                )
            )
            if len(batch) == 5000:
                insert_interactions(session=session, rows=batch)
                batch = []
        insert_interactions(session=session, rows=batch)
        for n in range(1, tickets + 1):
            at = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
            resolved = rng.random() < 0.7
            ticket = Ticket(
                number=format_number(n),
                seq=n,
                summary=rng.choice(unanswered)[:200],
                requester=f"U{rng.randrange(4000):05d}",
                channel=rng.choice(CHANNELS),
                priority=rng.choice((1, 2, 3, 3, 3, 4)),
                status=TicketStatus.RESOLVED
                if resolved
                else rng.choice((TicketStatus.NEW, TicketStatus.OPEN)),
                assignee=rng.choice(("", "ann", "sam", "dana")),
                transcript=[{"role": "user", "text": "the printer is offline", "at": at.isoformat()}],
                created_at=at,
                updated_at=at,
                last_reported_at=at,
                resolved_at=at + timedelta(hours=rng.uniform(0.5, 30)) if resolved else None,
            )
            session.add(ticket)
            session.flush()
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    kind=EventKind.ASSIGNED,
                    author_role=AuthorRole.AGENT,
                    author="ann",
                    created_at=at + timedelta(minutes=rng.uniform(2, 240)),
                )
            )
        session.commit()
        ensure_seeded(session=session, kb=settings.kb)
        notice = open_notice(
            session=session,
            new=NewNotice(kind=NoticeKind.OUTAGE, title="Epic is slow", systems=["Epic"], body="Looking."),
            now=now,
        )
        session.commit()
        notice_id = str(notice.id)
    # The planner's statistics, as a running database has them (PostgreSQL's autovacuum would
    # analyse after such a load, given time; without them it scans the whole table for the gaps).
    with engine.begin() as connection:
        connection.execute(sql_text("ANALYZE"))
    engine.dispose()
    return {"ticket": format_number(tickets), "notice": notice_id}


def serve(home: Path, database_url: str, port: int) -> None:
    """The server process: itbot with the real assistant over the shipped knowledge base."""
    import uvicorn

    from bot.core.assistant import Assistant
    from bot.main import create_app
    from indexer.build import build_index
    from indexer.encoder import load_encoder

    settings = _settings(home, database_url)
    encoder = load_encoder(settings.model, cache_dir=settings.models_dir, max_tokens=settings.max_tokens)
    build_index(settings.kb, settings.index_root, encoder)
    app = create_app(settings, assistant=Assistant(settings, encoder=encoder), server=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


def _add_admin(settings: Settings) -> None:
    import io

    from bot.channels.cli.main import build_parser
    from bot.channels.cli.users import run as run_users

    args = build_parser().parse_args(["users", "add", "bench", "--role", "admin"])
    code = run_users(settings, args, io.StringIO(), io.StringIO(), io.StringIO(PASSWORD + "\n"))
    assert code == 0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def main() -> None:
    """Seed, serve, time each page, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="keep the seeded home here and reuse it on later runs (seeded once; default: a temporary one)",
    )
    parser.add_argument("--serve", nargs=2, metavar=("HOME", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), args.database_url, int(args.serve[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        settings = _settings(home, args.database_url)
        started = time.perf_counter()
        kept = home / "seeded.json"
        if kept.exists():
            ids = json.loads(kept.read_text())
        else:
            ids = seed(settings, interactions=args.interactions, tickets=args.tickets, rng=random.Random(7))
            _add_admin(settings)
            if args.home:
                kept.write_text(json.dumps(ids))
        seeded = time.perf_counter() - started
        port = 18000 + os.getpid() % 1000
        command = [sys.executable, __file__, "--serve", str(home), str(port)]
        if args.database_url:
            command += ["--database-url", args.database_url]
        server = subprocess.Popen(command, cwd=ROOT)
        try:
            rows = _time_pages(f"http://127.0.0.1:{port}", ids, args.requests, args.warmup, settings)
        finally:
            server.terminate()
            server.wait(timeout=30)
    backend = "postgresql" if args.database_url.startswith("postgresql") else "sqlite"
    print(
        f"{args.interactions:,} interactions, {args.tickets:,} tickets on {backend}",
        f"(seeded in {seeded:.0f} s)",
    )
    print(f"{'page':<72}{'p50 ms':>9}{'p99 ms':>9}")
    for name, times in rows:
        print(f"{name:<72}{statistics.median(times):>9.1f}{_percentile(times, 0.99):>9.1f}")
    print(f"\n$ {shlex.join(['.venv/bin/python', 'benchmarks/console.py', *sys.argv[1:]])}")


def _new_question(settings: Settings) -> Callable[[], None]:
    """A function that stores one more unanswered question now, as a channel would (the server's
    remembered counts of today are then out of date and are counted again)."""
    engine = create_db_engine(settings)
    rng = random.Random(11)

    def store() -> None:
        with session_factory(engine)() as session:
            row = Interaction(
                channel="web",
                user_id=f"U{rng.randrange(4000):05d}",
                question="the label printer prints blank labels",
                decision=rng.choice(("escalate", "answer")),
                top_article=None,
                citations=[],
                latency_ms=50,
            )
            insert_interactions(session=session, rows=[row])

    return store


def _time_pages(
    url: str, ids: dict[str, str], requests: int, warmup: int, settings: Settings
) -> list[tuple[str, list[float]]]:
    deadline = time.monotonic() + 600
    with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as client:
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.5)
        form = client.get("/console/login")
        token = _CSRF.search(form.text)
        assert token is not None
        signed = client.post(
            "/console/login", data={"name": "bench", "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert signed.status_code == 303, signed.text
        all_days = (datetime.now(UTC).date() - timedelta(days=89)).isoformat()
        pages = [
            ("/console/analytics (last 30 days)", "/console/analytics"),
            ("/console/analytics (all 90 days, 100k rows)", f"/console/analytics?start={all_days}"),
            ("/console/analytics/daily.csv (90 days)", f"/console/analytics/daily.csv?start={all_days}"),
            ("/console/gaps (30 days)", "/console/gaps"),
            ("/console/tickets", "/console/tickets"),
            ("/console/tickets?status=open&assignee=ann", "/console/tickets?status=open&assignee=ann"),
            ("/console/tickets/<number>", f"/console/tickets/{ids['ticket']}"),
            ("/console/notices", "/console/notices"),
            ("/console/notices/<id>", f"/console/notices/{ids['notice']}"),
            ("/console/articles (uses over all 100k rows)", "/console/articles"),
            ("/console/articles/<id> (editor)", "/console/articles/printing/office-printer-offline"),
            ("/console/drafts", "/console/drafts"),
            ("/console/audit", "/console/audit"),
            ("/console/users", "/console/users"),
        ]
        store = _new_question(settings)
        written = [
            ("/console/analytics (30 days), a new question stored before each view", "/console/analytics"),
            ("/console/articles, a new question stored before each view", "/console/articles"),
        ]
        rows = []
        for name, path in pages:
            for _ in range(warmup):
                assert client.get(path).status_code == 200, path
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, path
            rows.append((name, times))
        for name, path in written:
            times = []
            for _ in range(requests):
                store()  # not timed
                started = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, path
            rows.append((name, times))
        return rows


if __name__ == "__main__":
    main()
