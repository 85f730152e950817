"""Single sign-on to the console over real HTTP: a fake OpenID Connect provider on loopback, the
itbot server under uvicorn, and an ``httpx`` client that follows redirects and keeps cookies as a
browser would. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.config import Settings
from bot.console.models import AuditEvent
from bot.console.queries import get_user_by_name, list_events
from bot.main import create_app
from tests.console_client import add_user, console_settings
from tests.fakes.assistant import FakeAssistant
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, TENANT, FakeOidcProvider
from tests.live_server import LiveServer, serve
from tests.tiny_kb import write_tiny_kb

ANN = "ann.curator@hospital.example"


@dataclass(frozen=True)
class Sso:
    server: LiveServer
    provider: FakeOidcProvider

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, follow_redirects=True, timeout=30)

    def events(self, action: str) -> list[AuditEvent]:
        with self.server.app.state.sessions() as session:
            return [e for e in list_events(session=session) if e.action == action]

    def role_of(self, name: str) -> str | None:
        with self.server.app.state.sessions() as session:
            user = get_user_by_name(session=session, name=name)
            return user.role.value if user is not None else None


def _sso(db_settings: Settings, **overrides: object) -> Iterator[Sso]:
    with FakeOidcProvider() as provider:
        settings = console_settings(
            db_settings,
            oidc_issuer=provider.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            **overrides,
        )
        write_tiny_kb(settings.kb)
        with serve(create_app(settings, assistant=FakeAssistant())) as server:
            yield Sso(server, provider)


@pytest.fixture
def sso(db_settings: Settings) -> Iterator[Sso]:
    """The console with single sign-on at a fake provider, on each database."""
    yield from _sso(db_settings, oidc_role_map="ITBot.Curator=curator,ITBot.Admin=admin")


def sign_in_with_sso(client: httpx.Client) -> httpx.Response:
    """Click "Sign in with single sign-on" on the sign-in page and follow the provider's redirects back;
    then go where the callback's page moves on to (as its meta refresh does). The last response."""
    login = client.get("/console/login")
    link = re.search(r'id="sso-button" href="([^"]+)"', login.text)
    assert link is not None, "no single sign-on button"
    back = client.get(link.group(1).replace("&amp;", "&"))
    if back.status_code != 200 or 'id="sso-done"' not in back.text:
        return back
    onward = re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', back.text)
    assert onward is not None
    return client.get(onward.group(1))


def test_first_sign_in_makes_a_viewer_account_and_audits_who_and_from_where(sso: Sso) -> None:
    with sso.client() as client:
        page = sign_in_with_sso(client)
        assert page.status_code == 200 and page.url.path == "/console/articles"
        assert f"{ANN} (viewer)" in page.text
        assert client.get("/console/audit").status_code == 403  # a viewer, not more
    asked = sso.provider.authorize_requests[0]
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["nonce"] and asked["state"] and asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == f"{sso.server.url}/console/sso/callback"
    assert sso.provider.token_requests[0]["code_verifier"]
    created = sso.events("sso_account_created")
    assert [(e.target, e.address) for e in created] == [(ANN, "127.0.0.1")]
    assert f"{sso.provider.issuer} sub-ann-0001" in created[0].detail
    assert [(e.actor, e.detail, e.address) for e in sso.events("sign_in")] == [(ANN, "sso", "127.0.0.1")]


def test_the_role_claim_maps_to_a_role_at_every_sign_in(sso: Sso) -> None:
    sso.provider.user["roles"] = ["ITBot.Curator", "Other.Thing"]
    with sso.client() as client:
        assert f"{ANN} (curator)" in sign_in_with_sso(client).text
    sso.provider.user["roles"] = ["ITBot.Admin"]
    with sso.client() as client:
        sign_in_with_sso(client)
        assert client.get("/console/audit").status_code == 200
    assert sso.role_of(ANN) == "admin"
    assert [e.detail for e in sso.events("sso_role_changed")] == ["curator -> admin"]
    assert len(sso.events("sso_account_created")) == 1  # the same identity, the same account


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        ({"nonce": "a-nonce-this-attempt-never-sent"}, "nonce"),
        ({"iss": "https://login.example.invalid/other-tenant/v2.0"}, "iss"),
        ({"aud": "some-other-app"}, "aud"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "exp"),
        ({"key": "other"}, "signature"),
    ],
)
def test_an_id_token_that_fails_a_check_is_refused_without_a_session(
    sso: Sso, tamper: dict[str, object], why: str
) -> None:
    sso.provider.tamper = tamper
    with sso.client() as client:
        answer = sign_in_with_sso(client)
        assert answer.status_code == 401
        assert "Single sign-on did not work" in answer.text
        assert "itbot_console" not in client.cookies
        assert client.get("/console/articles", follow_redirects=False).status_code == 303
    assert sso.role_of(ANN) is None  # no account was made
    assert sso.events("sign_in") == []
    failed = sso.events("sso_failed")
    assert len(failed) == 1 and failed[0].address == "127.0.0.1"
    detail = failed[0].detail.lower()
    assert why in detail or (why == "signature" and "badsignature" in detail), detail


def test_a_callback_without_the_browsers_state_cookie_or_a_second_time_is_refused(sso: Sso) -> None:
    with sso.client() as client:
        client.get("/console/login")
        to_provider = client.get("/console/sso/start", follow_redirects=False)
        assert to_provider.status_code == 303
        back = httpx.get(to_provider.headers["location"], follow_redirects=False).headers["location"]
    with sso.client() as stranger:  # another browser brings the code back: no state cookie
        assert stranger.get(back).status_code == 401
    with sso.client() as client:
        client.get("/console/login")
        to_provider = client.get("/console/sso/start", follow_redirects=False)
        back = httpx.get(to_provider.headers["location"], follow_redirects=False).headers["location"]
        state = client.cookies["itbot_console_sso"]
        assert client.get(back).status_code == 200  # the first time signs in
        client.cookies.set("itbot_console_sso", state, path="/console/sso")
        client.cookies.delete("itbot_console")
        assert client.get(back).status_code == 401  # a replay does not
    reasons = [e.detail for e in sso.events("sso_failed")]
    assert reasons == ["unknown_or_expired_state", "state_mismatch"]  # newest first


def test_a_tenant_not_allowed_is_refused(db_settings: Settings) -> None:
    for sso in _sso(db_settings, oidc_allowed_tenants="99999999-0000-0000-0000-000000000000"):
        with sso.client() as client:
            assert sign_in_with_sso(client).status_code == 401
        assert [e.detail for e in sso.events("sso_failed")] == ["tenant_not_allowed"]
        sso.provider.user["tid"] = TENANT


def test_a_disabled_sso_account_and_a_name_held_by_a_local_account_are_refused(sso: Sso) -> None:
    add_user(sso.server.app.state.settings, ANN, "admin")  # a local account already has the name
    with sso.client() as client:
        assert sign_in_with_sso(client).status_code == 401
    assert sso.role_of(ANN) == "admin"  # the local account is not taken over
    assert [e.detail for e in sso.events("sso_failed")] == ["name_taken"]


def test_the_button_is_shown_only_when_single_sign_on_is_configured(sso: Sso, web_settings: Settings) -> None:
    with sso.client() as client:
        assert "Sign in with single sign-on" in client.get("/console/login").text
    plain = console_settings(web_settings)
    write_tiny_kb(plain.kb)
    with (
        serve(create_app(plain, assistant=FakeAssistant())) as server,
        httpx.Client(base_url=server.url) as c,
    ):
        assert "single sign-on" not in c.get("/console/login").text
        assert c.get("/console/sso/start").status_code == 404
