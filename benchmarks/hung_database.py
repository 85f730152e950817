"""Answers while the database hangs: N parallel ``POST /api/ask`` against a live server whose
PostgreSQL stops answering (a proxy that accepts connections and never replies, a "black hole").

The app runs in uvicorn on loopback (``tests/live_server.py``) with the deterministic fake assistant
(answering needs no database), on a private schema of ``ITBOT_TEST_POSTGRES_URL`` reached through
the proxy. It answers one question while the database is fine; then the pool is emptied (the worst
case: every request needs a new connection) and the proxy hangs: new connections are swallowed.
Half the questions are plain asks, half are conversation asks (each its own web chat conversation);
then ``/healthz`` is asked in parallel.
Printed: per kind, how many answered 200 with the right decision, how many timed out at the client,
latency p50 / max, the wall time, and how many connections the black hole swallowed.

    .venv/bin/python benchmarks/hung_database.py [--requests 45] [--timeout 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.main import create_app  # noqa: E402
from tests.databases import postgres_url, private_schema, sqlite_settings  # noqa: E402
from tests.fakes.assistant import FakeAssistant  # noqa: E402
from tests.fakes.database import SwitchableProxy  # noqa: E402
from tests.live_server import serve  # noqa: E402


@dataclass(frozen=True)
class Result:
    kind: str
    seconds: float
    outcome: str  # "ok", "timeout", or the status / error


def ask(url: str, index: int, timeout: float) -> Result:
    conversation = index % 2 == 1
    body: dict[str, str] = {"text": "epic won't let me log in", "user": f"web-bench{index:04d}"}
    if conversation:
        body["conversation"] = f"web-{index:032x}"
    kind = "conversation ask" if conversation else "plain ask"
    started = time.perf_counter()
    try:
        response = httpx.post(f"{url}/api/ask", json=body, timeout=timeout)
        ok = response.status_code == 200 and response.json().get("decision") == "answer"
        outcome = "ok" if ok else f"http {response.status_code}"
    except httpx.TimeoutException:
        outcome = "timeout"
    except httpx.HTTPError as exc:
        outcome = type(exc).__name__
    return Result(kind, time.perf_counter() - started, outcome)


def health(url: str, timeout: float) -> Result:
    started = time.perf_counter()
    try:
        response = httpx.get(f"{url}/healthz", timeout=timeout)
        body = response.json()
        outcome = f"{response.status_code} {body.get('status')} database={body.get('database', '-')}"
    except httpx.TimeoutException:
        outcome = "timeout"
    return Result("/healthz", time.perf_counter() - started, outcome)


def row(kind: str, results: list[Result], wall: float) -> str:
    times = [r.seconds for r in results]
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    said = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
    p50, worst = statistics.median(times), max(times)
    return f"| {kind} | {len(results)} | {p50:.2f} | {worst:.2f} | {wall:.2f} | {said} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=45, help="parallel /api/ask (default 45)")
    parser.add_argument("--health", type=int, default=10, help="parallel /healthz (default 10)")
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout, seconds (default 60)")
    args = parser.parse_args()
    target = make_url(postgres_url())
    with (
        tempfile.TemporaryDirectory() as home,
        private_schema(postgres_url()) as url,
        SwitchableProxy(target.host or "127.0.0.1", target.port or 5432) as proxy,
    ):
        proxied = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = sqlite_settings(Path(home), database_url=proxied)
        with serve(create_app(settings, assistant=FakeAssistant())) as server:
            warm = ask(server.url, 1, args.timeout)
            assert warm.outcome == "ok", warm
            # Worst case: no pooled connection to notice the outage by; every request needs a new one.
            server.app.state.engine.dispose()
            proxy.hang()
            started = time.perf_counter()
            with ThreadPoolExecutor(args.requests) as pool:
                asked = list(pool.map(lambda i: ask(server.url, i, args.timeout), range(args.requests)))
            asked_wall = time.perf_counter() - started
            started = time.perf_counter()
            with ThreadPoolExecutor(args.health) as pool:
                checked = list(pool.map(lambda _i: health(server.url, args.timeout), range(args.health)))
            health_wall = time.perf_counter() - started
            print(f"Database hangs (black hole); {args.requests} parallel asks, timeout {args.timeout:g} s")
            print()
            print("| request | n | p50 s | max s | wall s | outcomes |")
            print("|---|---|---|---|---|---|")
            for kind in ("plain ask", "conversation ask"):
                print(row(kind, [r for r in asked if r.kind == kind], asked_wall))
            print(row("/healthz", checked, health_wall))
            print()
            print(f"connections the black hole swallowed: {proxy.swallowed}")
            print(
                f"command: .venv/bin/python benchmarks/hung_database.py --requests {args.requests} "
                f"--timeout {args.timeout:g}"
            )
            sys.stdout.flush()
    # Threads of the old code may still wait on the black hole forever: leave without joining them.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
