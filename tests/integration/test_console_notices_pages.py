"""The console's notice pages over HTTP: everyone signed in reads them; agents post, update and resolve
notices through the same actions as ``itbot notice``, with the lifecycle's refusals shown, CSRF on
every form, an audit row for every change, and everything escaped."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import create_db_engine, session_factory
from bot.main import create_app
from bot.notices.queries import list_notices
from tests.console_client import add_user, console_settings, signed_in
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve
from tests.tiny_kb import write_tiny_kb

OUTAGE = {
    "kind": "outage",
    "title": "Epic is slow <everywhere>",
    "systems": "Epic",
    "impact": "degraded",
    "body": "We are looking at it.",
    "next_update": "+30m",
}


@dataclass(frozen=True)
class Console:
    server: LiveServer
    settings: Settings

    def audit(self) -> list[tuple[str, str, str, str]]:
        with signed_in(self.server.url, "root") as (client, _csrf):
            rows = csv.DictReader(io.StringIO(client.get("/console/audit.csv").text))
            return [
                (r["actor"], r["action"], r["target"], r["detail"])
                for r in rows
                if r["action"].startswith("notice_")
            ]

    def notices(self) -> list[tuple[str, str]]:
        engine = create_db_engine(self.settings)
        try:
            with session_factory(engine)() as session:
                return [(n.title, n.status.value) for n in list_notices(session=session)]
        finally:
            engine.dispose()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """The app over the tiny knowledge folder (its systems: Epic, Citrix Workspace, ...), a viewer, an
    agent and an admin."""
    settings = console_settings(sqlite_settings(tmp_path))
    write_tiny_kb(settings.kb)
    app = create_app(settings, assistant=FakeAssistant())
    add_user(settings, "vic", "viewer")
    add_user(settings, "ann", "agent")
    add_user(settings, "root", "admin")
    with serve(app) as server:
        yield Console(server, settings)


def test_an_agent_posts_an_outage_and_everyone_signed_in_reads_it(console: Console) -> None:
    with signed_in(console.server.url, "ann") as (client, csrf):
        posted = client.post("/console/notices", data={"csrf_token": csrf, **OUTAGE})
        notice_page = client.get(posted.headers["location"]).text
    assert posted.status_code == 303 and posted.headers["location"].endswith("?done=created")
    assert "The notice is posted." in notice_page
    assert "Epic is slow &lt;everywhere&gt;" in notice_page and "<everywhere>" not in notice_page
    with signed_in(console.server.url, "vic") as (client, _csrf):
        listing = client.get("/console/notices").text
    assert "Epic is slow &lt;everywhere&gt;" in listing and "ACTIVE" in listing
    assert 'id="create-form"' not in listing  # a viewer gets no form
    assert console.notices() == [("Epic is slow <everywhere>", "investigating")]
    notice_id = posted.headers["location"].split("/")[-1].split("?")[0]
    assert console.audit() == [("ann", "notice_created", notice_id, "outage: Epic is slow <everywhere>")]


def test_a_viewer_may_not_post_update_or_resolve(console: Console) -> None:
    with signed_in(console.server.url, "ann") as (client, csrf):
        location = client.post("/console/notices", data={"csrf_token": csrf, **OUTAGE}).headers["location"]
    page = location.split("?")[0]
    with signed_in(console.server.url, "vic") as (client, csrf):
        assert client.post("/console/notices", data={"csrf_token": csrf, **OUTAGE}).status_code == 403
        assert (
            client.post(f"{page}/update", data={"csrf_token": csrf, "status": "identified"}).status_code
            == 403
        )
        assert client.post(f"{page}/resolve", data={"csrf_token": csrf}).status_code == 403
        assert 'id="update-form"' not in client.get(page).text
    assert console.notices() == [("Epic is slow <everywhere>", "investigating")]


def test_updates_follow_the_lifecycle_and_resolving_closes_the_notice(console: Console) -> None:
    with signed_in(console.server.url, "ann") as (client, csrf):
        page = (
            client.post("/console/notices", data={"csrf_token": csrf, **OUTAGE})
            .headers["location"]
            .split("?")[0]
        )
        identified = client.post(
            f"{page}/update", data={"csrf_token": csrf, "status": "identified", "body": "A bad switch."}
        )
        bad = client.post(f"{page}/update", data={"csrf_token": csrf, "status": "completed"})
        resolved = client.post(f"{page}/resolve", data={"csrf_token": csrf, "body": "Switch replaced."})
        again = client.post(f"{page}/resolve", data={"csrf_token": csrf})
        final = client.get(page).text
    assert identified.status_code == 303 and resolved.status_code == 303
    assert bad.status_code == 400  # "completed" is an upgrade's status: the status list never offers it
    assert again.status_code == 400 and "already resolved" in again.text
    assert '<td id="status">resolved</td>' in final and "Switch replaced." in final
    assert 'id="update-form"' not in final
    notice_id = page.split("/")[-1]
    assert [(a, act, t, d) for a, act, t, d in console.audit() if act != "notice_created"] == [
        ("ann", "notice_resolved", notice_id, "resolved"),
        ("ann", "notice_updated", notice_id, "identified"),
    ]


def test_a_refused_notice_shows_why_and_keeps_what_was_typed(console: Console) -> None:
    with signed_in(console.server.url, "ann") as (client, csrf):
        unknown = client.post("/console/notices", data={"csrf_token": csrf, **OUTAGE, "systems": "Nonesuch"})
        no_window = client.post(
            "/console/notices",
            data={
                "csrf_token": csrf,
                "kind": "upgrade",
                "title": "Citrix upgrade",
                "systems": "Citrix Workspace",
            },
        )
        untitled = client.post("/console/notices", data={"csrf_token": csrf, **OUTAGE, "title": " "})
        no_systems = client.post("/console/notices", data={"csrf_token": csrf, **OUTAGE, "systems": ""})
    assert unknown.status_code == 400 and 'role="alert"' in unknown.text
    assert 'value="Nonesuch"' in unknown.text
    assert no_window.status_code == 400 and "when it starts and when it ends" in no_window.text
    assert untitled.status_code == 400 and "The notice needs a title." in untitled.text
    assert no_systems.status_code == 400 and "Name at least one system" in no_systems.text
    for refused in (no_window, untitled, no_systems):  # console wording, not the command line's flags
        assert not re.search(r"--(title|systems|starts|ends)\b", refused.text)
    assert console.notices() == [] and console.audit() == []


def test_a_form_without_its_csrf_token_changes_nothing(console: Console) -> None:
    with signed_in(console.server.url, "ann") as (client, _csrf):
        assert client.post("/console/notices", data=OUTAGE).status_code == 403
    assert console.notices() == []


def test_an_unknown_notice_is_404(console: Console) -> None:
    with signed_in(console.server.url, "ann") as (client, csrf):
        assert client.get("/console/notices/999").status_code == 404
        assert client.post("/console/notices/999/resolve", data={"csrf_token": csrf}).status_code == 404


def test_an_upgrade_says_what_changes_for_staff_and_links_its_downtime_procedure(console: Console) -> None:
    now = datetime.now(UTC)
    upgrade = {
        "kind": "upgrade",
        "title": "Citrix upgrade",
        "systems": "Citrix Workspace",
        "starts": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends": (now + timedelta(days=1, hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "changes": "Log in again after 02:00; your open sessions end.",
    }
    with signed_in(console.server.url, "ann") as (client, csrf):
        typo = client.post(
            "/console/notices", data={"csrf_token": csrf, **upgrade, "procedure": "ehr/epic-login-problem"}
        )
        posted = client.post(
            "/console/notices",
            data={"csrf_token": csrf, **upgrade, "procedure": "/kb/ehr/epic-login-problems"},
        )
        shown = client.get(posted.headers["location"])

    assert typo.status_code == 400 and "Did you mean 'ehr/epic-login-problems'?" in html.unescape(typo.text)
    assert 'value="ehr/epic-login-problem"' in typo.text and "your open sessions end" in typo.text
    assert posted.status_code == 303
    assert "Log in again after 02:00; your open sessions end." in shown.text
    assert '<a href="/kb/ehr/epic-login-problems">ehr/epic-login-problems</a>' in shown.text
    assert console.notices() == [("Citrix upgrade", "scheduled")]
