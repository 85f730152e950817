"""The analytics page over HTTP: who may see it, the figures of a known fixture, the date range, the
CSV exports (audited, counts only) and the charting library served from the package."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import create_db_engine, session_factory
from bot.interactions.models import Interaction
from bot.interactions.queries import insert_interactions
from bot.main import create_app
from tests.console_client import add_user, console_settings, signed_in
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.integration.analytics_fixture import END, T0, seed
from tests.live_server import LiveServer, serve

RANGE = {"start": "2026-03-02", "end": "2026-03-04"}


@dataclass(frozen=True)
class Console:
    server: LiveServer
    settings: Settings


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """The app (fake assistant) over the analytics fixture, with a viewer and an admin."""
    settings = console_settings(sqlite_settings(tmp_path))
    app = create_app(settings, assistant=FakeAssistant())
    engine = create_db_engine(settings)
    with session_factory(engine)() as session:
        seed(session)
        hostile = Interaction(
            channel="web",
            user_id="u99",
            question='<script>alert("x")</script> printer',
            decision="escalate",
            created_at=END - (END - T0) / 2,
        )
        insert_interactions(session=session, rows=[hostile])
    engine.dispose()
    add_user(settings, "vic", "viewer")
    add_user(settings, "root", "admin")
    with serve(app) as server:
        yield Console(server, settings)


def test_a_request_without_a_session_is_sent_to_sign_in(console: Console) -> None:
    import httpx

    with httpx.Client(base_url=console.server.url) as client:
        page = client.get("/console/analytics", params=RANGE)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/console/login?next=/console/analytics")
        assert client.get("/console/analytics/daily.csv", params=RANGE).status_code == 303


def test_a_viewer_sees_the_figures_of_the_period(console: Console) -> None:
    with signed_in(console.server.url, "vic") as (client, _csrf):
        page = client.get("/console/analytics", params=RANGE)
    assert page.status_code == 200
    html = page.text
    # 12 fixture questions and the hostile one; 3 of 13 judged deflected; 3 tickets.
    assert '<span class="value" id="fig-questions">13</span>' in html
    assert '<span class="value" id="fig-answered">8</span>' in html
    assert '<span class="value" id="fig-deflected">23.1%</span>' in html
    assert "deflected: 3 of 13 questions" in html
    assert '<span class="value" id="fig-tickets">3</span>' in html
    assert "<td>45 min</td>" in html  # median first response of 1,800 s and 3,600 s
    assert "<td>5.0 h</td>" in html  # the one resolution, 18,000 s
    assert '<canvas id="chart-daily"' in html and '<canvas id="chart-outcomes"' in html


def test_question_text_on_the_page_is_escaped(console: Console) -> None:
    with signed_in(console.server.url, "vic") as (client, _csrf):
        html = client.get("/console/analytics", params=RANGE).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; printer" in html


def test_scripts_come_only_from_the_console_itself(console: Console) -> None:
    with signed_in(console.server.url, "vic") as (client, _csrf):
        html = client.get("/console/analytics", params=RANGE).text
        library = client.get("/console/static/vendor/chartjs/chart.umd.min.js")
        licence = client.get("/console/static/vendor/chartjs/LICENSE.md")
    assert '<script src="/console/static/vendor/chartjs/chart.umd.min.js"></script>' in html
    assert "http://" not in html.split("<script", 1)[1] and "https://" not in html.split("<script", 1)[1]
    assert library.status_code == 200 and "javascript" in library.headers["content-type"]
    assert library.text.startswith("/*!\n * Chart.js v4.6.1")
    assert "MIT License" in licence.text


def test_a_bad_range_is_refused_with_a_reason(console: Console) -> None:
    with signed_in(console.server.url, "vic") as (client, _csrf):
        backwards = client.get("/console/analytics", params={"start": "2026-03-05", "end": "2026-03-01"})
        unreadable = client.get("/console/analytics/daily.csv", params={"start": "March", "end": ""})
        too_long = client.get("/console/analytics", params={"start": "2020-01-01", "end": "2026-01-01"})
    assert backwards.status_code == 400 and "The start date is after the end date." in backwards.text
    assert unreadable.status_code == 400
    assert too_long.status_code == 400 and "at most 366 days" in too_long.text


def _csv(client: object, table: str) -> list[list[str]]:
    answer = client.get(f"/console/analytics/{table}.csv", params=RANGE)  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert f'filename="itbot-{table}-2026-03-02-2026-03-04.csv"' in answer.headers["content-disposition"]
    return list(csv.reader(io.StringIO(answer.text)))


def test_each_table_exports_as_csv_with_exact_figures(console: Console) -> None:
    with signed_in(console.server.url, "vic") as (client, _csrf):
        daily = _csv(client, "daily")
        outcomes = _csv(client, "outcomes")
        articles = _csv(client, "articles")
        gaps = _csv(client, "gaps")
        tickets = _csv(client, "tickets")
        assert client.get("/console/analytics/secrets.csv", params=RANGE).status_code == 404
    assert daily == [
        ["day", "channel", "questions"],
        ["2026-03-02", "slack", "2"],
        ["2026-03-02", "web", "2"],
        ["2026-03-03", "slack", "2"],
        ["2026-03-03", "teams", "2"],
        ["2026-03-03", "web", "1"],
        ["2026-03-04", "slack", "1"],
        ["2026-03-04", "teams", "1"],
        ["2026-03-04", "web", "2"],
    ]
    assert dict(outcomes[1:]) == {
        "questions": "13",
        "answered": "8",
        "clarified": "1",
        "escalated": "3",
        "outage": "1",
        "deflected": "3",
        "deflected_confirmed_fixed_it": "1",
        "pending_within_24h": "0",
        "judged": "13",
    }
    assert articles == [
        ["article", "answers", "fixed_it", "still_stuck"],
        ["ehr/epic-timeout", "4", "0", "1"],
        ["printing/offline", "4", "1", "0"],
    ]
    assert gaps[0] == ["rank", "people", "questions", "escalated", "clarified", "stuck"]
    assert sum(int(row[2]) for row in gaps[1:]) == 5  # the fake assistant has no encoder: one a group
    assert dict(tickets[1:]) == {
        "opened": "3",
        "responded": "2",
        "resolved": "1",
        "first_response_median_seconds": "2700",
        "first_response_p90_seconds": "3420",
        "resolution_median_seconds": "18000",
        "resolution_p90_seconds": "18000",
    }


def test_exports_hold_no_question_text_and_are_audited(console: Console) -> None:
    with signed_in(console.server.url, "vic") as (client, _csrf):
        exported = "".join(
            client.get(f"/console/analytics/{t}.csv", params=RANGE).text
            for t in ("daily", "outcomes", "articles", "gaps", "tickets")
        )
    for asked in ("printer", "wifi", "pyxis", "epic logs me out", "script"):
        assert asked not in exported
    with signed_in(console.server.url, "root") as (client, _csrf):
        audit = list(csv.DictReader(io.StringIO(client.get("/console/audit.csv").text)))
    exports = [
        (e["actor"], e["action"], e["target"], e["detail"])
        for e in audit
        if e["action"] == "analytics_exported"
    ]
    assert sorted(exports) == sorted(
        ("vic", "analytics_exported", t, "2026-03-02..2026-03-04")
        for t in ("daily", "outcomes", "articles", "gaps", "tickets")
    )
