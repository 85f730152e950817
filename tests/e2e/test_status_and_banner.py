"""The status page at phone width and the web chat's outage banner, in Debian's chromium: every system
with its state, the active and upcoming notices, the last 7 days (and nothing older, and no draft);
the chat shows the active outage above the conversation, and nothing once it is resolved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from bot.interactions.models import utcnow
from bot.main import create_app
from bot.notices.actions import NewNotice, open_notice, resolve_notice
from bot.notices.alerts import parse_alert
from bot.notices.intake import take_alert
from bot.notices.models import Impact, NoticeKind
from bot.notices.queries import list_notices, list_systems
from bot.notices.registry import ensure_seeded
from tests.databases import sqlite_settings
from tests.fakes.assistant import FakeAssistant
from tests.live_server import LiveServer, serve

pytestmark = pytest.mark.e2e

KB = Path(__file__).resolve().parents[2] / "knowledge"
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def board_server(tmp_path: Path) -> Iterator[LiveServer]:
    """itbot with an Epic outage, an upcoming Citrix upgrade, a PACS outage resolved yesterday, one
    resolved ten days ago, and a draft from monitoring."""
    settings = sqlite_settings(tmp_path, kb=KB)
    with serve(create_app(settings, assistant=FakeAssistant())) as server:
        now = utcnow()
        with server.app.state.sessions() as session:
            ensure_seeded(session=session, kb=KB)

            def post(new: NewNotice, at: datetime | None = None) -> int:
                notice = open_notice(session=session, new=new, now=at or now)
                assert notice.id is not None
                return notice.id

            post(
                NewNotice(
                    kind=NoticeKind.OUTAGE,
                    title="Epic is down on all units",
                    systems=["Epic"],
                    impact=Impact.DOWN,
                    body="Use the downtime reports.",
                )
            )
            post(
                NewNotice(
                    kind=NoticeKind.UPGRADE,
                    title="Citrix Workspace upgrade tonight",
                    systems=["Citrix Workspace"],
                    starts_at=now + timedelta(hours=2),
                    ends_at=now + timedelta(hours=4),
                    staff_changes="Log in again after 02:00.",
                )
            )
            yesterday = now - timedelta(days=1)
            pacs = post(
                NewNotice(kind=NoticeKind.OUTAGE, title="PACS images slow", systems=["PACS"]), yesterday
            )
            resolve_notice(session=session, notice_id=pacs, now=yesterday + timedelta(hours=1))
            old = now - timedelta(days=10)
            gone = post(
                NewNotice(kind=NoticeKind.OUTAGE, title="Vocera badges offline", systems=["Epic"]), old
            )
            resolve_notice(session=session, notice_id=gone, now=old + timedelta(hours=1))
            take_alert(
                session=session,
                settings=settings,
                alert=parse_alert({"system": "PACS", "summary": "Draft: PACS disk nearly full"}),
                now=now,
            )
            session.commit()
        yield server


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A page the size of a phone; fails the test on any JavaScript error."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_the_status_page_on_a_phone_shows_every_system_the_notices_and_the_last_week(
    phone: Page, board_server: LiveServer
) -> None:
    phone.goto(f"{board_server.url}/status")

    expect(phone.get_by_role("heading", name="System status")).to_be_visible()
    with board_server.app.state.sessions() as session:
        names = [s.name for s in list_systems(session=session)]
    rows = phone.locator("ul.systems li")
    expect(rows).to_have_count(len(names))
    for name in names:
        expect(rows.filter(has=phone.locator(".name", has_text=name)).first).to_be_attached()
    expect(phone.locator("li.state-down", has_text="Epic").first).to_contain_text("Down")
    expect(phone.locator("li.state-operational", has_text="PACS").first).to_contain_text("Working")
    now_section = phone.locator("article.notice-outage", has_text="Epic is down on all units")
    expect(now_section).to_be_visible()
    expect(now_section).to_contain_text("Use the downtime reports.")
    upgrade = phone.locator("article.notice-upgrade", has_text="Citrix Workspace upgrade tonight")
    expect(upgrade).to_be_visible()
    expect(upgrade).to_contain_text("Log in again after 02:00.")
    expect(phone.get_by_role("heading", name="Last 7 days")).to_be_visible()
    expect(phone.locator("article", has_text="PACS images slow")).to_contain_text("resolved")
    expect(phone.get_by_text("Vocera badges offline")).to_have_count(0)
    expect(phone.get_by_text("PACS disk nearly full")).to_have_count(0)
    # Readable on a phone: nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_chat_shows_the_active_outage_and_drops_it_once_resolved(
    phone: Page, board_server: LiveServer
) -> None:
    phone.goto(board_server.url)

    banner = phone.locator("#outage-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Known issue: Epic is down on all units (Epic; investigating)")
    expect(banner).not_to_contain_text("Citrix")  # upcoming, not under way
    expect(banner).not_to_contain_text("PACS")  # resolved, and a draft nobody confirmed
    expect(banner.get_by_role("link", name="System status")).to_have_attribute("href", "/status")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    with board_server.app.state.sessions() as session:
        epic = next(n for n in list_notices(session=session, open_only=True) if n.title.startswith("Epic"))
        resolve_notice(session=session, notice_id=epic.id or 0, now=utcnow())
        session.commit()
    phone.reload()

    expect(phone.get_by_label("Your question")).to_be_visible()
    phone.wait_for_load_state("networkidle")
    expect(banner).to_be_hidden()
