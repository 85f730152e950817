"""A core ``Reply`` as an Adaptive Card for Teams, and what a click on one carries. Pure functions.

Teams renders a subset of Markdown in a TextBlock (bold, italics, lists, links); headings are not
part of it, so they become bold lines, and links are made absolute against the server's public URL
(or keep only their text). Every button is an ``Action.Submit`` whose ``data`` names what was
clicked (``itbot``: fixed, stuck, choose, notify, ack) and the ids it is about; a decoded click is only
ever looked up (an interaction, an article, a notice), never trusted as anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.models import Citation, Decision, Reply

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
CLICK_KEY = "itbot"
CLICK_KINDS = frozenset({"fixed", "stuck", "choose", "notify", "ack"})
OUTCOME_ID = "itbot_outcome"
MAX_TEXT_CHARS = 20_000  # far below Teams' 28 KB message limit, with room for the buttons
MAX_TITLE_CHARS = 80
MAX_ID_CHARS = 255
MAX_FALLBACK_CHARS = 300

_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_MARKUP = re.compile(r"[*_`>#]")


def absolute_url(url: str, base_url: str) -> str:
    """``url`` made absolute against ``base_url``; "" when it cannot be (Teams opens only absolute links)."""
    if url.startswith(("https://", "http://")):
        return url
    if url.startswith("/") and base_url.startswith(("https://", "http://")):
        return base_url.rstrip("/") + url
    return ""


def to_teams_markdown(markdown: str, base_url: str = "") -> str:
    """The core's Markdown as Teams' TextBlock Markdown: headings bold, links absolute or text only."""
    text = _HEADING.sub(lambda m: f"**{m.group(1)}**", markdown)

    def link(m: re.Match[str]) -> str:
        label, url = m.group(1), absolute_url(m.group(2), base_url)
        return f"[{label}]({url})" if url else label

    text = _LINK.sub(link, text)
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


def plain_text(markdown: str, limit: int = MAX_FALLBACK_CHARS) -> str:
    """A short plain-text version of ``markdown`` (the activity's ``text``, for notifications)."""
    text = _LINK.sub(lambda m: m.group(1), markdown)
    text = " ".join(_MARKUP.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _text_block(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def _submit(title: str, data: dict[str, str], style: str | None = None) -> dict[str, Any]:
    label = title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"
    action: dict[str, Any] = {"type": "Action.Submit", "title": label, "data": {CLICK_KEY: "", **data}}
    if style:
        action["style"] = style
    return action


def _source_line(citation: Citation, base_url: str) -> str:
    section = "" if citation.section in ("", "Overview") else f" › {citation.section}"
    url = absolute_url(citation.url, base_url)
    label = f"{citation.title}{section}"
    return f"Source: [{label}]({url})" if url else f"Source: **{label}**"


def card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An Adaptive Card with ``body`` and ``actions`` (none: no action set), full width in Teams."""
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        content["actions"] = actions
    return content


def reply_card(reply: Reply, base_url: str = "") -> dict[str, Any]:
    """The card for a reply: its text, the cited article (an answer's Source link), a button per action.

    ``fixed``/``stuck`` carry the interaction id; ``choose:<article>`` becomes a button titled with
    that article's title, carrying the article id and the interaction id; ``notify:<notice id>``
    becomes "Tell me when it's fixed", carrying the notice id.
    """
    body = [_text_block(to_teams_markdown(reply.text, base_url) or " ")]
    if reply.decision is Decision.ANSWER and reply.citations:
        source = _source_line(reply.citations[0], base_url)
        body.append(_text_block(source, isSubtle=True, size="Small", spacing="Medium"))
    interaction = reply.interaction_id or ""
    titles = {c.article: c.title for c in reply.citations}
    actions: list[dict[str, Any]] = []
    for action in reply.actions:
        if action.startswith("choose:"):
            article = action.removeprefix("choose:")
            actions.append(
                _submit(titles.get(article, article), {CLICK_KEY: "choose", "a": article, "i": interaction})
            )
        elif action == "fixed":
            actions.append(_submit("That fixed it", {CLICK_KEY: "fixed", "i": interaction}, "positive"))
        elif action == "stuck":
            actions.append(_submit("Still stuck", {CLICK_KEY: "stuck", "i": interaction}))
        elif action.startswith("notify:"):
            notice = action.removeprefix("notify:")
            actions.append(
                _submit(
                    "Tell me when it's fixed",
                    {CLICK_KEY: "notify", "n": notice, "i": interaction},
                    "positive",
                )
            )
    return card(body, actions)


def message_card(markdown: str, *, base_url: str = "", ticket_number: str = "") -> dict[str, Any]:
    """The card for a message about a ticket (IT's reply, a status change), headed by its number."""
    body: list[dict[str, Any]] = []
    if ticket_number:
        body.append(_text_block(f"Ticket {ticket_number}", weight="Bolder", size="Small", isSubtle=True))
    body.append(_text_block(to_teams_markdown(markdown, base_url) or " "))
    return card(body)


def with_outcome(posted: Mapping[str, Any], note: str) -> dict[str, Any]:
    """``posted`` (a card this module made) without its buttons, ending with ``note`` (what was clicked)."""
    body = [b for b in posted.get("body") or [] if isinstance(b, dict) and b.get("id") != OUTCOME_ID]
    body.append(_text_block(note, id=OUTCOME_ID, isSubtle=True, spacing="Medium"))
    kept = {k: v for k, v in posted.items() if k not in ("actions", "body")}
    return {**kept, "body": body}


@dataclass(frozen=True)
class Click:
    """A click on one of our buttons: its kind and the ids it carries (strings, maybe empty)."""

    kind: str
    interaction_id: str = ""
    article: str = ""
    notice: str = ""


def decode_click(value: object) -> Click | None:
    """The click an ``Action.Submit``'s ``value`` carries; None for anything that is not one of ours."""
    if not isinstance(value, Mapping):
        return None
    kind = value.get(CLICK_KEY)
    if kind not in CLICK_KINDS:
        return None

    def field(name: str) -> str:
        raw = value.get(name)
        return raw[:MAX_ID_CHARS] if isinstance(raw, str) else ""

    return Click(kind=str(kind), interaction_id=field("i"), article=field("a"), notice=field("n"))
