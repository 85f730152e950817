"""The notices JSON API over real HTTP, on SQLite and PostgreSQL: protected by the tickets API's
bearer token; posts, updates and resolves notices; bad input is refused with JSON and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.main import create_app
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KB = Path(__file__).resolve().parents[2] / "knowledge"
EPIC = {
    "kind": "outage",
    "title": "Epic is slow",
    "systems": ["Epic"],
    "body": "Slow.",
    "next_update": "+30m",
}


@pytest.fixture
def server(db_settings: Settings) -> Iterator[LiveServer]:
    settings = db_settings.model_copy(update={"tickets_api_token": TOKEN, "kb": KB})
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


def call(server: LiveServer, method: str, path: str, body: Any = None, auth: bool = True) -> httpx.Response:
    return httpx.request(method, f"{server.url}{path}", json=body, headers=AUTH if auth else {}, timeout=10)


def test_without_the_token_the_api_is_401(server: LiveServer) -> None:
    assert call(server, "GET", "/api/notices", auth=False).status_code == 401
    assert call(server, "POST", "/api/notices", EPIC, auth=False).status_code == 401


def test_post_update_resolve_and_list(server: LiveServer) -> None:
    posted = call(server, "POST", "/api/notices", EPIC)
    assert posted.status_code == 201, posted.text
    notice = posted.json()
    assert {"id", "kind", "title", "status", "systems", "body", "next_update"} <= set(notice)
    path = f"/api/notices/{notice['id']}"

    updated = call(server, "POST", f"{path}/update", {"status": "identified", "body": "Storage."})
    resolved = call(server, "POST", f"{path}/resolve", {"body": "Fixed."})
    listed = call(server, "GET", "/api/notices").json()

    assert updated.json()["status"] == "identified" and resolved.json()["status"] == "resolved"
    assert listed["count"] == 1 and [u["status"] for u in listed["data"][0]["updates"]] == [
        "investigating",
        "identified",
        "resolved",
    ]


def test_resolving_a_resolved_notice_is_409(server: LiveServer) -> None:
    notice_id = call(server, "POST", "/api/notices", EPIC).json()["id"]
    call(server, "POST", f"/api/notices/{notice_id}/resolve")

    again = call(server, "POST", f"/api/notices/{notice_id}/resolve")

    assert again.status_code == 409 and "already resolved" in again.json()["message"]


def test_an_unknown_system_is_422_with_a_suggestion_and_writes_nothing(server: LiveServer) -> None:
    refused = call(server, "POST", "/api/notices", {**EPIC, "systems": ["Epic", "Citrx Workspace"]})

    assert refused.status_code == 422 and "Citrix Workspace" in refused.json()["message"]
    assert call(server, "GET", "/api/notices").json()["count"] == 0


def test_an_upgrade_window_in_the_past_is_422(server: LiveServer) -> None:
    body = {
        "kind": "upgrade",
        "title": "Epic upgrade",
        "systems": ["Epic"],
        "starts": "2020-01-01T00:00",
        "ends": "2020-01-01T02:00",
    }
    refused = call(server, "POST", "/api/notices", body)
    assert refused.status_code == 422 and "past" in refused.json()["message"]


def test_an_unknown_notice_is_404(server: LiveServer) -> None:
    assert call(server, "POST", "/api/notices/999/resolve").status_code == 404


def test_systems_show_their_state_and_can_be_added(server: LiveServer) -> None:
    notice_id = call(server, "POST", "/api/notices", EPIC).json()["id"]
    added = call(server, "POST", "/api/systems", {"name": "Lab system", "aliases": ["beaker"]})

    systems = {s["name"]: s for s in call(server, "GET", "/api/systems").json()}

    assert added.status_code == 201
    assert systems["Epic"]["state"] == "degraded" and systems["Epic"]["notices"] == [notice_id]
    assert systems["Lab system"] == {
        "name": "Lab system",
        "aliases": ["beaker"],
        "state": "operational",
        "notices": [],
    }


UPGRADE = {
    "kind": "upgrade",
    "title": "Epic upgrade",
    "systems": ["Epic"],
    "starts": "+2h",
    "ends": "+4h",
    "staff_changes": "Log in with your badge.",
    "downtime_article": "/kb/downtime/ehr-downtime-procedures",
}


def test_an_upgrade_carries_its_window_what_changes_and_its_downtime_article(server: LiveServer) -> None:
    posted = call(server, "POST", "/api/notices", UPGRADE)
    assert posted.status_code == 201, posted.text
    notice = posted.json()

    assert notice["status"] == "scheduled" and notice["starts"] < notice["ends"]
    assert notice["staff_changes"] == "Log in with your badge."
    assert notice["procedure_article"] == "downtime/ehr-downtime-procedures"
    updated = call(
        server, "POST", f"/api/notices/{notice['id']}/update", {"staff_changes": "Badge, then PIN."}
    ).json()
    assert updated["staff_changes"] == "Badge, then PIN."
    assert updated["procedure_article"] == "downtime/ehr-downtime-procedures"


def test_a_downtime_article_the_knowledge_base_lacks_is_422_and_writes_nothing(server: LiveServer) -> None:
    refused = call(server, "POST", "/api/notices", {**UPGRADE, "downtime_article": "downtime/epic-down"})

    assert refused.status_code == 422 and refused.json()["error"] == "unknown_article"
    assert "downtime/" in refused.json()["message"]
    assert call(server, "GET", "/api/notices").json()["count"] == 0


def test_resolving_a_resolved_notice_adds_no_update_so_nothing_is_sent(server: LiveServer) -> None:
    notice_id = call(server, "POST", "/api/notices", EPIC).json()["id"]
    call(server, "POST", f"/api/notices/{notice_id}/resolve", {"body": "Fixed."})

    again = call(server, "POST", f"/api/notices/{notice_id}/resolve", {"body": "Fixed again."})

    assert again.status_code == 409
    assert again.json()["message"] == f"Notice {notice_id} is already resolved; open a new one."
    shown = call(server, "GET", f"/api/notices/{notice_id}").json()
    assert [u["body"] for u in shown["updates"]] == ["Slow.", "Fixed."]
