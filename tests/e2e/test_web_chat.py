"""The web chat in a real browser: ask, read the cited answer, give feedback, follow the link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from bot.interactions.models import Feedback, Interaction
from bot.interactions.queries import list_interactions
from tests.live_server import LiveServer

pytestmark = pytest.mark.e2e


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


def newest_row(server: LiveServer) -> Interaction:
    with Session(server.app.state.engine) as session:
        rows = list_interactions(session=session, limit=1)
    assert rows, "no interaction was recorded"
    return rows[0]


def test_ask_see_the_cited_answer_and_mark_it_fixed(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url)
    expect(page.get_by_role("link", name="itbot — IT help")).to_be_visible()
    expect(page.get_by_text("Please don't paste patient details")).to_be_visible()
    expect(page.get_by_label("Your question")).to_have_attribute(
        "placeholder", "Describe the problem, e.g. 'citrix frozen on the wow'"
    )

    ask(page, "epic won't let me log in, password refused")

    answer = page.locator('.msg.bot[data-decision="answer"]')
    expect(answer).to_be_visible()
    expect(answer.locator(".answer strong", has_text="Caps Lock")).to_be_visible()
    expect(answer.get_by_role("link", name="Can't log in to Epic")).to_have_attribute(
        "href", "/kb/ehr/epic-login-problems"
    )
    answer.get_by_role("button", name="That fixed it").click()
    expect(answer.get_by_text("Glad that helped.")).to_be_visible()
    expect(answer.get_by_role("button", name="Still stuck")).to_be_disabled()

    row = newest_row(live_server)
    assert row.feedback == Feedback.HELPFUL
    assert row.top_article == "ehr/epic-login-problems"


def test_still_stuck_gives_the_service_desk_number(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url)
    ask(page, "citrix frozen black screen on the wow")

    answer = page.locator('.msg.bot[data-decision="answer"]')
    answer.get_by_role("button", name="Still stuck").click()

    expect(
        answer.get_by_text("I've noted that. Call the service desk at x4357 if it's urgent.")
    ).to_be_visible()
    assert newest_row(live_server).feedback == Feedback.UNHELPFUL


def test_a_clarify_choice_answers_from_the_chosen_article(page: Page, fake_server: LiveServer) -> None:
    page.goto(fake_server.url)
    ask(page, "printer broken")

    choices = page.locator('.msg.bot[data-decision="clarify"]')
    expect(choices).to_be_visible()
    choices.get_by_role("button", name="Label printer prints blank labels").click()

    answer = page.locator('.msg.bot[data-decision="answer"]')
    expect(answer.get_by_role("link", name="Label printer prints blank labels")).to_have_attribute(
        "href", "/kb/printing/label-printer"
    )
    expect(answer.get_by_text("Recalibrate the labels.")).to_be_visible()
    expect(choices.get_by_role("button", name="Printer shows offline")).to_be_disabled()


def test_the_citation_opens_the_article_in_a_new_tab_and_the_chat_stays(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url)
    ask(page, "citrix frozen black screen on the wow")
    answer = page.locator('.msg.bot[data-decision="answer"]')

    with page.expect_popup() as opened:
        answer.get_by_role("link").first.click()

    article = opened.value
    expect(article).to_have_url(re.compile(r"/kb/citrix/citrix-frozen$"))
    expect(article.get_by_role("heading", name="Citrix is frozen or shows a black screen")).to_be_visible()
    expect(article.get_by_text("end-user-computing")).to_be_visible()
    expect(answer).to_be_visible()


def test_a_reload_keeps_the_conversation_as_stored_with_patient_details_scrubbed(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url)
    ask(page, "epic won't let me log in for MRN 12345678, password refused")
    answer = page.locator('.msg.bot[data-decision="answer"]')
    expect(answer).to_be_visible()
    answer.get_by_role("button", name="That fixed it").click()
    expect(answer.get_by_text("Glad that helped.")).to_be_visible()

    page.reload()

    expect(page.locator(".msg.user")).to_have_text(re.compile(r"\[MRN\]"))
    restored = page.locator('.msg.bot[data-decision="answer"]')
    expect(restored.locator(".answer strong", has_text="Caps Lock")).to_be_visible()
    expect(restored.get_by_text("Glad that helped.")).to_be_visible()
    expect(restored.get_by_role("button", name="That fixed it")).to_be_disabled()
    stored = page.evaluate("JSON.stringify(Object.assign({}, window.sessionStorage))")
    assert "12345678" not in stored
    assert "12345678" not in page.content()


def test_new_conversation_forgets_the_kept_transcript(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url)
    ask(page, "citrix frozen black screen on the wow")
    expect(page.locator('.msg.bot[data-decision="answer"]')).to_be_visible()

    page.get_by_role("button", name="New conversation").click()
    page.reload()

    expect(page.locator(".msg.user")).to_have_count(0)


def test_choices_are_buttons_only_and_focus_stays_in_the_box(page: Page, fake_server: LiveServer) -> None:
    page.goto(fake_server.url)
    ask(page, "printer broken")

    choices = page.locator('.msg.bot[data-decision="clarify"]')
    expect(choices.get_by_role("button", name="Label printer prints blank labels")).to_be_visible()
    expect(choices.locator("ol")).to_have_count(0)
    choices.get_by_role("button", name="Label printer prints blank labels").click()
    expect(page.locator('.msg.bot[data-decision="answer"]')).to_be_visible()
    expect(page.get_by_label("Your question")).to_be_focused()


def test_the_service_desk_number_can_be_tapped_to_call(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url)

    expect(page.locator(".intro a.call")).to_have_attribute("href", "tel:4357")


def test_the_chat_fits_a_phone_screen(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    phone = context.new_page()
    phone.goto(live_server.url)
    ask(phone, "epic won't let me log in, password refused")
    expect(phone.locator('.msg.bot[data-decision="answer"]')).to_be_visible()

    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    expect(phone.get_by_role("button", name="Ask")).to_be_visible()
    context.close()
    assert overflow <= 0
