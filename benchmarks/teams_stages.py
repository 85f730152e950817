"""Where one Teams activity's time goes, stage by stage, one activity at a time (no concurrency), in
this process: the server's own code on the shipped knowledge base with the real model, SQLite, and
the fake Bot Connector of the tests over loopback HTTP.

Stages: ``parse`` (JSON and the SDK's ``Activity`` model), ``token`` (the SDK's check of the bearer
token: key lookup, RS256 signature, claims), ``claim`` (the once-only INSERT), ``sdk turn`` (the
SDK's ``process_activity`` around a turn that posts one card: turn context, connector client, HTTP
post), ``flow`` (the conversation flow: scrub, retrieval with the real model, the database writes),
``flow, fake assistant`` (the same with the test's fake assistant: the flow's database writes alone),
``keep card`` (the card kept for clicks).

    .venv/bin/python benchmarks/teams_stages.py [--activities 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botbuilder.core import TurnContext  # noqa: E402
from botbuilder.schema import Activity  # noqa: E402

from bot.channels.teams.cards import message_card  # noqa: E402
from bot.channels.teams.connector import card_activity  # noqa: E402
from bot.channels.teams.http import TeamsRuntime  # noqa: E402
from bot.channels.teams.queries import save_card  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.conversations.flow import ConversationFlow  # noqa: E402
from bot.main import create_app  # noqa: E402
from tests.fakes.assistant import FakeAssistant  # noqa: E402
from tests.fakes.teams import APP_ID, APP_PASSWORD, TENANT_ID, FakeTeams  # noqa: E402
from tests.teams_payloads import personal  # noqa: E402

QUESTIONS = ROOT / "benchmarks" / "hospital" / "dev.jsonl"


def timed_ms(samples: dict[str, list[float]], stage: str, started: float) -> None:
    samples.setdefault(stage, []).append((time.perf_counter() - started) * 1000)


async def measure(
    runtime: TeamsRuntime, teams: FakeTeams, questions: list[str], n: int
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    header = f"Bearer {teams.token()}"
    card = message_card("Thanks, noted.")
    fake_flow = ConversationFlow(runtime.settings, FakeAssistant(), runtime.sessions, channel="teams")
    for i in range(n):
        raw = personal(teams, questions[i % len(questions)], chat=f"a:stage-{i}")
        body = json.dumps(raw).encode()

        t = time.perf_counter()
        activity = Activity().deserialize(json.loads(body))
        timed_ms(samples, "parse", t)

        t = time.perf_counter()
        authenticated = await runtime.authentication.authenticate_request(activity, header)
        timed_ms(samples, "token", t)

        t = time.perf_counter()
        runtime.claim(str(activity.conversation.id), str(activity.id))
        timed_ms(samples, "claim", t)

        async def logic(context: TurnContext) -> None:
            await context.send_activity(card_activity(card, "Thanks, noted."))

        t = time.perf_counter()
        await runtime.adapter.process_activity(authenticated, activity, logic)
        timed_ms(samples, "sdk turn (one card posted)", t)

        t = time.perf_counter()
        runtime.bot.flow.on_message(
            thread_key=str(raw["conversation"]["id"]),
            user="aad-bench",
            text=str(raw["text"]),
            reply_to={"conversation": str(raw["conversation"]["id"])},
            stream=True,
        )
        timed_ms(samples, "flow (real model)", t)

        t = time.perf_counter()
        fake_flow.on_message(
            thread_key=f"fake-{i}", user="aad-bench", text=str(raw["text"]), reply_to={}, stream=True
        )
        timed_ms(samples, "flow, fake assistant (database)", t)

        t = time.perf_counter()
        with runtime.sessions() as session:
            save_card(session=session, conversation_id=f"a:stage-{i}", posted_id=f"p{i}", card=card)
        timed_ms(samples, "keep card", t)
    return samples


def main() -> int:
    """Index the shipped knowledge base, time each stage, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=200)
    args = parser.parse_args()
    with QUESTIONS.open(encoding="utf-8") as src:
        questions = [json.loads(line)["query"] for line in src]
    with tempfile.TemporaryDirectory() as home, FakeTeams() as teams:
        env_home = Path(home)
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "itbot"), "index"],
            env={"ITBOT_HOME": home, "ITBOT_KB": str(ROOT / "knowledge"), "HF_HUB_OFFLINE": "1", "PATH": ""},
            check=True,
            capture_output=True,
        )
        settings = Settings(
            home=env_home,
            kb=ROOT / "knowledge",
            teams_app_id=APP_ID,
            teams_app_password=APP_PASSWORD,
            teams_app_tenant_id=TENANT_ID,
            teams_openid_metadata_url=teams.openid_url,
            teams_token_url=teams.token_url,
            teams_service_urls=teams.service_url,
        )
        app = create_app(settings)
        runtime: TeamsRuntime = app.state.teams
        asyncio.run(measure(runtime, teams, questions, 5))  # keys, bot token, model warm
        samples = asyncio.run(measure(runtime, teams, questions, args.activities))
    command = f".venv/bin/python benchmarks/teams_stages.py --activities {args.activities}"
    print("# Teams: where one activity's time goes (serial, in-process, SQLite, real model, fake connector)")
    print(f"# command: {command}")
    print()
    print("| stage | p50 ms | p90 ms | mean ms |")
    print("|---|---|---|---|")
    for stage, values in samples.items():
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        print(f"| {stage} | {statistics.median(values):.2f} | {p90:.2f} | {statistics.fmean(values):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
