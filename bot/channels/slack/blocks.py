"""Rendering for Slack: a core ``Reply`` as Block Kit, and the App Home view. Pure functions.

Button values round-trip through ``encode_value`` / ``decode_value``; a decoded value is only ever
looked up (an interaction id, an article id), never trusted as anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from bot.channels.slack.notice_blocks import notice_buttons
from bot.core.models import Citation, Decision, Reply

ACTION_FIXED = "itbot_fixed"
ACTION_STUCK = "itbot_stuck"
ACTION_NOTIFY = "itbot_notify"
ACTION_CHOOSE_PREFIX = "itbot_choose_"
ACTION_TICKET_TAKE = "itbot_ticket_take"
ACTION_TICKET_REPLY = "itbot_ticket_reply"
ACTION_TICKET_RESOLVE = "itbot_ticket_resolve"
TICKET_REPLY_VIEW = "itbot_ticket_reply_view"
TICKET_REPLY_INPUT = "itbot_ticket_reply_text"
ACTIONS_BLOCK_ID = "itbot_actions"
OUTCOME_BLOCK_ID = "itbot_outcome"

MAX_SECTION_CHARS = 2900  # Slack refuses a section text over 3000 characters
MAX_BUTTON_TEXT = 75
MAX_VALUE_CHARS = 2000
MAX_FALLBACK_CHARS = 300

_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__", re.DOTALL)
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_QUOTE = re.compile(r"^[ \t]{0,3}&gt;[ \t]?", re.MULTILINE)
_MARKUP = re.compile(r"[*_`>#]|&(amp|lt|gt);")


def escape(text: str) -> str:
    """``text`` with the three characters Slack's mrkdwn reserves escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def absolute_url(url: str, base_url: str) -> str:
    """``url`` made absolute against ``base_url`` (the server's public URL); "" when it cannot be."""
    if url.startswith(("https://", "http://")):
        return url
    if url.startswith("/") and base_url.startswith(("https://", "http://")):
        return base_url.rstrip("/") + url
    return ""


def to_mrkdwn(markdown: str, base_url: str = "") -> str:
    """The core's Markdown as Slack mrkdwn: bold, headings and links converted, the rest escaped.

    Relative links are made absolute against ``base_url``; without one a link keeps only its text,
    because Slack cannot open it.
    """
    text = escape(markdown)
    text = _QUOTE.sub("> ", text)  # a Markdown quote stays a Slack quote
    text = _HEADING.sub(lambda m: f"*{m.group(1)}*", text)
    text = _BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", text)

    def link(m: re.Match[str]) -> str:
        label, url = m.group(1), absolute_url(m.group(2), base_url)
        return f"<{url}|{label.replace('|', '/')}>" if url else label

    return _LINK.sub(link, text)


