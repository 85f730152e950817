"""Finding 10: ``/openapi.json`` described the tickets API to anyone, and trailing-slash redirects were
built from the ``Host`` header (``Host: evil.example`` → ``Location: http://evil.example/…``).

Now the API description (``/openapi.json``, ``/docs``) is served only when ``ITBOT_API_DOCS`` is on,
the server makes no trailing-slash redirects (``/api/tickets/`` is routed as ``/api/tickets``), any
redirect to the server itself is relative, and ``ITBOT_ALLOWED_HOSTS`` (when set) refuses other hosts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.http_guards import relative_location
from tests.live_server import LiveServer
from tests.security.web_app import TOKEN, server_with

EVIL = "evil.example"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with server_with(tmp_path) as live:
        yield live


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_api_description_is_not_served_by_default(server: LiveServer, path: str) -> None:
    response = httpx.get(f"{server.url}{path}", timeout=10)

    assert response.status_code == 404
    assert "/api/tickets" not in response.text


def test_the_api_description_is_served_when_turned_on(tmp_path: Path) -> None:
    with server_with(tmp_path, api_docs=True) as live:
        described = httpx.get(f"{live.url}/openapi.json", timeout=10)
        docs = httpx.get(f"{live.url}/docs", timeout=10)

    assert described.status_code == 200
    assert "/api/ask" in described.json()["paths"]
    assert docs.status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/healthz/", "/api/tickets/", "/api/tickets", "/kb/", "/static/", "/api/status/", "/console/", "/x/"],
)
def test_no_answer_points_at_the_host_the_client_named(server: LiveServer, path: str) -> None:
    response = httpx.get(
        f"{server.url}{path}",
        headers={"host": EVIL, "authorization": f"Bearer {TOKEN}"},
        follow_redirects=False,
        timeout=10,
    )

    location = response.headers.get("location", "")
    assert EVIL not in location
    assert not location.startswith(("http:", "https:", "//"))
    assert EVIL not in response.text


def test_the_ticket_list_answers_with_and_without_the_trailing_slash(server: LiveServer) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}

    plain = httpx.get(f"{server.url}/api/tickets", headers=auth, timeout=10)
    slashed = httpx.get(f"{server.url}/api/tickets/", headers=auth, follow_redirects=False, timeout=10)

    assert (plain.status_code, slashed.status_code) == (200, 200)
    assert slashed.json() == plain.json()


def test_allowed_hosts_refuses_any_other_host(tmp_path: Path) -> None:
    with server_with(tmp_path, allowed_hosts="itbot.hospital.example, 127.0.0.1") as live:
        evil = httpx.get(f"{live.url}/healthz", headers={"host": EVIL}, timeout=10)
        named = httpx.get(f"{live.url}/healthz", headers={"host": "itbot.hospital.example"}, timeout=10)
        by_address = httpx.get(f"{live.url}/healthz", timeout=10)

    assert evil.status_code == 400
    assert named.status_code == by_address.status_code == 200


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("http://evil.example/healthz", "/healthz"),
        ("https://EVIL.example/kb/a?x=1#top", "/kb/a?x=1#top"),
        ("http://evil.example//other.example/x", "/other.example/x"),
        ("http://evil.example", "/"),
        ("https://sso.hospital.example/login", "https://sso.hospital.example/login"),
        ("/already/relative", "/already/relative"),
    ],
)
def test_a_redirect_to_the_requested_host_becomes_relative(location: str, expected: str) -> None:
    assert relative_location(location, host=EVIL) == expected
