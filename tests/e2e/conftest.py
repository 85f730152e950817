"""Fixtures for the e2e tier: Debian's chromium driven by Playwright, and a live itbot server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from bot.config import Settings
from bot.core.assistant import Assistant
from bot.core.policy import PolicyParams
from bot.main import create_app
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve
from tests.tiny_kb import write_tiny_kb

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Thresholds that suit the hashing encoder's scores (the real model's defaults would escalate).
HASHING_POLICY = PolicyParams(
    answer_score=0.3, answer_margin=0.02, clarify_score=0.2, min_known_share=0.0, answer_confidence=0.0
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless; skipped when it is not installed, unless ``CI=true``."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: e2e tests must run, not skip)")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page; fails the test on any JavaScript error."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def e2e_settings(tmp_path: Path) -> Settings:
    """Settings on ``tmp_path`` with the tiny knowledge folder written and indexed (hashing encoder)."""
    settings = sqlite_settings(tmp_path, service_desk_phone="x4357")
    write_tiny_kb(settings.kb)
    build_index(settings.kb, settings.index_root, HashingEncoder())
    return settings


@pytest.fixture
def live_server(e2e_settings: Settings) -> Iterator[LiveServer]:
    """itbot with the real assistant (hashing encoder) on a free loopback port."""
    assistant = Assistant(e2e_settings, encoder=HashingEncoder(), policy=HASHING_POLICY)
    with serve(create_app(e2e_settings, assistant=assistant)) as server:
        yield server


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[LiveServer]:
    """itbot with the fake assistant (deterministic decisions: "print" always asks to choose)."""
    with serve(create_app(sqlite_settings(tmp_path / "fake"), assistant=FakeAssistant())) as server:
        yield server
