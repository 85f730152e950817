"""The console's analytics, ticket and notice pages in a real browser: the charts are drawn, a table
downloads as CSV, and an agent works a ticket from start to end.

With ``ITBOT_SCREENSHOTS=<folder>`` each page is also saved there as a PNG (for the README)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.config import Settings
from bot.db import create_db_engine, session_factory
from bot.main import create_app
from tests.console_client import PASSWORD, add_user, console_settings
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.integration.analytics_fixture import seed
from tests.integration.test_console_tickets_pages import open_ticket
from tests.live_server import LiveServer, serve
from tests.tiny_kb import write_tiny_kb

pytestmark = pytest.mark.e2e

RANGE = "start=2026-03-02&end=2026-03-04"


@dataclass(frozen=True)
class Console:
    server: LiveServer
    settings: Settings
    ticket: str


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """The app over the analytics fixture plus one escalated Slack ticket, a viewer and an agent."""
    settings = console_settings(sqlite_settings(tmp_path))
    write_tiny_kb(settings.kb)
    app = create_app(settings, assistant=FakeAssistant())
    engine = create_db_engine(settings)
    with session_factory(engine)() as session:
        seed(session)
        number = open_ticket(session, settings, "epic freezes when I open the MAR", thread="9.1", user="U9")
    engine.dispose()
    add_user(settings, "vic", "viewer")
    add_user(settings, "ann", "agent")
    with serve(app) as server:
        yield Console(server, settings, number)


def sign_in(page: Page, url: str, name: str, path: str) -> None:
    page.goto(f"{url}{path}")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("ITBOT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


# How much of a canvas is painted: the share of its pixels that are not transparent.
PAINTED = """(id) => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
  return {width: canvas.width, height: canvas.height, painted, chart: !!Chart.getChart(canvas)};
}"""


def test_the_analytics_charts_are_drawn_and_a_table_downloads_as_csv(page: Page, console: Console) -> None:
    sign_in(page, console.server.url, "vic", "/console/analytics")
    expect(page.locator("main > h1")).to_have_text("Analytics")
    page.get_by_label("From", exact=True).fill("2026-03-02")
    page.get_by_label("To", exact=True).fill("2026-03-04")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{console.server.url}/console/analytics?{RANGE}")
    expect(page.locator("#fig-questions")).to_have_text("12")
    for chart in ("chart-daily", "chart-outcomes"):
        drawn = page.evaluate(PAINTED, chart)
        assert drawn["chart"] and drawn["width"] > 100 and drawn["height"] > 100
        assert drawn["painted"] > 500, f"{chart} looks empty: {drawn}"
    screenshot(page, "console-analytics")

    with page.expect_download() as waiting:
        page.locator("section", has=page.locator("#h-articles")).get_by_role("link", name="CSV").click()
    download = waiting.value
    assert download.suggested_filename == "itbot-articles-2026-03-02-2026-03-04.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert rows == [
        ["article", "answers", "fixed_it", "still_stuck"],
        ["ehr/epic-timeout", "4", "0", "1"],
        ["printing/offline", "4", "1", "0"],
    ]


def test_an_agent_works_a_ticket_from_the_console(page: Page, console: Console) -> None:
    sign_in(page, console.server.url, "ann", "/console/tickets")
    expect(page.locator("main > h1")).to_have_text("Tickets")
    screenshot(page, "console-tickets")
    page.get_by_role("link", name=console.ticket).click()
    expect(page.locator("#transcript")).to_contain_text("epic freezes when I open the MAR")

    page.get_by_role("button", name="Take ticket").click()
    expect(page.locator("#done")).to_have_text("You took the ticket.")
    expect(page.locator("#assignee")).to_have_text("ann")

    reply = "Clearing your Epic session now; try again in 2 minutes."
    page.get_by_label("Reply to the requester").fill(reply)
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#done")).to_have_text("Your reply is on its way to the requester.")
    expect(page.locator("#history")).to_contain_text("Clearing your Epic session now")
    screenshot(page, "console-ticket")

    page.get_by_label("Resolve with a note").fill("Session cleared; Epic opens the MAR again.")
    page.get_by_role("button", name="Resolve ticket").click()
    expect(page.locator("#status")).to_have_text("resolved")
    expect(page.locator("#history")).to_contain_text("Session cleared")


def test_an_agent_posts_and_resolves_a_notice(page: Page, console: Console) -> None:
    sign_in(page, console.server.url, "ann", "/console/notices")
    page.get_by_label("Title").fill("Epic is slow on all units")
    page.get_by_label("Systems").fill("Epic")
    page.get_by_label("What staff should know").fill("We are looking at it; next update at 10:00.")
    page.get_by_role("button", name="Post notice").click()
    expect(page.locator("#done")).to_have_text("The notice is posted.")
    screenshot(page, "console-notice")
    page.get_by_role("link", name="← All notices").click()
    expect(page.locator("#notices")).to_contain_text("ACTIVE")
    screenshot(page, "console-notices")
    page.get_by_role("link", name="Epic is slow on all units").click()
    page.get_by_role("button", name="Resolve outage").click()
    expect(page.locator("#status")).to_have_text("resolved")


# The colour of each header link and of the bar behind it, as the browser paints them.
NAV_COLOURS = """() => {
  const bar = getComputedStyle(document.querySelector("header.bar")).backgroundColor;
  const links = [...document.querySelectorAll(".console-nav a")];
  return links.map(a => [a.textContent, getComputedStyle(a).color, bar]);
}"""


def _luminance(css: str) -> float:
    """WCAG relative luminance of an ``rgb(r, g, b)`` colour."""
    channels = [int(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_the_header_links_stand_out_from_the_bar_on_every_page(page: Page, console: Console) -> None:
    sign_in(page, console.server.url, "ann", "/console/analytics?start=2026-03-02&end=2026-03-04")
    # Signing in led back to the dates asked for.
    expect(page.locator('input[name="start"]')).to_have_value("2026-03-02")
    for path in (
        "/console/analytics",
        "/console/articles",
        "/console/gaps",
        "/console/tickets",
        "/console/notices",
    ):
        page.goto(f"{console.server.url}{path}")
        links = page.evaluate(NAV_COLOURS)
        assert links, path
        for text, colour, bar in links:
            light, dark = sorted((_luminance(colour), _luminance(bar)), reverse=True)
            assert (light + 0.05) / (dark + 0.05) >= 4.5, (path, text, colour, bar)
        current = page.locator('.console-nav a[aria-current="page"]')
        expect(current).to_have_attribute("href", path)