def plain_text(markdown: str, limit: int = MAX_FALLBACK_CHARS) -> str:
    """A short plain-text version of ``markdown`` for notifications (Slack's ``text`` fallback)."""
    text = _LINK.sub(lambda m: m.group(1), markdown)
    text = " ".join(_MARKUP.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def encode_value(**fields: str) -> str:
    """Button value carrying ``fields`` (short keys), at most Slack's 2,000 characters."""
    value = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    if len(value) > MAX_VALUE_CHARS:
        raise ValueError("button value too long")
    return value


def decode_value(value: object) -> dict[str, str]:
    """The fields of a button value; ``{}`` for anything that is not one of ours."""
    if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
        return {}
    try:
        decoded = json.loads(value)
    except (json.JSONDecodeError, RecursionError):
        return {}
    if not isinstance(decoded, dict):
        return {}
    return {str(k): v for k, v in decoded.items() if isinstance(v, str)}


def _sections(mrkdwn: str) -> list[dict[str, Any]]:
    """``mrkdwn`` as one or more section blocks, split at line ends under Slack's limit."""
    blocks: list[dict[str, Any]] = []
    rest = mrkdwn.strip() or " "
    while rest:
        if len(rest) <= MAX_SECTION_CHARS:
            piece, rest = rest, ""
        else:
            cut = rest.rfind("\n", 0, MAX_SECTION_CHARS)
            cut = cut if cut > MAX_SECTION_CHARS // 2 else MAX_SECTION_CHARS
            piece, rest = rest[:cut], rest[cut:].lstrip("\n")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": piece}})
    return blocks


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    label = text if len(text) <= MAX_BUTTON_TEXT else text[: MAX_BUTTON_TEXT - 1] + "…"
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _source_line(citation: Citation, base_url: str) -> str:
    title = escape(citation.title)
    section = "" if citation.section in ("", "Overview") else f" › {escape(citation.section)}"
    url = absolute_url(citation.url, base_url)
    if url:
        return f":page_facing_up: Source: <{url}|{title}{section}>"
    return f":page_facing_up: Source: *{title}*{section}"


def reply_blocks(reply: Reply, base_url: str = "") -> list[dict[str, Any]]:
    """The Block Kit for a reply: its text, the cited article, and a button per action.

    ``fixed``/``stuck`` carry the interaction id; ``choose:<article>`` becomes a button titled with
    that article's title, carrying the article id and the interaction id; ``notify:<notice id>``
    becomes "Tell me when it's fixed", carrying the notice id.
    """
    blocks = _sections(to_mrkdwn(reply.text, base_url))
    if reply.decision is Decision.ANSWER and reply.citations:
        source = _source_line(reply.citations[0], base_url)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": source}]})
    interaction = reply.interaction_id or ""
    titles = {c.article: c.title for c in reply.citations}
    buttons: list[dict[str, Any]] = []
    for n, action in enumerate(reply.actions):
        if action.startswith("choose:"):
            article = action.removeprefix("choose:")
            value = encode_value(a=article, i=interaction)
            buttons.append(_button(titles.get(article, article), f"{ACTION_CHOOSE_PREFIX}{n}", value))
        elif action == "fixed":
            buttons.append(_button("That fixed it", ACTION_FIXED, encode_value(i=interaction), "primary"))
        elif action == "stuck":
            buttons.append(_button("Still stuck", ACTION_STUCK, encode_value(i=interaction)))
        elif action.startswith("notify:"):
            value = encode_value(n=action.removeprefix("notify:"), i=interaction)
            buttons.append(_button("Tell me when it's fixed", ACTION_NOTIFY, value, "primary"))
    if buttons:
        blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": buttons})
    return blocks


_TICKET_BUTTONS = {
    "take": ("Take it", ACTION_TICKET_TAKE, "primary"),
    "reply": ("Reply", ACTION_TICKET_REPLY, None),
    "resolve": ("Resolve", ACTION_TICKET_RESOLVE, None),
}


def message_blocks(
    markdown: str, *, base_url: str = "", ticket_number: str = "", actions: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Block Kit for a message about a ticket (to the requester or into IT's triage channel).

    ``actions`` names ticket buttons ("take", "reply", "resolve"); each carries the ticket number.
    Notice actions (``draft_confirm:<id>`` ...) become the buttons of ``notice_blocks``.
    """
    blocks = _sections(to_mrkdwn(markdown, base_url))
    buttons = [
        _button(label, action_id, encode_value(t=ticket_number), style)
        for name in actions
        if name in _TICKET_BUTTONS
        for label, action_id, style in [_TICKET_BUTTONS[name]]
    ]
    buttons += notice_buttons(actions)
    if buttons:
        blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": buttons})
    return blocks


def ticket_reply_view(ticket_number: str, *, channel: str, thread_ts: str) -> dict[str, Any]:
    """The modal an IT agent types a reply to the requester in."""
    return {
        "type": "modal",
        "callback_id": TICKET_REPLY_VIEW,
        "private_metadata": encode_value(t=ticket_number, c=channel, s=thread_ts),
        "title": {"type": "plain_text", "text": f"Reply on {ticket_number}"[:24]},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": TICKET_REPLY_INPUT,
                "label": {"type": "plain_text", "text": "Your reply to the person who asked"},
                "element": {"type": "plain_text_input", "action_id": TICKET_REPLY_INPUT, "multiline": True},
            }
        ],
    }


def with_outcome(blocks: Sequence[dict[str, Any]], note_mrkdwn: str) -> list[dict[str, Any]]:
    """``blocks`` of a posted reply without its buttons, ending with ``note_mrkdwn`` (what was clicked)."""
    kept = [
        b
        for b in blocks
        if b.get("block_id") not in (ACTIONS_BLOCK_ID, OUTCOME_BLOCK_ID) and b.get("type") != "actions"
    ]
    kept.append(
        {
            "type": "context",
            "block_id": OUTCOME_BLOCK_ID,
            "elements": [{"type": "mrkdwn", "text": note_mrkdwn}],
        }
    )
    return kept


def home_view(*, phone: str, bot_user_id: str = "") -> dict[str, Any]:
    """The App Home tab: what the bot does, how to ask, and what not to paste."""
    mention = f"<@{bot_user_id}>" if bot_user_id else "@itbot"
    text = [
        "*Hi, I'm itbot, the IT service desk's assistant.* I answer everyday IT questions from the "
        "articles IT writes, any time of day.",
        "*How to ask*\n"
        "• Send me a direct message, e.g. _citrix frozen on the wow_ or _label printer printing blank_.\n"
        f"• Mention me in a channel ({mention} _epic keeps logging me out_); I answer in the thread, and "
        "you can keep talking to me there without mentioning me again.\n"
        "• Type `/itbot your question` anywhere for an answer only you see.",
        "*After an answer*\n"
        "• *That fixed it* tells IT the article works.\n"
        "• *Still stuck* hands your question to a person in IT, with our conversation attached.\n"
        '• Say _"talk to a human"_ at any time to reach IT.',
        "*Please don't paste patient details* (names, MRNs, dates of birth). I remove what I recognise "
        "before anything is stored, but it's safest not to send it.",
        f"*Urgent, or a patient is waiting?* Call the service desk at *{escape(phone)}*.",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "itbot — IT help"}}
    ]
    for piece in text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": piece}})
        blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:-1]}
