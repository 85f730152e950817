"""The web chat under the HTTP guards (finding 6), in a real browser: the page's own requests pass the
origin and content-type checks, and a rate limit's message is what the person reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.main import create_app
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

pytestmark = pytest.mark.e2e


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[LiveServer]:
    """itbot (fake assistant) that lets one conversation ask twice a minute."""
    settings = sqlite_settings(tmp_path, asks_per_minute_per_conversation=2)
    with serve(create_app(settings, assistant=FakeAssistant())) as server:
        yield server


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


def test_the_page_is_answered_then_told_to_wait_when_over_the_limit(
    page: Page, limited_server: LiveServer
) -> None:
    page.goto(limited_server.url)

    ask(page, "epic login fails")
    expect(page.locator('.msg.bot[data-decision="answer"]')).to_have_count(1)
    ask(page, "epic login still fails")
    expect(page.locator('.msg.bot[data-decision="answer"]')).to_have_count(2)
    ask(page, "epic login fails again")

    refused = page.locator(".msg.bot.error")
    expect(refused).to_contain_text("faster than I can keep up with")
    expect(refused).to_contain_text("wait a moment")
    expect(page.locator('.msg.bot[data-decision="answer"]')).to_have_count(2)
