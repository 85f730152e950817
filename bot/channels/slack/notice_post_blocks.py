"""A notice message (``bot.notices.sender.NoticeMessage``) as Block Kit, pure: its text (window, what
changes for staff, the downtime procedure as a link), a "Downtime procedure" button that opens the
article (when the server's public URL is known), and on upgrade notices a "Got it" button with how
many people tapped it."""

from __future__ import annotations

from typing import Any

from bot.channels.slack.blocks import MAX_SECTION_CHARS, absolute_url, encode_value, plain_text, to_mrkdwn
from bot.core.replies import article_link
from bot.notices.sender import NoticeMessage

ACTION_NOTICE_ACK = "itbot_notice_ack"
ACTION_NOTICE_PROCEDURE = "itbot_notice_procedure"
ACK_BLOCK_ID = "itbot_notice_ack"
LINKS_BLOCK_ID = "itbot_notice_links"
FALLBACK_CHARS = 300


def ack_line(count: int) -> str:
    """The count under the button: "3 people got it"."""
    return f"{count} {'person' if count == 1 else 'people'} got it"


def notice_blocks(message: NoticeMessage, base_url: str = "") -> list[dict[str, Any]]:
    """Sections for the text (split at Slack's section limit) and, with an ack, the button and count."""
    mrkdwn = to_mrkdwn(message.text, base_url)
    blocks: list[dict[str, Any]] = []
    while mrkdwn:
        part, mrkdwn = mrkdwn[:MAX_SECTION_CHARS], mrkdwn[MAX_SECTION_CHARS:]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": part}})
    url = absolute_url(article_link(message.procedure_article), base_url) if message.procedure_article else ""
    if url:
        link = {
            "type": "button",
            "action_id": ACTION_NOTICE_PROCEDURE,
            "text": {"type": "plain_text", "text": "Downtime procedure"},
            "url": url,
        }
        blocks.append({"type": "actions", "block_id": LINKS_BLOCK_ID, "elements": [link]})
    if message.ack_notice_id is not None:
        button = {
            "type": "button",
            "action_id": ACTION_NOTICE_ACK,
            "text": {"type": "plain_text", "text": "Got it"},
            "value": encode_value(n=str(message.ack_notice_id)),
            "style": "primary",
        }
        blocks.append({"type": "actions", "block_id": ACK_BLOCK_ID, "elements": [button]})
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": ack_line(message.ack_count)}]}
        )
    return blocks


def fallback_text(message: NoticeMessage) -> str:
    """The plain text Slack shows in notifications."""
    return plain_text(message.text, FALLBACK_CHARS)
