"""The console's review in a real browser: a curator turns an unanswered group into a draft; a second
curator signs in with single sign-on (a fake OpenID Connect provider on loopback) and publishes it;
the bot's answer changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from bot.interactions.models import InteractionCreate
from bot.interactions.queries import create_interaction
from bot.main import create_app
from tests.console_client import PASSWORD, add_user, console_settings, indexed_assistant
from tests.databases import sqlite_settings
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeOidcProvider
from tests.live_server import LiveServer, serve

pytestmark = pytest.mark.e2e

QUESTION = "the pager app keeps crashing on my phone"
FIX = "Update the pager app from the company portal, then restart the phone."


@dataclass(frozen=True)
class Console:
    server: LiveServer
    provider: FakeOidcProvider


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """itbot (real assistant, hashing encoder) with single sign-on at a fake provider, a password
    curator "cora", and two staff questions the bot could not answer."""
    with FakeOidcProvider() as provider:
        settings = console_settings(
            sqlite_settings(tmp_path),
            console_gap_similarity=0.2,
            oidc_issuer=provider.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            oidc_role_map="ITBot.Curator=curator",
        )
        provider.user["roles"] = ["ITBot.Curator"]
        app = create_app(settings, assistant=indexed_assistant(settings))
        add_user(settings, "cora", "curator")
        with serve(app) as server:
            for who, text in (("u1", "pager app crashes on my phone"), ("u2", QUESTION)):
                with app.state.sessions() as session:
                    create_interaction(
                        session=session,
                        data=InteractionCreate(
                            channel="web", user_id=who, question=text, decision="escalate"
                        ),
                    )
            yield Console(server, provider)


def answer_to(server: LiveServer, text: str) -> str:
    reply = httpx.post(f"{server.url}/api/ask", json={"text": text}, timeout=30).json()
    return str(reply["text"])


def test_gap_to_draft_to_publish_by_a_second_curator_changes_the_answer(
    page: Page, browser: Browser, console: Console
) -> None:
    url = console.server.url
    assert FIX not in answer_to(console.server, QUESTION)

    page.goto(f"{url}/console/gaps")
    page.get_by_label("Name").fill("cora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("main > h1")).to_have_text("What the bot could not answer")
    page.get_by_role("button", name="Write an article").first.click()
    expect(page.locator("#draft-status")).to_have_text("waiting for review")
    expect(page.locator("#asked")).to_contain_text(QUESTION)
    page.get_by_label("Markdown").fill(f"# The pager app crashes\n\n## Fix it\n\n1. {FIX}\n")
    expect(page.locator("#preview li")).to_have_text(FIX)
    page.get_by_role("button", name="Save draft for review").click()
    expect(page.locator("#draft-preview li")).to_have_text(FIX)
    expect(page.locator("#awaiting")).to_be_visible()
    expect(page.locator("#publish")).to_have_count(0)  # the author may not publish it
    draft_url = page.url
    assert FIX not in answer_to(console.server, QUESTION)  # a draft changes nothing yet

    reviewer_context = browser.new_context()
    try:
        reviewer = reviewer_context.new_page()
        reviewer.goto(draft_url)
        reviewer.get_by_role("link", name="Sign in with single sign-on").click()
        expect(reviewer.locator("#draft-author")).to_have_text("cora")
        expect(reviewer.locator(".who")).to_have_text("ann.curator@hospital.example (curator)")
        expect(reviewer.locator("#draft-diff")).to_contain_text(f"+1. {FIX}")
        reviewer.get_by_role("button", name="Publish").click()
        expect(reviewer.locator("#saved")).to_contain_text("Published and re-indexed")
    finally:
        reviewer_context.close()

    assert FIX in answer_to(console.server, QUESTION)
