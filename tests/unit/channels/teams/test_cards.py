"""Rendering a ``Reply`` as an Adaptive Card for Teams, and reading a click back. Pure functions."""

from __future__ import annotations

from bot.channels.teams.cards import (
    CARD_VERSION,
    Click,
    decode_click,
    message_card,
    reply_card,
    to_teams_markdown,
    with_outcome,
)
from bot.core.models import Citation, Decision, Reply

BASE = "https://itbot.hospital.example"
EPIC = Citation("ehr/epic-login", "Can't log in to Epic", "Fix it", 0.9, "/kb/ehr/epic-login")
PRINTER = Citation("printing/offline", "Printer shows offline", "Overview", 0.7, "/kb/printing/offline")


def answer() -> Reply:
    return Reply(
        Decision.ANSWER,
        "## Fix it\n1. Check **Caps Lock**.\n2. See [timeouts](/kb/ehr/timeouts).",
        citations=(EPIC,),
        actions=("fixed", "stuck"),
        interaction_id="int-1",
    )


def test_an_answer_card_has_the_steps_a_source_link_and_the_two_feedback_buttons() -> None:
    card = reply_card(answer(), BASE)

    assert card["type"] == "AdaptiveCard" and card["version"] == CARD_VERSION
    steps, source = card["body"]
    assert steps["text"].startswith("**Fix it**\n1. Check **Caps Lock**.")
    assert f"[timeouts]({BASE}/kb/ehr/timeouts)" in steps["text"]
    assert source["text"] == f"Source: [Can't log in to Epic › Fix it]({BASE}/kb/ehr/epic-login)"
    assert [(a["type"], a["title"], a["data"]) for a in card["actions"]] == [
        ("Action.Submit", "That fixed it", {"itbot": "fixed", "i": "int-1"}),
        ("Action.Submit", "Still stuck", {"itbot": "stuck", "i": "int-1"}),
    ]


def test_without_a_public_url_links_keep_only_their_text() -> None:
    card = reply_card(answer(), "")
    assert "See timeouts." in card["body"][0]["text"]
    assert card["body"][1]["text"] == "Source: **Can't log in to Epic › Fix it**"


def test_a_clarify_card_has_one_button_per_choice_titled_with_the_article_and_no_source_line() -> None:
    reply = Reply(
        Decision.CLARIFY,
        "Which one?",
        citations=(EPIC, PRINTER),
        actions=("choose:ehr/epic-login", "choose:printing/offline", "stuck"),
        interaction_id="int-2",
    )
    card = reply_card(reply, BASE)

    assert len(card["body"]) == 1
    assert [a["title"] for a in card["actions"]] == [
        "Can't log in to Epic",
        "Printer shows offline",
        "Still stuck",
    ]
    assert card["actions"][1]["data"] == {"itbot": "choose", "a": "printing/offline", "i": "int-2"}


def test_an_outage_card_offers_tell_me_when_its_fixed_with_the_notice_id() -> None:
    reply = Reply(Decision.OUTAGE, "Known issue: Epic is slow.", actions=("notify:7",), interaction_id="i")
    [action] = reply_card(reply, BASE)["actions"]
    assert action["title"] == "Tell me when it's fixed"
    assert action["data"] == {"itbot": "notify", "n": "7", "i": "i"}


def test_an_escalation_without_actions_has_no_action_set() -> None:
    assert "actions" not in reply_card(Reply(Decision.ESCALATE, "I'll pass this to IT."), BASE)


def test_with_outcome_drops_the_buttons_keeps_the_text_and_replaces_an_earlier_outcome() -> None:
    card = reply_card(answer(), BASE)
    once = with_outcome(card, "You're still stuck.")
    twice = with_outcome(once, "You said this fixed it.")

    assert "actions" not in twice
    assert [b["text"] for b in twice["body"]][:2] == [b["text"] for b in card["body"]]
    assert twice["body"][-1]["text"] == "You said this fixed it." and len(twice["body"]) == 3


def test_a_ticket_message_card_is_headed_by_the_ticket_number() -> None:
    card = message_card("Please dock the WOW.", ticket_number="IT-0042")
    assert [b["text"] for b in card["body"]] == ["Ticket IT-0042", "Please dock the WOW."]


def test_headings_become_bold_because_teams_does_not_render_them() -> None:
    assert to_teams_markdown("# Title\ntext") == "**Title**\ntext"


def test_a_click_round_trips_and_anything_else_is_not_a_click() -> None:
    data = reply_card(answer(), BASE)["actions"][0]["data"]
    assert decode_click(data) == Click(kind="fixed", interaction_id="int-1")
    assert decode_click({"itbot": "delete_everything"}) is None
    assert decode_click("fixed") is None
    assert decode_click({"itbot": "choose", "a": 5}) == Click(kind="choose")
