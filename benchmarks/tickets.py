"""Tickets: how fast escalations become tickets, and how well duplicate folding groups reports.

* opens per second: the full open path as the escalation flow runs it (``start_escalation`` on a stored
  conversation that already says where, which device and how urgent: transcript, details, priority,
  the folding check against every open ticket of the last hour, history, reporter, the service-desk
  and triage outbox messages, the conversation's new turns, one commit each), single-threaded, for
  SQLite and PostgreSQL. Twice: "distinct problems" (each one a new ticket; the folding check
  compares it with a growing number of open tickets) and "the reports replayed" (the 196 reports of
  ``benchmarks/tickets/reports.jsonl`` over and over, all at once, so most fold into earlier ones).
* folding quality: the rule of ``bot.tickets.folding`` applied to the reports of one split in time
  order (each report joins an open incident or starts its own), scored as pairwise precision and
  recall against the labelled incidents. The window and thresholds were tuned on ``dev``; report
  ``test``.

PostgreSQL is ``ITBOT_TEST_POSTGRES_URL`` (default trust auth on 127.0.0.1:5432, database ``test``),
in a private schema dropped afterwards; when it cannot be reached its row says so.

    .venv/bin/python benchmarks/tickets.py [--opens 300] [--split dev|test]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.conversations.models import Turn  # noqa: E402
from bot.conversations.queries import add_turns  # noqa: E402
from bot.db import create_db_engine, init_db, session_factory  # noqa: E402
from bot.tickets import folding  # noqa: E402
from bot.tickets.escalation import start_escalation  # noqa: E402
from tests.databases import postgres_url as test_postgres_url  # noqa: E402
from tests.databases import private_schema  # noqa: E402

REPORTS = ROOT / "benchmarks" / "tickets" / "reports.jsonl"
DETAILS = ["on 4 West, wow 12, no patient waiting", "in the ED bay 3, asset 48213, patient waiting"]


def load_reports(split: str | None = None) -> list[dict[str, Any]]:
    """The labelled reports (of one split), oldest first."""
    with REPORTS.open(encoding="utf-8") as src:
        rows = [json.loads(line) for line in src if line.strip()]
    chosen = [r for r in rows if split is None or r["split"] == split]
    return sorted(chosen, key=lambda r: (r["at"], r["id"]))


def fold_all(reports: list[dict[str, Any]]) -> dict[str, str]:
    """Each report's incident key when the folding rule sees them in time order."""
    incidents: list[folding.OpenIncident] = []
    assigned: dict[str, str] = {}
    for r in reports:
        at = datetime.fromisoformat(r["at"].replace("Z", "+00:00"))
        report = folding.Report(text=r["text"], system=r["system"], article=r["article"], at=at)
        chosen = folding.choose_incident(report, incidents)
        if chosen is None:
            system = folding.canonical_system(r["system"], r["text"])
            incidents.append(folding.OpenIncident(r["id"], system, r["article"], (r["text"],), at))
            assigned[r["id"]] = r["id"]
            continue
        index = incidents.index(chosen)
        incidents[index] = replace(
            chosen, texts=(*chosen.texts, r["text"]), last_reported_at=max(at, chosen.last_reported_at)
        )
        assigned[r["id"]] = chosen.key
    return assigned


@dataclass(frozen=True)
class PairScore:
    """Pairwise folding quality: pairs put together rightly, wrongly, and missed."""

    true_pairs: int
    false_pairs: int
    missed_pairs: int
    reports: int
    incidents: int
    tickets: int

    @property
    def precision(self) -> float:
        """Of the pairs folded together, the share that belong together."""
        folded = self.true_pairs + self.false_pairs
        return self.true_pairs / folded if folded else 1.0

    @property
    def recall(self) -> float:
        """Of the pairs that belong together, the share folded together."""
        wanted = self.true_pairs + self.missed_pairs
        return self.true_pairs / wanted if wanted else 1.0


def score(split: str) -> PairScore:
    """Fold one split's reports and score every pair of them."""
    reports = load_reports(split)
    assigned = fold_all(reports)
    true_pairs = false_pairs = missed = 0
    for a, b in itertools.combinations(reports, 2):
        same = a["incident"] == b["incident"]
        together = assigned[a["id"]] == assigned[b["id"]]
        true_pairs += same and together
        false_pairs += together and not same
        missed += same and not together
    return PairScore(
        true_pairs,
        false_pairs,
        missed,
        reports=len(reports),
        incidents=len({r["incident"] for r in reports}),
        tickets=len(set(assigned.values())),
    )


@contextmanager
def sqlite_url(home: Path) -> Iterator[str]:
    """A SQLite file in ``home``."""
    yield f"sqlite:///{home / 'itbot.db'}"


