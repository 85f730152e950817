"""The downtime-procedure article a notice points staff to: an article id of the knowledge folder,
checked to exist when IT names it, and shown as a link to its page.

IT may type the id as the article list shows it (``downtime/ehr-downtime-procedures``), with
``.md``, or as its link (``/kb/downtime/ehr-downtime-procedures``); it is stored as the plain id.
An id no article has is refused, with the closest one suggested.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from bot.core.replies import article_link
from bot.notices.errors import NoticeError
from indexer.articles import KnowledgeFolderError, knowledge_paths

MAX_ARTICLE_ID = 255
KB_PATH = "/kb/"


class UnknownArticleError(NoticeError):
    """A downtime-procedure article id the knowledge folder does not have."""

    code = "unknown_article"


def article_ids(kb: Path) -> list[str]:
    """Every article id of the knowledge folder ``kb`` (none when it is missing or empty)."""
    try:
        return [relative.removesuffix(".md") for relative, _ in knowledge_paths(kb)]
    except KnowledgeFolderError:
        return []


def check_procedure_article(typed: str, kb: Path) -> str:
    """The article id ``typed`` names ("" for blank), checked to exist under ``kb``.

    Raises ``UnknownArticleError`` naming the closest id when no article has it.
    """
    value = typed.strip()
    if not value:
        return ""
    for prefix in ("https://", "http://"):
        if value.startswith(prefix) and KB_PATH in value:
            value = value.split(KB_PATH, 1)[1]
    value = value.removeprefix(KB_PATH).strip("/").removesuffix(".md")
    known = article_ids(kb)
    by_key = {article.casefold(): article for article in known}
    found = by_key.get(value.casefold())
    if found is not None:
        return found
    shown = value[:80]
    close = difflib.get_close_matches(value.casefold(), list(by_key), n=1, cutoff=0.5)
    if close:
        hint = f" Did you mean {by_key[close[0]]!r}?"
    else:
        downtime = [a for a in known if "downtime" in a]
        hint = f" Downtime articles: {', '.join(downtime[:5])}." if downtime else ""
    raise UnknownArticleError(
        f"unknown article {shown!r}",
        user_message=f"No knowledge article {shown!r} for the downtime procedure.{hint}",
    )


def procedure_link(article_id: str) -> str:
    """The procedure as a Markdown link to its article's page (relative: each channel makes it
    absolute with the server's public URL)."""
    return f"[{article_id}]({article_link(article_id)})"
