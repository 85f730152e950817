"""Who may talk to the Teams bot: every activity's token is checked before anything happens.

A forged, expired, wrong-audience, wrong-issuer, unknown-key or missing token, or one whose
``serviceurl`` claim names another connector, gets 401 with a fixed body; nothing is written to the
database and nothing is posted. A valid activity whose service URL is not allowed is refused too,
and the bot never calls that URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.channels.teams.models import TeamsActivity
from bot.config import Settings
from bot.conversations.models import Conversation
from bot.interactions.models import Interaction
from bot.main import create_app
from tests.databases import postgres_settings, sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.teams import FakeTeams, make_key
from tests.integration.test_teams_server import teams_options
from tests.live_server import LiveServer, serve
from tests.teams_payloads import personal, post_activity


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    with FakeTeams() as fake:
        yield fake


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, teams: FakeTeams) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield sqlite_settings(tmp_path, **teams_options(teams))
    else:
        with postgres_settings(tmp_path, **teams_options(teams)) as pg:
            yield pg


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with serve(create_app(settings, assistant=FakeAssistant())) as live:
        yield live


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def rows(server: LiveServer) -> dict[str, int]:
    with server.app.state.sessions() as session:
        return {
            "interactions": len(session.exec(select(Interaction)).all()),
            "conversations": len(session.exec(select(Conversation)).all()),
            "claims": len(session.exec(select(TeamsActivity)).all()),
        }


NOTHING = {"interactions": 0, "conversations": 0, "claims": 0}

BAD_TOKENS = {
    "forged (signed by another key)": lambda t: t.token(key=make_key()),
    "expired an hour ago": lambda t: t.token(expires_in=-3600),
    "for another app": lambda t: t.token(audience="someone-elses-app"),
    "from another issuer": lambda t: t.token(issuer="https://evil.example"),
    "signed with a key id the metadata does not list": lambda t: t.token(kid="unknown-kid"),
    "for another connector": lambda t: t.token(service_url="https://other.example/connector/"),
    "not a JWT": lambda t: "not-a-token",
    "missing": lambda t: "",
}


@pytest.mark.parametrize("why", list(BAD_TOKENS))
def test_a_bad_token_is_refused_with_401_and_changes_nothing(
    why: str, server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    activity = personal(teams, "epic keeps logging me out, MRN 12345678")

    response = post_activity(http, server.url, teams, activity, token=BAD_TOKENS[why](teams))

    assert response.status_code == 401, why
    assert response.json() == {
        "error": "unauthorized",
        "message": "The request's token could not be verified.",
    }
    teams.settle(quiet=0.3)
    assert teams.of() == []
    assert rows(server) == NOTHING


def test_a_token_without_an_expiry_is_refused(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    import jwt

    claims = {"iss": "https://api.botframework.com", "aud": teams_options(teams)["teams_app_id"]}
    claims["serviceurl"] = teams.service_url
    token = jwt.encode(claims, teams.key, algorithm="RS256", headers={"kid": "test-key-1"})

    assert post_activity(http, server.url, teams, personal(teams, "epic"), token=token).status_code == 401
    assert rows(server) == NOTHING


def test_a_wrong_scheme_is_refused(server: LiveServer, teams: FakeTeams, http: httpx.Client) -> None:
    activity = personal(teams, "epic keeps logging me out")
    headers = {"Authorization": f"Basic {teams.token()}"}
    response = http.post(f"{server.url}/api/messages", json=activity, headers=headers)
    assert response.status_code == 401
    assert rows(server) == NOTHING


def test_a_service_url_not_allowed_is_never_called(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    with FakeTeams() as elsewhere:  # a connector at an address not in ITBOT_TEAMS_SERVICE_URLS
        activity = personal(teams, "epic keeps logging me out")
        activity["serviceUrl"] = elsewhere.service_url
        token = teams.token(service_url=elsewhere.service_url)  # correctly signed for that URL

        response = post_activity(http, server.url, teams, activity, token=token)

        assert response.status_code == 403
        elsewhere.settle(quiet=0.5)
        assert elsewhere.of() == [] and elsewhere.token_requests == []
        assert teams.of() == []
        assert rows(server) == NOTHING


def test_a_good_token_is_accepted_after_bad_ones(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    post_activity(http, server.url, teams, personal(teams, "epic"), token=teams.token(kid="unknown-kid"))
    response = post_activity(http, server.url, teams, personal(teams, "epic keeps logging me out"))
    assert response.status_code == 200
    teams.wait_for("reply")


def test_a_rotated_key_is_fetched_and_accepted_and_made_up_key_ids_do_not_refetch_each_time(
    server: LiveServer, teams: FakeTeams, http: httpx.Client
) -> None:
    assert post_activity(http, server.url, teams, personal(teams, "epic", chat="a:1")).status_code == 200
    assert teams.key_fetches == 1

    teams.publish_key("rotated-key-2")  # Microsoft publishes a new key, then signs with it
    rotated = teams.token(kid="rotated-key-2")
    response = post_activity(http, server.url, teams, personal(teams, "epic", chat="a:2"), token=rotated)

    assert response.status_code == 200
    assert teams.key_fetches == 2
    for n in range(5):
        made_up = teams.token(kid=f"made-up-{n}", key=make_key())
        refused = post_activity(http, server.url, teams, personal(teams, "x", chat=f"a:x{n}"), token=made_up)
        assert refused.status_code == 401
    assert teams.key_fetches == 2  # within five minutes of the last fetch: not fetched again
    teams.wait_for("reply", count=2)