@contextmanager
def postgres_url(_home: Path) -> Iterator[str]:
    """A fresh schema in the test PostgreSQL, dropped afterwards; raises ``psycopg.Error`` if absent."""
    with private_schema(test_postgres_url(), prefix="itbot_bench") as url:
        yield url


def open_many(settings: Settings, count: int, *, distinct: bool) -> tuple[float, list[float], int]:
    """Open ``count`` escalations one by one: (total seconds, each one's seconds, tickets made).

    ``distinct``: each escalation names a system of its own, so none folds and every one is a new
    ticket (the folding check still compares it with every open ticket of the last hour).
    """
    engine = create_db_engine(settings)
    init_db(settings, engine=engine)
    reports = load_reports()
    timings: list[float] = []
    numbers: set[str] = set()
    try:
        with session_factory(engine)() as session:
            conversations = []
            for n in range(count):
                r = reports[n % len(reports)]
                text = f"{r['text']} {DETAILS[n % len(DETAILS)]}"
                if distinct:
                    text = f"problem number {n}: {text}"
                conversations.append(
                    add_turns(
                        session=session,
                        channel="slack",
                        thread_key=f"C{n % 9}:{n}.0",
                        user_id=f"U{n:05d}",
                        turns=[Turn(role="user", text=text)],
                    )
                )
            started = time.perf_counter()
            for n, conversation in enumerate(conversations):
                r = reports[n % len(reports)]
                t = time.perf_counter()
                step = start_escalation(
                    session=session,
                    settings=settings,
                    conversation=conversation,
                    requester=conversation.user_id,
                    channel="slack",
                    reply_to={"channel": f"C{n % 9}", "thread_ts": f"{n}.0"},
                    reason="escalate",
                    articles=[r["article"]] if r["article"] and not distinct else [],
                    systems=[f"System {n}"] if distinct else ([r["system"]] if r["system"] else []),
                )
                timings.append(time.perf_counter() - t)
                if step.kind not in ("opened", "joined"):
                    raise RuntimeError(f"escalation {n} ended as {step.kind}")
                numbers.add(step.ticket_number or "")
            total = time.perf_counter() - started
    finally:
        engine.dispose()
    return total, timings, len(numbers)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> int:
    """Measure both and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opens", type=int, default=300, help="escalations to open per database")
    parser.add_argument(
        "--split", default="dev", choices=["dev", "test"], help="reports to score folding on (test to report)"
    )
    args = parser.parse_args()

    speed_rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, database in (("SQLite", sqlite_url), ("PostgreSQL", postgres_url)):
            for distinct in (True, False):
                kind = "distinct problems" if distinct else "the reports replayed"
                home = Path(tmp) / f"{name}-{distinct}"
                home.mkdir()
                try:
                    with database(home) as url:
                        settings = Settings(
                            home=home, database_url=url, itsm_kind="webhook", slack_triage_channel="C0TRIAGE"
                        )
                        total, timings, tickets = open_many(settings, args.opens, distinct=distinct)
                except psycopg.Error as exc:
                    print(f"{name} skipped: not reachable ({type(exc).__name__})", file=sys.stderr)
                    speed_rows.append((name, kind, "-", "skipped: PostgreSQL not reachable", "-", "-"))
                    continue
                speed_rows.append(
                    (
                        name,
                        kind,
                        f"{args.opens} ({tickets} tickets)",
                        f"{args.opens / total:.0f} /s",
                        f"{percentile(timings, 0.5) * 1000:.1f} ms",
                        f"{percentile(timings, 0.95) * 1000:.1f} ms",
                    )
                )

    print("# Tickets: opening speed and duplicate folding")
    print(f"# command: .venv/bin/python benchmarks/tickets.py --opens {args.opens} --split {args.split}")
    print()
    print("| database | escalations | opened | throughput | p50 per open | p95 per open |")
    print("|---|---|---|---|---|---|")
    for row in speed_rows:
        print("| " + " | ".join(row) + " |")
    print()
    print(
        f"Folding rule: same system or best article, within {folding.WINDOW.seconds // 60} min of the "
        f"incident's last report, alike >= {folding.PAIR_THRESHOLD} to join a one-person ticket, "
        f">= {folding.OUTAGE_THRESHOLD} once {folding.OUTAGE_REPORTERS} people reported it, "
        f">= {folding.PERSONAL_THRESHOLD} in specific words for a personal report; one person's requests "
        "never fold (tuned on dev)."
    )
    print()
    print("| split | reports | true incidents | tickets made | pairwise precision | pairwise recall |")
    print("|---|---|---|---|---|---|")
    s = score(args.split)
    print(
        f"| {args.split} | {s.reports} | {s.incidents} | {s.tickets} | {s.precision:.3f} "
        f"({s.true_pairs}/{s.true_pairs + s.false_pairs}) | {s.recall:.3f} "
        f"({s.true_pairs}/{s.true_pairs + s.missed_pairs}) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
