"""How long a ticket survives a service desk that throttles every try: time to the dead letter.

The worker (default settings) forwards one ticket to the fake ServiceNow from ``tests/fakes/itsm.py``,
which answers every request ``429`` with ``Retry-After: 1`` (or ``503`` with none). Time is a fake
clock moved to each next due time, so a day of throttling takes seconds. Printed per answer: the
tries made, the fake time from the first try to the dead letter (or "alive" after ``--hours``), and
the tries in the first hour. SQLite in a temporary folder.

    .venv/bin/python benchmarks/outbox_throttled.py [--hours 48]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.db import create_db_engine, init_db, session_factory  # noqa: E402
from bot.tickets.delivery import Deliverer  # noqa: E402
from bot.tickets.itsm import build_forwarder  # noqa: E402
from bot.tickets.outbox import enqueue, get_by_key, next_due_at  # noqa: E402
from bot.tickets.outbox_models import OutboxStatus  # noqa: E402
from bot.tickets.worker import Worker  # noqa: E402
from tests.fakes.itsm import FakeClock, FakeServiceNow, ticket_payload  # noqa: E402

KEY = "IT-000001:created"


def run(status: int, retry_after: float | None, hours: float) -> tuple[int, str, int, float]:
    """Tries, time to the dead letter (or "alive"), tries in the first hour, wall seconds."""
    with tempfile.TemporaryDirectory() as home, FakeServiceNow(username="itbot", password="s3cret") as desk:
        settings = Settings(
            home=Path(home),
            itsm_kind="servicenow",
            itsm_url=desk.url,
            itsm_username="itbot",
            itsm_password="s3cret",
        )
        engine = create_db_engine(settings)
        init_db(settings, engine=engine)
        sessions = session_factory(engine)
        with sessions() as session:
            enqueue(
                session=session,
                target="itsm",
                topic="ticket.created",
                payload=ticket_payload("IT-000001"),
                idempotency_key=KEY,
                ticket_id="t-1",
            )
            session.commit()
        desk.down(status=status, retry_after=retry_after)
        clock = FakeClock()
        worker = Worker(
            settings,
            open_session=sessions,
            deliverer=Deliverer(forwarder=build_forwarder(settings), senders={}),
            clock=clock,
        )
        start, started = clock(), time.perf_counter()
        end = start + timedelta(hours=hours)
        first_hour = 0
        outcome = "alive"
        with sessions() as session:
            while True:
                worker.run_once()
                session.expire_all()
                message = get_by_key(session=session, idempotency_key=KEY)
                assert message is not None
                if clock() - start <= timedelta(hours=1):
                    first_hour = message.attempts
                if message.status == OutboxStatus.FAILED:
                    outcome = _duration(clock() - start)
                    break
                due = next_due_at(session=session)
                if due is None or due > end:
                    break
                clock.advance_to(due)
            tries = message.attempts
        engine.dispose()
        return tries, outcome, first_hour, time.perf_counter() - started


def _duration(gap: timedelta) -> str:
    seconds = gap.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=48.0, help="stop after this much fake time")
    args = parser.parse_args()
    print(f"$ python benchmarks/outbox_throttled.py --hours {args.hours:g}")
    header = f"{'desk answers':<24} {'tries':>6} {'dead-lettered after':>20} {'tries in 1st hour':>18}"
    print(f"{header} {'wall s':>7}")
    for status, retry_after in ((429, 1.0), (503, None)):
        label = f"{status}" + (f" Retry-After: {retry_after:g}" if retry_after is not None else "")
        tries, outcome, first_hour, wall = run(status, retry_after, args.hours)
        print(f"{label:<24} {tries:>6} {outcome:>20} {first_hour:>18} {wall:>7.1f}")


if __name__ == "__main__":
    main()
