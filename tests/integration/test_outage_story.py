"""The whole outage story end to end, on SQLite and PostgreSQL, over real HTTP with the fake Slack
workspace and the real worker (``tests.outage_story``): alert → draft in triage → Confirm → posted to
the routed channels only → a nurse's "is epic down?" gets the outage answer → she taps "Tell me when
it's fixed" → IT's update edits each post in place and adds a thread line → the alert resolves
(monitoring) → IT resolves → posts edited, thread lines, the nurse told in her thread; nothing twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from tests.fakes.slack_api import Call
from tests.fakes.slack_workspace import FakeSlackWorkspace
from tests.outage_story import NURSE_CHANNEL, TRIAGE, Story, run_story, transcript

POSTED_TO = ("CALL", "CED")


@pytest.fixture
def story(db_settings: Settings) -> Iterator[tuple[Story, FakeSlackWorkspace]]:
    with FakeSlackWorkspace() as slack:
        yield run_story(db_settings, slack), slack


def texts(calls: list[Call]) -> list[tuple[str, str, str | None, str]]:
    """(method, channel, thread, what the blocks say) of each post and edit."""
    return [
        (
            c.method,
            str(c.body.get("channel")),
            c.body.get("thread_ts"),
            str(c.body.get("blocks") or c.body.get("text")),
        )
        for c in calls
        if c.method in ("chat.postMessage", "chat.update")
    ]


def test_the_outage_goes_from_alert_to_the_nurse_told_it_is_fixed(
    story: tuple[Story, FakeSlackWorkspace],
) -> None:
    told, slack = story

    # The alert (twice) is one draft, posted only to IT's triage channel.
    assert [a["action"] for a in told.answers["alert_firing"]] == ["created", "unchanged"]
    drafted = texts(told.between(">>> Alertmanager: POST /api/alerts (firing)", ">>> UAGENT clicks Confirm"))
    assert [(m, ch) for m, ch, _, _ in drafted] == [("chat.postMessage", TRIAGE)]
    assert "Confirm and post" in drafted[0][3]

    # Confirmed: posted once to each routed channel, and not to #radiology (PACS only).
    confirmed = texts(told.between(">>> UAGENT clicks Confirm", ">>> UNURSE1 in"))
    posts = {ch: text for m, ch, thread, text in confirmed if m == "chat.postMessage"}
    assert set(posts) == set(POSTED_TO) and all("(Investigating)" in t for t in posts.values())
    post_ts = {m.channel: m.ts for ch in POSTED_TO for m in slack.top_level(ch)}
    assert slack.top_level("CRAD") == []

    # The nurse gets the outage answer in her thread, and the button subscribes her.
    asked = texts(told.between(">>> UNURSE1 in", ">>> UNURSE1 clicks"))
    [(_, channel, thread, answer)] = asked
    assert (channel, thread) == (NURSE_CHANNEL, told.nurse_ts)
    assert "Known issue" in answer and "Tell me when it's fixed" in answer
    tapped = texts(told.between(">>> UNURSE1 clicks", ">>> IT: POST"))
    assert any("will be told here" in text for _, _, _, text in tapped)

    # IT's update: each post edited in place and one line in its thread, per channel.
    updated = told.between(">>> IT: POST", ">>> Alertmanager: POST /api/alerts (resolved)")
    edits = [c for c in updated if c.method == "chat.update"]
    lines = [c for c in updated if c.method == "chat.postMessage"]
    assert sorted((c.body["channel"], c.body["ts"]) for c in edits) == sorted(post_ts.items())
    assert all("(Identified)" in str(c.body["blocks"]) for c in edits)
    assert sorted((c.body["channel"], c.body["thread_ts"]) for c in lines) == sorted(post_ts.items())
    assert all("Identified: A failed login server" in str(c.body["blocks"]) for c in lines)

    # The alert resolves: monitoring, and IT is offered Resolve in the triage thread.
    assert [a["action"] for a in told.answers["alert_resolved"]] == ["monitoring"]
    watching = texts(
        told.between(">>> Alertmanager: POST /api/alerts (resolved)", ">>> UAGENT clicks Resolve")
    )
    assert any(ch == TRIAGE and thread and "Resolve" in text for _, ch, thread, text in watching)
    assert sum("(Monitoring)" in text for m, _, _, text in watching if m == "chat.update") == 2

    # Resolved: posts edited, a thread line each, the nurse told in her thread; no post twice.
    resolved = texts(told.between(">>> UAGENT clicks Resolve"))
    assert sorted(ch for m, ch, _, text in resolved if m == "chat.update" and "Resolved:" in text) == sorted(
        POSTED_TO
    )
    assert sorted(
        (ch, thread) for m, ch, thread, text in resolved if m == "chat.postMessage" and "Resolved" in text
    ) == sorted(post_ts.items())
    assert [(ch, thread) for m, ch, thread, text in resolved if "Fixed" in text] == [
        (NURSE_CHANNEL, told.nurse_ts)
    ]
    assert told.answers["final"]["status"] == "resolved"
    assert sorted(told.answers["final"]["posted_in"]) == [f"slack:{ch}" for ch in sorted(POSTED_TO)]
    tagged = {key: n for key, n in slack.keys_posted().items() if key}  # the notice sender tags each post
    assert len(tagged) == 8 and set(tagged.values()) == {1}
    assert "[chat.postMessage] CALL (#all-staff)" in transcript(told)
