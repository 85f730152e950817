"""Teams delivery under load: time from activity to reply posted at a fake Bot Connector, with
every reply counted there.

An ``itbot serve`` process (the shipped knowledge base, the real model, SQLite unless
``--database-url``) receives signed personal-chat activities at a steady rate (open loop: each is
sent on schedule whatever the earlier ones are doing). A share of them is delivered again half a
second later, as Teams does when it does not hear back in time. Each activity comes from its own
chat, so the reply posted to that conversation at the fake connector is that activity's reply: an
activity with no reply is lost, one with two is duplicated. Tokens are signed with a key made here
and served by the fake's OpenID metadata, as in the tests.

    .venv/bin/python benchmarks/teams.py [--rate 50] [--seconds 60] [--retry-share 0.1] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load import cpu_seconds  # noqa: E402
from tests.fakes.teams import APP_ID, APP_PASSWORD, TENANT_ID, FakeTeams  # noqa: E402
from tests.live_server import free_port  # noqa: E402
from tests.teams_payloads import personal  # noqa: E402

ITBOT = str(ROOT / ".venv" / "bin" / "itbot")
transport_errors: list[int] = []
# Chats are new in every run: a PostgreSQL database keeps the claims of earlier runs.
RUN = uuid.uuid4().hex[:8]
QUESTIONS = ROOT / "benchmarks" / "hospital" / "dev.jsonl"


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``samples``, nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def start_server(
    home: Path, teams: FakeTeams, database_url: str | None, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    """Index the shipped KB into ``home`` and start ``itbot serve`` with ``workers`` server
    processes; (process, base URL) once healthy."""
    env = dict(os.environ)
    env.update(
        {
            "ITBOT_HOME": str(home),
            "ITBOT_KB": str(ROOT / "knowledge"),
            "HF_HUB_OFFLINE": "1",
            "TEAMS_APP_ID": APP_ID,
            "TEAMS_APP_PASSWORD": APP_PASSWORD,
            "TEAMS_APP_TENANT_ID": TENANT_ID,
            "ITBOT_TEAMS_OPENID_METADATA_URL": teams.openid_url,
            "ITBOT_TEAMS_TOKEN_URL": teams.token_url,
            "ITBOT_TEAMS_SERVICE_URLS": teams.service_url,
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    subprocess.run([ITBOT, "index"], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [ITBOT, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("itbot serve did not become healthy")


async def send_load(
    url: str, teams: FakeTeams, questions: list[str], rate: float, seconds: float, retry_share: float
) -> tuple[list[float], dict[str, float], list[int]]:
    """Send the schedule; (ack latencies ms, first send time per conversation, statuses)."""
    total = int(rate * seconds)
    acks: list[float] = []
    sent_at: dict[str, float] = {}
    statuses: list[int] = []
    transport_errors.clear()
    retry_every = round(1 / retry_share) if retry_share > 0 else 0
    headers = {
        "Authorization": f"Bearer {teams.token()}"
    }  # one token, valid for an hour, as Teams reuses them
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def deliver(activity: dict[str, object]) -> None:
            # A connection the server closed as we reused it is answered the way Teams answers a
            # delivery it did not hear back from: it delivers again (counted as one more delivery).
            for _ in range(3):
                t = time.monotonic()
                try:
                    response = await client.post(f"{url}/api/messages", json=activity, headers=headers)
                except httpx.TransportError:
                    transport_errors.append(1)
                    await asyncio.sleep(0.5)
                    continue
                acks.append((time.monotonic() - t) * 1000)
                statuses.append(response.status_code)
                return

        async def one(n: int) -> None:
            chat = f"a:bench-{RUN}-{n:06d}"
            activity = personal(teams, questions[n % len(questions)], chat=chat)
            sent_at[chat] = time.monotonic()
            await deliver(activity)
            if retry_every and n % retry_every == 0:
                await asyncio.sleep(0.5)
                await deliver(activity)

        start = time.monotonic()
        tasks = []
        for n in range(total):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return acks, sent_at, statuses


def main() -> int:
    """Run the load and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50.0, help="activities per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--retry-share", type=float, default=0.1, help="share of activities delivered twice")
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead of SQLite")
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench" / "teams")
    parser.add_argument("--workers", type=int, default=1, help="itbot serve processes on the port")
    args = parser.parse_args()
    with QUESTIONS.open(encoding="utf-8") as src:
        questions = [json.loads(line)["query"] for line in src]
    (args.home / "itbot.db").unlink(missing_ok=True)
    for leftover in args.home.glob("itbot.db-*"):
        leftover.unlink()
    args.home.mkdir(parents=True, exist_ok=True)
    with FakeTeams() as teams:
        process, url = start_server(args.home, teams, args.database_url, args.workers)
        try:
            warm = personal(teams, "warm up", chat=f"a:warm-{RUN}")
            httpx.post(f"{url}/api/messages", json=warm, headers={"Authorization": f"Bearer {teams.token()}"})
            teams.wait_for("reply", timeout=30)  # keys fetched, bot token fetched, model warm
            cpu_before, wall_before = cpu_seconds(process.pid), time.monotonic()
            own_before = time.process_time()
            acks, sent_at, statuses = asyncio.run(
                send_load(url, teams, questions, args.rate, args.seconds, args.retry_share)
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                replied = {c.conversation for c in teams.posts()}
                if len(replied & sent_at.keys()) >= len(sent_at):
                    break
                time.sleep(0.1)
            teams.settle(quiet=1.0)
            server_cpu = cpu_seconds(process.pid) - cpu_before
            own_cpu = time.process_time() - own_before
            wall = time.monotonic() - wall_before
        finally:
            process.terminate()
            process.wait(timeout=30)
    posts = [c for c in teams.posts() if c.conversation in sent_at]
    per_chat = Counter(c.conversation for c in posts)
    first_reply: dict[str, float] = {}
    for call in posts:
        first_reply.setdefault(call.conversation, call.at)
    to_reply = [(first_reply[c] - t) * 1000 for c, t in sent_at.items() if c in first_reply]
    lost = sum(1 for c in sent_at if per_chat[c] == 0)
    duplicated = sum(1 for c in sent_at if per_chat[c] > 1)
    database = "PostgreSQL" if args.database_url else "SQLite"
    command = f".venv/bin/python benchmarks/teams.py --rate {args.rate:g} --seconds {args.seconds:g}"
    command += f" --retry-share {args.retry_share:g}" + (" --database-url ..." if args.database_url else "")
    command += f" --workers {args.workers}" if args.workers > 1 else ""
    print("# Teams: /api/messages under load (itbot serve, shipped KB, real model, fake Bot Connector)")
    print(f"# command: {command}")
    print(
        f"# {database}; {len(sent_at)} activities at {args.rate:g}/s for {args.seconds:g} s, "
        f"{len(statuses)} deliveries"
    )
    print()
    print("| measure | p50 | p99 | max |")
    print("|---|---|---|---|")
    print(f"| ack latency (ms) | {percentile(acks, 50):.1f} | {percentile(acks, 99):.1f} | {max(acks):.1f} |")
    if to_reply:
        print(
            f"| activity to reply posted (ms) | {percentile(to_reply, 50):.1f} "
            f"| {percentile(to_reply, 99):.1f} | {max(to_reply):.1f} |"
        )
    print()
    print(
        f"non-200 acks: {sum(1 for s in statuses if s != 200)}; connection errors (delivered again): "
        f"{len(transport_errors)}; replies: {len(posts)}; "
        f"lost: {lost}; duplicated: {duplicated}"
    )
    print(
        f"server CPU: {server_cpu:.1f} s over {wall:.0f} s ({server_cpu / wall:.2f} cores), "
        f"{server_cpu / max(1, len(statuses)) * 1000:.1f} ms a delivery; this load generator and "
        f"fake connector: {own_cpu / wall:.2f} cores; machine: {os.cpu_count()} cores"
    )
    return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
