"""The indexer's plain data types."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Article:
    """One knowledge article: front matter plus its Markdown body.

    ``id`` is the path relative to the knowledge root without ``.md``, with ``/`` separators.
    ``body_line`` is the 1-based line in ``path`` where ``body`` starts (after the front matter).
    """

    id: str
    path: Path
    title: str
    body: str
    body_line: int = 1
    description: str = ""
    tags: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    owner: str = ""
    review_by: str = ""


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of an article: one section (or a window of a long one).

    ``text`` is plain text prefixed with ``"Title > Heading"`` (what is embedded and BM25-indexed);
    ``markdown`` is the section's original Markdown (what a reply quotes). ``hash`` is a content hash
    of ``text`` used to re-embed only what changed.
    """

    id: str  # f"{article_id}#{ordinal}"
    article_id: str
    ordinal: int
    title: str
    section: str
    text: str
    markdown: str
    hash: str
    line: int = 1


@dataclass(frozen=True)
class ArticleProblem:
    """Why one knowledge file could not be indexed, with where: shown to the curator verbatim."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"
