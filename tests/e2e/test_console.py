"""The IT console in a real browser: sign in, edit an article, watch the preview, save, and see the
bot's new answer in "Try a question"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.main import create_app
from tests.console_client import PASSWORD, add_user, article_file, console_settings, indexed_assistant
from tests.databases import sqlite_settings
from tests.live_server import LiveServer, serve

pytestmark = pytest.mark.e2e

ARTICLE = "printing/office-printer-offline"


@pytest.fixture
def console_server(tmp_path: Path) -> Iterator[LiveServer]:
    """itbot with the real assistant (hashing encoder) and a curator account, on a loopback port."""
    settings = console_settings(sqlite_settings(tmp_path), console_article_review=False)
    assistant = indexed_assistant(settings)
    add_user(settings, "cora", "curator")
    with serve(create_app(settings, assistant=assistant)) as server:
        yield server


def test_sign_in_edit_an_article_and_see_the_new_answer(page: Page, console_server: LiveServer) -> None:
    page.goto(f"{console_server.url}/console/articles/{ARTICLE}")
    expect(page).to_have_url(f"{console_server.url}/console/login?next=/console/articles/{ARTICLE}")
    page.get_by_label("Name").fill("cora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main > h1")).to_have_text("Office printer shows offline")
    expect(page.locator("#preview h1")).to_have_text("Office printer shows offline")

    body = page.get_by_label("Markdown")
    body.press("Control+End")
    body.type(
        "\n\n## Fax machine jams\n\n1. Open the fax tray and lift out the jammed sheet by both corners.\n"
    )
    expect(page.locator("#preview h2", has_text="Fax machine jams")).to_be_visible()
    page.get_by_role("button", name="Save and re-index").click()
    expect(page.locator("#saved")).to_contain_text("Saved and re-indexed")

    page.get_by_label("Question").fill("the fax machine on the ward keeps jamming")
    page.get_by_role("button", name="Ask the bot").click()
    expect(page.locator("#tried-decision")).to_have_text("answer")
    expect(page.locator("#tried-text")).to_contain_text("lift out the jammed sheet")
    expect(page.locator("#tried code.cited").first).to_have_text(ARTICLE)
    assert "lift out the jammed sheet" in article_file(console_server.app.state.settings, ARTICLE).read_text()
