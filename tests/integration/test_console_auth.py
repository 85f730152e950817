"""The IT console's sign-in, roles, CSRF and audit log, over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.config import Settings
from bot.main import create_app
from tests.console_client import (
    PASSWORD,
    ROLES,
    add_user,
    console_settings,
    csrf_of,
    signed_in,
    try_sign_in,
    users,
)
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve
from tests.tiny_kb import write_tiny_kb


@dataclass(frozen=True)
class Console:
    server: LiveServer
    settings: Settings

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, follow_redirects=False, timeout=30)

    def audit(self) -> list[dict[str, str]]:
        with signed_in(self.server.url, "root") as (client, _csrf):
            answer = client.get("/console/audit.csv")
        assert answer.status_code == 200
        return list(csv.DictReader(io.StringIO(answer.text)))


def _console(db_settings: Settings, **overrides: object) -> Iterator[Console]:
    settings = console_settings(db_settings, **overrides)
    write_tiny_kb(settings.kb)
    app = create_app(settings, assistant=FakeAssistant())
    for role in ROLES:
        add_user(settings, role, role)
    add_user(settings, "root", "admin")
    with serve(app) as server:
        yield Console(server, settings)


@pytest.fixture
def console(db_settings: Settings) -> Iterator[Console]:
    """The app (fake assistant) with one account per role and an admin "root", on each database."""
    yield from _console(db_settings)


def test_right_password_signs_in_with_a_strict_httponly_session_cookie(console: Console) -> None:
    with console.client() as client:
        answer = try_sign_in(client, "curator")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/articles"
        cookie = next(
            v for k, v in answer.headers.multi_items() if k == "set-cookie" and "itbot_console=" in v
        )
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        assert client.get("/console/articles").status_code == 200


def test_the_session_cookie_is_secure_unless_turned_off(db_settings: Settings) -> None:
    settings = db_settings.model_copy()  # the default: Secure
    write_tiny_kb(settings.kb)
    add_user(settings, "ann", "viewer")
    with (
        serve(create_app(settings, assistant=FakeAssistant())) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        token = csrf_of(client.get("/console/login").text)
        # httpx keeps a Secure cookie from http://127.0.0.1 to itself, so it goes back by hand.
        answer = client.post(
            "/console/login",
            data={"name": "ann", "password": PASSWORD, "csrf_token": token},
            headers={"cookie": f"itbot_console_login={token}"},
        )
    assert answer.status_code == 303
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "itbot_console=" in v)
    assert "secure" in cookie.lower()


def test_wrong_password_is_refused_with_the_same_sentence_as_an_unknown_name(console: Console) -> None:
    with console.client() as client:
        wrong = try_sign_in(client, "curator", "not the password at all")
        unknown = try_sign_in(client, "nobody-here", PASSWORD)
        assert wrong.status_code == unknown.status_code == 401
        assert "itbot_console=" not in wrong.headers.get("set-cookie", "")
        assert client.get("/console/articles").status_code == 303
    sentence = "That name and password do not match an account that may sign in now."
    assert sentence in wrong.text and sentence in unknown.text


def test_five_failures_lock_the_account_even_against_the_right_password(console: Console) -> None:
    with console.client() as client:
        for _ in range(5):
            assert try_sign_in(client, "agent", "wrong password, again").status_code == 401
        assert try_sign_in(client, "agent", PASSWORD).status_code == 401
        assert try_sign_in(client, "viewer", PASSWORD).status_code == 303  # other accounts unaffected
    actions = [row["action"] for row in console.audit() if row["target"] == "agent"]
    assert "account_locked" in actions
    code, _out, _err = users(console.settings, "enable", "agent")  # an admin lifts the lock
    assert code == 0
    with console.client() as client:
        assert try_sign_in(client, "agent", PASSWORD).status_code == 303


def test_sign_in_attempts_are_rate_limited_per_address(db_settings: Settings) -> None:
    for console in _console(db_settings, console_logins_per_minute_per_address=3):
        with console.client() as client:
            codes = [try_sign_in(client, name, "wrong password here").status_code for name in ROLES]
            assert codes == [401, 401, 401, 429]
            assert try_sign_in(client, "root").status_code == 429  # even the right password waits
            assert int(try_sign_in(client, "root").headers["retry-after"]) >= 1


def test_sign_in_form_without_its_token_is_refused(console: Console) -> None:
    with console.client() as client:
        client.get("/console/login")
        answer = client.post("/console/login", data={"name": "root", "password": PASSWORD, "csrf_token": "x"})
    assert answer.status_code == 403
    assert "itbot_console=" not in answer.headers.get("set-cookie", "")


def test_pages_redirect_to_sign_in_and_json_gets_401_without_a_session(console: Console) -> None:
    with console.client() as client:
        for path in (
            "/console",
            "/console/articles",
            "/console/audit",
            "/console/articles/ehr/epic-login-problems",
        ):
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/console/login?next=")
        answer = client.post(
            "/console/preview", json={"markdown": "x"}, headers={"accept": "application/json"}
        )
        assert answer.status_code == 401
        assert answer.json()["error"] == "sign_in_required"
    with httpx.Client(base_url=console.server.url, cookies={"itbot_console": "not-a-session"}) as client:
        assert client.get("/console/articles", follow_redirects=False).status_code == 303


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(console: Console) -> None:
    with console.client() as client:
        form = client.get("/console/login")
        token = csrf_of(form.text)
        data = {"name": "viewer", "password": PASSWORD, "csrf_token": token}
        assert client.post("/console/login", data={**data, "next": "/console/audit"}).headers["location"] == (
            "/console/audit"
        )
        token = csrf_of(client.get("/console/login").text)
        bad = client.post(
            "/console/login", data={**data, "csrf_token": token, "next": "https://evil.example/console"}
        )
        assert bad.headers["location"] == "/console/articles"


def test_a_link_with_a_query_leads_back_to_it_whole_after_signing_in(console: Console) -> None:
    wanted = "/console/analytics?start=2026-01-01&end=2026-01-31"
    with console.client() as client:
        sent = client.get(wanted).headers["location"]
        form = client.get(sent)
        assert 'name="next" value="/console/analytics?start=2026-01-01&amp;end=2026-01-31"' in form.text
        data = {"name": "viewer", "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": wanted}
        assert client.post("/console/login", data=data).headers["location"] == wanted


# Each role's forbidden routes: (method, path, least role that may).
GUARDED = [
    ("GET", "/console/articles", "viewer"),
    ("GET", "/console/gaps", "viewer"),
    ("POST", "/console/preview", "curator"),
    ("POST", "/console/try", "curator"),
    ("POST", "/console/articles/printing/office-printer-offline", "curator"),
    ("GET", "/console/audit", "admin"),
    ("GET", "/console/audit.csv", "admin"),
    ("GET", "/console/users", "admin"),
]


def test_each_role_gets_403_on_routes_above_it(console: Console) -> None:
    for role in ROLES:
        with signed_in(console.server.url, role) as (client, csrf):
            for method, path, least in GUARDED:
                if method == "GET":
                    answer = client.get(path)
                elif path == "/console/preview":
                    answer = client.post(path, json={"markdown": "# hi"}, headers={"x-csrf-token": csrf})
                else:
                    # Refused before anything is read or saved, so a bare form is enough.
                    answer = client.post(path, data={"csrf_token": csrf, "question": "printer", "base": "x"})
                allowed = ROLES.index(role) >= ROLES.index(least)
                if allowed:
                    assert answer.status_code != 403, (role, path)
                else:
                    assert answer.status_code == 403, (role, path)


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(console: Console) -> None:
    with signed_in(console.server.url, "curator") as (client, csrf):
        missing = client.post("/console/preview", json={"markdown": "# hi"})
        wrong = client.post(
            "/console/preview", json={"markdown": "# hi"}, headers={"x-csrf-token": csrf + "x"}
        )
        form = client.post("/console/try", data={"question": "printer", "article_id": "x"})
        other = client.post("/console/logout", data={"csrf_token": "forged"})
        right = client.post("/console/preview", json={"markdown": "# hi"}, headers={"x-csrf-token": csrf})
    assert [missing.status_code, wrong.status_code, form.status_code, other.status_code] == [
        403,
        403,
        403,
        403,
    ]
    assert right.status_code == 200 and "<h1>hi</h1>" in right.json()["html"]


def test_a_post_from_another_site_is_refused_even_with_the_token(console: Console) -> None:
    with signed_in(console.server.url, "curator") as (client, csrf):
        answer = client.post(
            "/console/preview",
            json={"markdown": "# hi"},
            headers={"x-csrf-token": csrf, "origin": "https://evil.example"},
        )
    assert answer.status_code == 403
    assert answer.json()["error"] == "cross_site"


def test_signing_out_ends_the_session_on_the_server(console: Console) -> None:
    with signed_in(console.server.url, "viewer") as (client, csrf):
        token = client.cookies["itbot_console"]
        assert client.post("/console/logout", data={"csrf_token": csrf}).status_code == 303
    with httpx.Client(base_url=console.server.url, cookies={"itbot_console": token}) as client:
        assert client.get("/console/articles", follow_redirects=False).status_code == 303


def test_a_disabled_account_loses_its_session_at_once(console: Console) -> None:
    with signed_in(console.server.url, "agent") as (client, _csrf):
        assert users(console.settings, "disable", "agent")[0] == 0
        assert client.get("/console/articles").status_code == 303
        assert try_sign_in(client, "agent").status_code == 401


def test_a_role_change_applies_to_the_next_request(console: Console) -> None:
    with signed_in(console.server.url, "viewer") as (client, _csrf):
        assert client.get("/console/audit").status_code == 403
        assert users(console.settings, "set-role", "viewer", "admin")[0] == 0
        assert client.get("/console/audit").status_code == 200


def test_sign_ins_are_audited_with_who_what_when_and_the_address(db_settings: Settings) -> None:
    for console in _console(db_settings, trusted_proxies="127.0.0.1"):
        with console.client() as client:
            try_sign_in(client, "curator", "wrong password here", **{"x-forwarded-for": "203.0.113.9"})
            try_sign_in(client, "curator", PASSWORD, **{"x-forwarded-for": "203.0.113.9"})
        rows = console.audit()
        mine = [(r["action"], r["target"], r["address"]) for r in rows if r["target"] == "curator"]
        assert ("sign_in_failed", "curator", "203.0.113.9") in mine
        assert ("sign_in", "curator", "203.0.113.9") in mine
        assert all(r["at"] for r in rows)
        assert ("user_added", "cli", "local") in [(r["action"], r["actor"], r["address"]) for r in rows]
        assert "audit_exported" in [r["action"] for r in console.audit()]
        with signed_in(console.server.url, "root") as (client, _csrf):
            page = client.get("/console/audit")
        assert page.status_code == 200 and "203.0.113.9" in page.text


def test_users_cli_adds_lists_and_refuses_short_or_duplicate_accounts(console: Console) -> None:
    assert users(console.settings, "add", "bob", "--role", "curator", stdin="short\n")[0] == 1
    assert users(console.settings, "add", "viewer", "--role", "curator", stdin=PASSWORD + "\n")[0] == 1
    code, out, _err = users(console.settings, "list", "--json")
    assert code == 0
    assert {"name": "root", "role": "admin", "disabled": False} in __import__("json").loads(out)
    rows = [r for r in console.audit() if r["action"] == "user_added"]
    assert all(PASSWORD not in value for row in rows for value in row.values())
