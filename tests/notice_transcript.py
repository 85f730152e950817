"""Print an outage's delivery as the fake Slack workspace recorded it (not a test; the source of the
transcript in the issue notes): IT opens an outage about Epic in the ED, posts two updates and
resolves it; the worker's notices pass delivers each step. Routes: #ed (site ED), #all-staff (every
site), #4-west (site 4 West, which must hear nothing).

    HF_HUB_OFFLINE=1 .venv/bin/python -m tests.notice_transcript > outage_transcript.txt
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from bot.channels.slack.notice_sender import SlackNoticeSender, make_notice_client
from bot.db import create_db_engine, init_db, session_factory
from bot.interactions.models import utcnow
from bot.notices.actions import NewNotice, open_notice, resolve_notice, update_notice
from bot.notices.delivery_queries import save_route
from bot.notices.dispatcher import NoticeDispatcher
from bot.notices.models import Impact, NoticeKind, NoticeStatus
from bot.notices.registry import ensure_seeded
from tests.databases import sqlite_settings
from tests.fakes.slack_api import Call
from tests.fakes.slack_workspace import FakeSlackWorkspace

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"CED": "#ed", "CALL": "#all-staff", "C4W": "#4-west"}


def render(call: Call) -> str:
    """One recorded call: method, channel, thread, and the text Slack shows."""
    body = call.body
    channel = str(body.get("channel", ""))
    where = f"{channel} ({LABELS.get(channel, '?')})"
    thread = f" thread={body['thread_ts']}" if body.get("thread_ts") else ""
    ts = f" ts={body['ts']}" if call.method == "chat.update" else f" -> ts={call.response.get('ts')}"
    lines = [f"[{call.method}] {where}{thread}{ts}"]
    for block in body.get("blocks") or []:
        if block.get("type") == "section":
            lines += ["    " + line for line in block["text"]["text"].splitlines()]
        elif block.get("type") == "actions":
            lines.append("    " + "  ".join(f"[{e['text']['text']}]" for e in block["elements"]))
        elif block.get("type") == "context":
            lines += ["    · " + e.get("text", "") for e in block["elements"]]
    if not body.get("blocks"):
        lines.append("    " + str(body.get("text", "")))
    return "\n".join(lines)


def main() -> None:
    """Run the outage and print what Slack received, step by step."""
    with tempfile.TemporaryDirectory() as home, FakeSlackWorkspace() as slack:
        settings = sqlite_settings(
            Path(home),
            kb=ROOT / "knowledge",
            slack_bot_token="xoxb-demo",
            slack_api_url=slack.api_url,
            notice_digest_times="",
            notice_timezone="America/New_York",
        )
        engine = create_db_engine(settings)
        init_db(settings, engine=engine)
        sessions = session_factory(engine)
        worker = NoticeDispatcher(
            settings,
            open_session=sessions,
            senders={"slack": SlackNoticeSender(make_notice_client(settings))},
        )
        start = utcnow()
        with sessions() as session:
            ensure_seeded(session=session, kb=settings.kb)
            for target, label in LABELS.items():
                sites = {"CED": ["ED"], "C4W": ["4 West"]}.get(target, [])
                save_route(
                    session=session,
                    channel="slack",
                    target=target,
                    label=label,
                    systems=[],
                    sites=sites,
                    digest=True,
                )
            notice = open_notice(
                session=session,
                new=NewNotice(
                    kind=NoticeKind.OUTAGE,
                    title="Epic is down in the ED",
                    systems=["Epic"],
                    sites=["ED"],
                    impact=Impact.DOWN,
                    body="Use the downtime forms; BCA PCs have the last census.",
                    next_update_at=start + timedelta(minutes=30),
                ),
                now=start,
            )
            session.commit()
            notice_id = notice.id
        assert notice_id is not None
        steps: list[tuple[str, tuple[NoticeStatus, str, int] | None]] = [("IT opens the outage", None)]
        steps += [
            (
                "Update 1: identified",
                (NoticeStatus.IDENTIFIED, "A failed storage controller; failover under way.", 15),
            ),
            ("Update 2: monitoring", (NoticeStatus.MONITORING, "Epic is back; watching for slowness.", 45)),
            ("Resolved", (NoticeStatus.RESOLVED, "Back to normal. Enter downtime notes by 14:00.", 70)),
        ]
        seen = 0
        print("Outage transcript: what the fake Slack Web API received (method, channel, text)")
        print("Routes: CED #ed (site ED), CALL #all-staff (every site), C4W #4-west (site 4 West)\n")
        for title, change in steps:
            if change is not None:
                status, body, minutes = change
                with sessions() as session:
                    at = start + timedelta(minutes=minutes)
                    if status is NoticeStatus.RESOLVED:
                        resolve_notice(session=session, notice_id=notice_id, now=at, body=body)
                    else:
                        update_notice(
                            session=session,
                            notice_id=notice_id,
                            now=at,
                            status=status,
                            body=body,
                            next_update_at=at + timedelta(minutes=30),
                        )
                    session.commit()
            while worker.run_once():
                pass
            print(f"=== {title} ===")
            for call in slack.calls[seen:]:
                print(render(call))
            seen = len(slack.calls)
            print()
        quiet = len(slack.top_level("C4W"))
        print(f"#4-west received {quiet} messages; duplicates: {slack.duplicates() or 'none'}")
        engine.dispose()


if __name__ == "__main__":
    main()
