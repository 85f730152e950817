"""Markdown -> readable plain text, for embedding and lexical search.

Parses with markdown-it-py (CommonMark plus tables) and reads the tokens back as lines of text:
markup is dropped, the words people search for are kept (including fenced code, which often holds
the exact error message). DocFX extensions found in Microsoft-style articles (``:::image ...:::``,
``:::no-loc text="..." :::``, ``[!INCLUDE ...]``, ``> [!NOTE]`` alert markers) are understood by a
small inline rule, so they are recognised everywhere except inside code.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token

# `:::image ...:::` (dropped) and `:::no-loc text="X":::` (kept as X).
_DIRECTIVE_RE = re.compile(
    r':::(?:no-loc\s+text="(?P<noloc>[^"]*)"\s*:::|image(?:-end)?\b.*?:::)', re.DOTALL | re.IGNORECASE
)
# `[!INCLUDE [label](path)]`, alert markers `[!NOTE]`, `[!div class="..."]`, `[!VIDEO url]`: dropped.
_MARKER_RE = re.compile(
    r"\[!(?:INCLUDE\s*\[[^\]\n]*\]\([^)\n]*\)|NOTE|TIP|IMPORTANT|WARNING|CAUTION|(?:div|VIDEO)\b[^\]\n]*)\]",
    re.IGNORECASE,
)

_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_SCRIPT_RE = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE)
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>")

# Only real HTML elements are stripped: Microsoft articles write placeholders such as <user>,
# <domain> or <GUID> in running text, and those are words a reader needs.
# fmt: off
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "center", "details", "dd",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hr", "html", "iframe", "li", "main", "nav", "ol", "p", "pre", "section",
    "summary", "table", "tbody", "tfoot", "thead", "tr", "ul", "video"
})
_CELL_TAGS = frozenset({"td", "th"})
_INLINE_TAGS = frozenset({
    "a", "abbr", "audio", "b", "bdi", "bdo", "big", "button", "cite", "code", "col", "colgroup", "del",
    "dfn", "em", "embed", "font", "i", "img", "input", "ins", "kbd", "label", "legend", "mark", "meta",
    "noscript", "object", "optgroup", "option", "param", "picture", "q", "rp", "rt", "ruby", "s",
    "samp", "select", "small", "source", "span", "strike", "strong", "sub", "sup", "template",
    "textarea", "time", "track", "tt", "u", "var", "wbr"
})
# fmt: on


def _docfx(state: StateInline, silent: bool) -> bool:
    """Inline rule: consume a DocFX directive or marker; keep only a `no-loc` directive's text."""
    start = state.pos
    char = state.src[start]
    if char == ":":
        match = _DIRECTIVE_RE.match(state.src, start)
    elif char == "[" and state.src.startswith("[!", start):
        match = _MARKER_RE.match(state.src, start)
    else:
        return False
    if match is None or match.end() > state.posMax:
        return False
    if not silent:
        kept = match.groupdict().get("noloc")
        if kept:
            state.push("docfx_text", "", 0).content = kept
    state.pos = match.end()
    return True


@cache
def _parser() -> MarkdownIt:
    # Built on the first parse: a re-index that parses nothing never imports markdown-it.
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable("table")
    parser.inline.ruler.before("link", "docfx", _docfx)
    return parser


def parse_markdown(markdown: str) -> list[Token]:
    """Parse Markdown into markdown-it block tokens (CommonMark, tables, DocFX markers recognised).

    Token ``map`` line numbers are 0-based lines of ``markdown``.
    """
    return _parser().parse(markdown)


def collapse(text: str) -> str:
    """Return ``text`` on one line with runs of whitespace reduced to single spaces, trimmed."""
    return " ".join(text.split())


def html_to_text(fragment: str) -> str:
    """Strip comments, scripts and HTML tags from ``fragment`` (keeping their text), decode entities.

    Block-level tags become line breaks; unknown tag-like placeholders (``<user>``) are kept.
    """
    if "<" not in fragment and "&" not in fragment:
        return fragment
    fragment = _COMMENT_RE.sub("", fragment)
    fragment = _SCRIPT_RE.sub("", fragment)
    fragment = _TAG_RE.sub(_replace_tag, fragment)
    return html.unescape(fragment)


def _replace_tag(match: re.Match[str]) -> str:
    name = match.group(2).lower()
    if name in _BLOCK_TAGS:
        return "\n"
    if name in _CELL_TAGS:
        return " "
    if name in _INLINE_TAGS:
        return ""
    return match.group(0)


def inline_text(token: Token) -> str:
    """Plain text of one ``inline`` token: emphasis, code markers, link targets and images dropped.

    Soft line breaks become spaces; hard breaks and block-level HTML tags become ``\\n``.
    """
    parts: list[str] = []
    for child in token.children or ():
        kind = child.type
        if kind in ("text", "code_inline", "docfx_text", "text_special"):
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "html_inline":
            parts.append(html_to_text(child.content))
    return "".join(parts)


def blocks_to_lines(tokens: Sequence[Token]) -> list[str]:
    """Render a run of block tokens as non-empty plain-text lines.

    Each paragraph, heading and list item is one line (whitespace collapsed); a table row is its
    cells joined by ``" | "``; fenced and indented code keep their own lines; HTML blocks keep the
    text between their tags.
    """
    lines: list[str] = []
    row: list[str] | None = None
    for token in tokens:
        kind = token.type
        if kind == "inline":
            text = inline_text(token)
            if row is not None:
                row.append(collapse(text))
            else:
                _extend(lines, text)
        elif kind in ("fence", "code_block"):
            _extend(lines, token.content)
        elif kind == "html_block":
            _extend(lines, html_to_text(token.content))
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            cells = [cell for cell in row if cell]
            if cells:
                lines.append(" | ".join(cells))
            row = None
    return lines


def _extend(lines: list[str], text: str) -> None:
    for raw in text.split("\n"):
        line = collapse(raw)
        if line:
            lines.append(line)


def markdown_to_text(markdown: str) -> str:
    """Convenience: the whole of ``markdown`` as plain text, one line per block (see blocks_to_lines)."""
    return "\n".join(blocks_to_lines(parse_markdown(markdown)))


def first_h1(markdown: str) -> str:
    """Plain text of the first top-level H1 heading (ATX or setext, not inside code), or ``""``."""
    tokens = parse_markdown(markdown)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h1" and token.level == 0:
            return collapse(inline_text(tokens[index + 1]))
    return ""
