"""Writing the reply text: the best section's steps, the choices, or the hand-over. Pure functions."""

from __future__ import annotations

import re

from bot.core.retrieval import Hit

MAX_QUOTE_CHARS = 1800
PHI_REMINDER = (
    "Please don't paste patient details (names, MRNs, dates of birth) here; I removed them from your "
    "message before storing it."
)

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.MULTILINE)


def article_link(article_id: str, base_url: str = "") -> str:
    """The web chat's link to an article's page."""
    return f"{base_url.rstrip('/')}/kb/{article_id}"


def quote_section(markdown: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """The section's Markdown without its heading line, cut at a line boundary near ``limit``."""
    body = _HEADING.sub("", markdown, count=1).strip()
    if len(body) <= limit:
        return body
    cut = body.rfind("\n", 0, limit)
    return body[: cut if cut > limit // 2 else limit].rstrip() + "\n\n…"


def answer_text(hit: Hit, base_url: str = "") -> str:
    """The reply for a confident answer: which article and section, its steps, and the link."""
    steps = quote_section(hit.chunk.markdown) or hit.chunk.text.split("\n", 1)[-1]
    section = "" if hit.chunk.section in ("", "Overview") else f" — {hit.chunk.section}"
    return (
        f"**{hit.title}**{section}\n\n{steps}\n\n"
        f"Full article: [{hit.title}]({article_link(hit.article_id, base_url)})"
    )


def clarify_text(hits: tuple[Hit, ...]) -> str:
    """The reply offering the close articles to choose from (or the one article that might fit)."""
    if len(hits) == 1:
        intro = "This article might fit, though I'm not sure it covers your problem:"
        return f"{intro}\n\n1. **{hits[0].title}**"
    lines = ["I found a few articles that could fit. Which one matches your problem?", ""]
    lines += [f"{n}. **{h.title}**" for n, h in enumerate(hits, 1)]
    return "\n".join(lines)


def not_fixed_clarify_text(hits: tuple[Hit, ...]) -> str:
    """The reply when the earlier answer did not help and other articles could."""
    lines = ["Sorry that didn't fix it. One of these might fit better:", ""]
    lines += [f"{n}. **{h.title}**" for n, h in enumerate(hits, 1)]
    return "\n".join(lines)


def not_fixed_escalate_text(phone: str) -> str:
    """The reply when the earlier answer did not help and no other article fits."""
    return (
        "Sorry that didn't fix it. This needs a person from IT. "
        f"If it's urgent or a patient is waiting, call the service desk at {phone}."
    )


def escalate_text(phone: str) -> str:
    """The reply when nothing in the knowledge base fits."""
    return (
        "I couldn't find an article that answers this, so it needs a person from IT. "
        f"If it's urgent or a patient is waiting, call the service desk at {phone}."
    )


def empty_text() -> str:
    """The reply to a message with nothing to search for (empty, only symbols, only identifiers)."""
    return (
        "I didn't catch a question there. Tell me what's wrong in a few words, for example "
        '"citrix frozen on the wow" or "label printer printing blank".'
    )
