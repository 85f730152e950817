"""Driving the IT console over HTTP in tests: accounts made with ``itbot users add``, a signed-in
``httpx`` client, and the CSRF token read from a page as a browser would."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bot.channels.cli.main import build_parser
from bot.channels.cli.users import run as run_users
from bot.config import Settings
from bot.core.assistant import Assistant
from bot.core.policy import PolicyParams
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from tests.tiny_kb import write_tiny_kb

PASSWORD = "correct horse battery staple"
ROLES = ("viewer", "curator", "agent", "admin")
# Thresholds that suit the hashing encoder's scores (as tests/e2e/conftest.py uses them).
HASHING_POLICY = PolicyParams(
    answer_score=0.3, answer_margin=0.02, clarify_score=0.2, min_known_share=0.0, answer_confidence=0.0
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_settings(settings: Settings, **overrides: object) -> Settings:
    """``settings`` for a console served over http://127.0.0.1 (cookies without Secure)."""
    return settings.model_copy(update={"console_cookie_secure": False, **overrides})


def indexed_assistant(settings: Settings) -> Assistant:
    """The real assistant (hashing encoder) over the tiny knowledge folder, written and indexed."""
    write_tiny_kb(settings.kb)
    build_index(settings.kb, settings.index_root, HashingEncoder())
    return Assistant(settings, encoder=HashingEncoder(), policy=HASHING_POLICY)


def users(settings: Settings, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    """Run ``itbot users ARGV...`` with ``stdin``: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = run_users(settings, build_parser().parse_args(["users", *argv]), out, err, io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def add_user(settings: Settings, name: str, role: str, password: str = PASSWORD) -> None:
    """Add an account with ``itbot users add``, the password on standard input."""
    code, _out, err = users(settings, "add", name, "--role", role, stdin=password + "\n")
    assert code == 0, err


def csrf_of(html: str) -> str:
    """The first CSRF token in a page's forms."""
    found = _CSRF.search(html)
    assert found is not None, "no csrf_token field on the page"
    return found.group(1)


def try_sign_in(client: httpx.Client, name: str, password: str = PASSWORD, **headers: str) -> httpx.Response:
    """Open the sign-in page and post its form; the response (303 on success)."""
    form = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"name": name, "password": password, "csrf_token": csrf_of(form.text)},
        headers=headers,
    )


@contextmanager
def signed_in(url: str, name: str, password: str = PASSWORD) -> Iterator[tuple[httpx.Client, str]]:
    """An ``httpx`` client signed in as ``name`` and its session's CSRF token."""
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as client:
        answer = try_sign_in(client, name, password)
        assert answer.status_code == 303, answer.text
        page = client.get("/console/articles")
        assert page.status_code == 200, page.text
        yield client, csrf_of(page.text)


def article_file(settings: Settings, article_id: str) -> Path:
    """Where the article ``article_id`` lives in the knowledge folder."""
    return settings.kb / f"{article_id}.md"
