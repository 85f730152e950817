"""Knowledge folder -> the files to index, parsing only the files whose bytes changed.

Every Markdown file is read and hashed (sha256 of its bytes). A file whose path and digest match
a record of the previous build, made with the same chunking, is taken over from that build as
it is; any other file is parsed into an article and cut into chunks. Either way the files come
in article-id order with the same problems (file and line) that `load_articles` reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.articles import ArticleError, ArticleIds, knowledge_files, parse_article, read_source
from indexer.chunking import ChunkingOptions, chunk_article
from indexer.models import Article, ArticleProblem, Chunk
from indexer.store import SourceRecord


@dataclass(frozen=True)
class Source:
    """One knowledge file that the build indexes.

    ``previous`` is the file's position among the previous build's records when it is reused
    (same path, same bytes); otherwise ``article`` and ``chunks`` hold it freshly parsed.
    """

    record: SourceRecord
    previous: int | None = None
    article: Article | None = None
    chunks: tuple[Chunk, ...] = ()


def scan_knowledge(
    kb: Path, options: ChunkingOptions, *, reusable: Sequence[SourceRecord] = ()
) -> tuple[list[Source], list[ArticleProblem]]:
    """The files under ``kb`` to index, sorted by article id, and the problems of those left out.

    A file matching one of ``reusable`` (the previous build's records, which must have been made
    with ``options``) by path and digest is not parsed. Raises `KnowledgeFolderError` for a
    missing or empty knowledge folder.
    """
    known = {(record.path, record.digest): position for position, record in enumerate(reusable)}
    sources: list[Source] = []
    problems: list[ArticleProblem] = []
    ids = ArticleIds()
    for relative, path in knowledge_files(kb):
        try:
            raw = read_source(path)
            digest = hashlib.sha256(raw).hexdigest()
            position = known.get((relative, digest))
            if position is not None:
                ids.claim(reusable[position].article_id, path)
                sources.append(Source(reusable[position], previous=position))
                continue
            article = parse_article(path, kb, raw)
            ids.claim(article.id, path)
        except ArticleError as error:
            problems.append(error.problem)
            continue
        chunks = tuple(chunk_article(article, options))
        record = SourceRecord(relative, digest, article.id, tuple(c.hash for c in chunks))
        sources.append(Source(record, article=article, chunks=chunks))
    return sources, problems
