"""`Article` -> `Chunk`s: one chunk a section (H2/H3), long sections cut into overlapping windows.

Each chunk's text starts with ``"Title > Section"`` so that a chunk found alone still says what it
is about. Pure and deterministic: the same article always gives the same chunks and hashes.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from indexer.markdown_text import blocks_to_lines, collapse, inline_text, parse_markdown
from indexer.models import Article, Chunk

if TYPE_CHECKING:
    from markdown_it.token import Token

OVERVIEW = "Overview"
_SEPARATOR = " > "
# Bump when this module, markdown_text.py or articles.py change what a file becomes (article or
# chunks): a build made by another version then parses every file again instead of reusing it.
CHUNKING_VERSION = "1"


@dataclass(frozen=True)
class ChunkingOptions:
    """How big chunks are, in words of plain text (the ``"Title > Section"`` line not counted).

    A section longer than ``max_words`` is cut into windows that share ``overlap_words`` words; a
    section shorter than ``min_words`` is appended to the chunk before it.
    """

    max_words: int = 200
    overlap_words: int = 40
    min_words: int = 8

    def __post_init__(self) -> None:
        if self.max_words < 1 or not 0 <= self.overlap_words < self.max_words or self.min_words < 0:
            raise ValueError(
                "chunking options need max_words >= 1, 0 <= overlap_words < max_words and min_words >= 0"
            )


def chunking_hash(options: ChunkingOptions) -> str:
    """A digest of everything besides a file's bytes that decides its article and chunks."""
    key = json.dumps({"version": CHUNKING_VERSION, **asdict(options)}, sort_keys=True)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass
class _Section:
    path: tuple[str, ...]  # () for the overview
    line: int  # 0-based body line of the heading (or of the overview's first block)
    start: int  # first 0-based body line of the section's Markdown
    end: int = -1  # one past its last line
    tokens: list[Token] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return _SEPARATOR.join(self.path) if self.path else OVERVIEW

    @property
    def words(self) -> int:
        return sum(len(line.split()) for line in self.lines)


def chunk_article(article: Article, options: ChunkingOptions = ChunkingOptions()) -> list[Chunk]:
    """Cut ``article`` into chunks, in reading order; never returns an empty list.

    Sections start at H2 and H3 headings (outside code; ATX or setext); H4 and deeper stay inside
    their section, and an H1 that opens the article is the title, not a section. Text before the
    first section is ``"Overview"``, led by the front-matter description. A heading with no text
    of its own joins the next section; a section under ``min_words`` joins the chunk before it; a
    section over ``max_words`` becomes overlapping windows with the same section name. ``line`` is
    the 1-based line of the section heading in the file; ``hash`` is the sha256 of ``text``.
    """
    body_lines = article.body.split("\n")
    sections = _split_sections(article, parse_markdown(article.body), len(body_lines))
    sections = _merge_small(_merge_empty_headings(sections), options.min_words)
    if not any(section.lines for section in sections):
        sections = [_Section(path=(), line=0, start=0, end=len(body_lines))]
        if article.description:
            sections[0].lines = [collapse(article.description)]

    chunks: list[Chunk] = []
    for section in sections:
        markdown = "\n".join(body_lines[section.start : section.end]).strip("\n").rstrip()
        if not markdown and not section.path:
            markdown = article.description
        prefix = f"{article.title}{_SEPARATOR}{section.name}"
        for window in _windows(section.lines, options.max_words, options.overlap_words):
            text = f"{prefix}\n{window}" if window else prefix
            ordinal = len(chunks)
            chunks.append(
                Chunk(
                    id=f"{article.id}#{ordinal}",
                    article_id=article.id,
                    ordinal=ordinal,
                    title=article.title,
                    section=section.name,
                    text=text,
                    markdown=markdown,
                    hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    line=article.body_line + section.line,
                )
            )
    return chunks


def _split_sections(article: Article, tokens: list[Token], line_count: int) -> list[_Section]:
    """Group top-level block tokens under their H2/H3 heading and render each group to lines."""
    overview = _Section(path=(), line=-1, start=-1)
    sections = [overview]
    current = overview
    parent: str | None = None
    title_seen = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open" and token.level == 0 and token.tag in ("h1", "h2", "h3"):
            heading = collapse(inline_text(tokens[index + 1]))
            line = token.map[0] if token.map else 0
            index += 3  # heading_open, inline, heading_close
            if token.tag == "h1" and not title_seen and current is overview:
                title_seen = True
                if _normalise(heading) != _normalise(article.title):
                    overview.lines.append(heading)  # often the exact error text people search for
                continue
            if not heading:  # "##" with no words names nothing; its section runs on
                continue
            current.end = line
            if token.tag != "h3":
                parent = heading
                path: tuple[str, ...] = (heading,)
            else:
                path = (parent, heading) if parent is not None else (heading,)
            current = _Section(path=path, line=line, start=line)
            sections.append(current)
            continue
        if current is overview and overview.start < 0 and token.map:
            overview.start = overview.line = token.map[0]
        current.tokens.append(token)
        index += 1
    current.end = line_count

    for section in sections:
        section.lines.extend(blocks_to_lines(section.tokens))
        section.tokens = []
    if overview.start < 0:  # nothing but the title before the first section
        overview.start, overview.line = overview.end, 0
    description = collapse(article.description)
    if description and not (overview.lines and _normalise(overview.lines[0]) == _normalise(description)):
        overview.lines.insert(0, description)
    return sections if overview.lines else sections[1:]


def _merge_empty_headings(sections: list[_Section]) -> list[_Section]:
    """A heading with no text of its own joins the next section (its heading kept as a line)."""
    result: list[_Section] = []
    pending: list[_Section] = []
    for section in sections:
        if section.path and not section.lines:
            pending.append(section)
            continue
        if pending:
            carried = [s.path[-1] for s in pending if s.path[-1] not in section.path]
            section.lines[:0] = carried
            section.start, section.line = pending[0].start, pending[0].line
            pending = []
        result.append(section)
    if pending:
        last = pending[-1]
        last.lines = [s.path[-1] for s in pending[:-1] if s.path[-1] not in last.path]
        last.start, last.line = pending[0].start, pending[0].line
        result.append(last)
    return result


def _merge_small(sections: list[_Section], min_words: int) -> list[_Section]:
    """A section under ``min_words`` is appended, heading and text, to the chunk before it."""
    result: list[_Section] = []
    for section in sections:
        if result and section.words < min_words:
            previous = result[-1]
            previous.lines.extend([section.path[-1], *section.lines] if section.path else section.lines)
            previous.end = section.end
            continue
        result.append(section)
    return result


def _windows(lines: list[str], max_words: int, overlap_words: int) -> list[str]:
    """Cut lines into windows of at most ``max_words`` words sharing ``overlap_words``, evenly sized.

    Line breaks inside a window are kept.
    """
    words = [(word, number) for number, line in enumerate(lines) for word in line.split()]
    if len(words) <= max_words:
        return ["\n".join(lines)]
    step = max_words - overlap_words
    count = math.ceil((len(words) - overlap_words) / step)
    size = math.ceil((len(words) + (count - 1) * overlap_words) / count)
    step = size - overlap_words
    windows: list[str] = []
    for number in range(count):
        start = number * step
        end = len(words) if number == count - 1 else start + size
        windows.append(_join(words[start:end]))
    return windows


def _join(words: list[tuple[str, int]]) -> str:
    out: list[str] = []
    previous_line = words[0][1]
    for word, line in words:
        if out:
            out.append("\n" if line != previous_line else " ")
        out.append(word)
        previous_line = line
    return "".join(out)


def _normalise(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())
