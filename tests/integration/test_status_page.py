"""``GET /status`` and ``GET /api/status`` over real HTTP, on SQLite and PostgreSQL: no login, every
system with its state, the active and upcoming notices, and the last 7 days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.db import session_factory
from bot.interactions.models import utcnow
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice, resolve_notice
from bot.notices.models import Impact, NoticeKind
from bot.notices.registry import ensure_seeded
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

KB = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture
def server(db_settings: Settings) -> Iterator[LiveServer]:
    settings = db_settings.model_copy(update={"kb": KB})
    app = create_app(settings, assistant=FakeAssistant())
    with serve(app) as live:
        now = utcnow()
        with session_factory(app.state.engine)() as session:
            ensure_seeded(session=session, kb=KB)
            open_notice(
                session=session,
                new=NewNotice(
                    kind=NoticeKind.OUTAGE,
                    title="Vocera <down> on 4 West",
                    systems=["Vocera"],
                    impact=Impact.DOWN,
                    sites=["4 West"],
                    body="Use unit phones.",
                ),
                now=now,
            )
            open_notice(
                session=session,
                new=NewNotice(
                    kind=NoticeKind.UPGRADE,
                    title="Epic upgrade Sunday",
                    systems=["Epic"],
                    starts_at=now + timedelta(days=2),
                    ends_at=now + timedelta(days=2, hours=3),
                    staff_changes="New banner.",
                    procedure_article="downtime/ehr-downtime-procedures",
                ),
                now=now,
                kb=KB,
            )
            old = open_notice(
                session=session,
                new=NewNotice(kind=NoticeKind.OUTAGE, title="Email delayed", systems=["Outlook"]),
                now=now - timedelta(hours=5),
            )
            assert old.id is not None
            resolve_notice(session=session, notice_id=old.id, now=now - timedelta(hours=1), body="Fixed.")
            session.commit()
        yield live


def test_the_status_json_has_every_system_and_the_notices_by_when(server: LiveServer) -> None:
    board = httpx.get(f"{server.url}/api/status", timeout=10).json()

    states = {s["name"]: s["state"] for s in board["systems"]}
    assert (
        states["Vocera"] == "down" and states["Epic"] == "operational" and states["Outlook"] == "operational"
    )
    assert board["systems"][0]["name"] == "Vocera"
    assert [n["title"] for n in board["active"]] == ["Vocera <down> on 4 West"]
    assert [n["title"] for n in board["upcoming"]] == ["Epic upgrade Sunday"]
    assert [n["title"] for n in board["recent"]] == ["Email delayed"]
    assert all(u["author"] == "" for n in board["recent"] for u in n["updates"])


def test_the_status_page_needs_no_login_and_escapes_what_it_shows(server: LiveServer) -> None:
    page = httpx.get(f"{server.url}/status", timeout=10)

    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'name="viewport"' in page.text
    assert "Vocera &lt;down&gt; on 4 West" in page.text and "<down>" not in page.text
    assert "Epic upgrade Sunday" in page.text and "New banner." in page.text
    assert '<a href="/kb/downtime/ehr-downtime-procedures">' in page.text
    assert "Email delayed" in page.text and "Citrix Workspace" in page.text


def test_an_upcoming_upgrade_shows_its_window_what_changes_and_the_downtime_procedure(
    server: LiveServer,
) -> None:
    board = httpx.get(f"{server.url}/api/status", timeout=10).json()
    page = httpx.get(f"{server.url}/status", timeout=10).text

    [upgrade] = board["upcoming"]
    assert upgrade["starts"] and upgrade["ends"] and upgrade["staff_changes"] == "New banner."
    assert upgrade["procedure_article"] == "downtime/ehr-downtime-procedures"
    card = page.split('class="notice notice-upgrade"', 1)[1].split("</article>", 1)[0]
    assert "Window: " in card and " UTC to " in card
    assert "What changes for you:</strong> New banner." in card
    assert 'Downtime procedure: <a href="/kb/downtime/ehr-downtime-procedures">' in card
