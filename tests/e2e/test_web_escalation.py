"""The web chat in a real browser: a question the knowledge base can't answer becomes a ticket, and
IT's reply, delivered by the outbox worker, appears in the page while it polls."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from bot.channels.web.sender import WebChatSender
from bot.config import Settings
from bot.tickets.actions import reply_to_requester, resolve_ticket
from bot.tickets.models import Ticket
from bot.tickets.worker import run_worker
from tests.live_server import LiveServer

pytestmark = pytest.mark.e2e


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


def only_ticket(server: LiveServer) -> Ticket:
    with server.app.state.sessions() as session:
        [ticket] = session.exec(select(Ticket)).all()
    return ticket


def deliver(server: LiveServer, settings: Settings) -> None:
    sender = WebChatSender(server.app.state.sessions)
    run_worker(settings, senders={"web": sender}, once=True, engine=server.app.state.engine)


def test_an_escalation_opens_a_ticket_and_its_reply_appears_in_the_page(
    page: Page, live_server: LiveServer, e2e_settings: Settings
) -> None:
    live_server.app.state.web_poll_seconds = 0.2
    page.goto(live_server.url)

    ask(page, "the badge reader on my wow beeps red")
    question = page.locator('.msg.bot[data-escalation="ask_details"]')
    expect(question).to_contain_text("I couldn't find an article that answers this.")
    expect(question).to_contain_text("which unit or room you're in")

    ask(page, "4 West room 12, no patient waiting")
    opened = page.locator('.msg.bot[data-escalation="opened"]')
    expect(opened).to_contain_text("I've opened ticket")
    number = only_ticket(live_server).number
    expect(opened.locator("strong", has_text=number)).to_be_visible()
    status = page.get_by_role("status")
    expect(status).to_have_text(f"Ticket {number}: sent to IT")

    ask(page, "it still beeps after docking")
    expect(page.locator(".msg.user .relayed")).to_have_text(f"Sent to IT on {number}")

    with live_server.app.state.sessions() as session:
        reply_to_requester(
            session=session,
            settings=e2e_settings,
            number=number,
            agent="Alex",
            text="Please dock the WOW and log in again.",
        )
    deliver(live_server, e2e_settings)

    from_it = page.locator(".msg.it")
    expect(from_it).to_have_count(1)
    expect(from_it.locator(".who")).to_have_text(f"IT · {number}")
    expect(from_it.locator("strong", has_text="Alex from IT")).to_be_visible()
    expect(from_it).to_contain_text("Please dock the WOW and log in again.")
    expect(status).to_have_text(f"Ticket {number}: IT is working on it")

    with live_server.app.state.sessions() as session:
        resolve_ticket(session=session, settings=e2e_settings, number=number, note="New reader fitted.")
    deliver(live_server, e2e_settings)

    expect(from_it).to_have_count(2)
    expect(from_it.nth(1)).to_contain_text("New reader fitted.")
    expect(status).to_have_text(f"Ticket {number}: resolved")

    page.reload()  # the tab keeps its conversation: IT's messages come back
    expect(page.locator(".msg.it")).to_have_count(2)
    expect(page.get_by_role("status")).to_have_text(f"Ticket {number}: resolved")
