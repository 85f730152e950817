"""A notice message (``bot.notices.sender.NoticeMessage``) as an Adaptive Card, pure: its text, and on
upgrade notices a "Got it" button with how many people tapped it (a TextBlock the click handler
rewrites). The button carries only the notice id (``{"itbot": "ack", "n": "12"}``); the handler
looks the notice up, so a forged value can do no more than a real click."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.channels.teams.cards import CLICK_KEY, card, to_teams_markdown
from bot.notices.sender import NoticeMessage

ACK_COUNT_ID = "itbot_ack_count"


def ack_line(count: int) -> str:
    """The count under the button: "3 people got it"."""
    return f"{count} {'person' if count == 1 else 'people'} got it"


def _count_block(count: int) -> dict[str, Any]:
    return {
        "type": "TextBlock",
        "id": ACK_COUNT_ID,
        "text": ack_line(count),
        "wrap": True,
        "isSubtle": True,
        "size": "Small",
    }


def notice_card(message: NoticeMessage, base_url: str = "") -> dict[str, Any]:
    """The card for a notice message: its Markdown, and with an ack the button and the count."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": to_teams_markdown(message.text, base_url) or " ", "wrap": True}
    ]
    actions: list[dict[str, Any]] = []
    if message.ack_notice_id is not None:
        body.append(_count_block(message.ack_count))
        data = {CLICK_KEY: "ack", "n": str(message.ack_notice_id)}
        actions.append({"type": "Action.Submit", "title": "Got it", "data": data, "style": "positive"})
    return card(body, actions)


def with_ack_count(posted: Mapping[str, Any], count: int) -> dict[str, Any]:
    """``posted`` (a notice card) with its count replaced by ``count``; buttons kept."""
    body = [
        _count_block(count) if isinstance(b, dict) and b.get("id") == ACK_COUNT_ID else b
        for b in posted.get("body") or []
    ]
    return {**posted, "body": body}
