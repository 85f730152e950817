"""Markdown → safe HTML for the web chat and the article pages (pure; no I/O).

Raw HTML in the Markdown is escaped, not passed through; links with dangerous schemes
(``javascript:``, ``data:`` ...) are dropped by markdown-it's own check; a link to another article
(``ehr/epic-session-timeout``) points at its ``/kb/`` page; outside links open in a new tab.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

KB_PREFIX = "/kb/"


def article_url(article_id: str) -> str:
    """The path of an article's page in the web chat (``/kb/<article id>``)."""
    return KB_PREFIX + quote(article_id.strip("/"), safe="/-_.~")


def _resolve_href(href: str) -> tuple[str, bool]:
    """Where a link in an article should go, and whether it leaves itbot."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return href, True
    if href.startswith(("/", "#", "?")) or not parts.path:
        return href, False
    path = parts.path.removeprefix("./").removesuffix(".md")
    return article_url(path) + (f"#{parts.fragment}" if parts.fragment else ""), False


def _link_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    href = token.attrGet("href")
    if isinstance(href, str):
        resolved, external = _resolve_href(href)
        token.attrSet("href", resolved)
        if external:
            token.attrSet("target", "_blank")
            token.attrSet("rel", "noopener noreferrer")
    return renderer.renderToken(tokens, idx, options, env)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.add_render_rule("link_open", _link_open)
    return md


def render_markdown(text: str) -> str:
    """``text`` as HTML that is safe to insert into a page: no raw HTML, no script links."""
    env: dict[str, Any] = {}
    html: str = _markdown().render(text, env)
    return html
