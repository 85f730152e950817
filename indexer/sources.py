"""Knowledge folder -> the files to index, parsing only the files whose bytes changed.

Every Markdown file is read and hashed (sha256 of its bytes), unless its size, mtime and ctime are
those the previous build read it with: its digest is then taken as the previous build's. A file
whose path and digest match a record of the previous build, made with the same chunking, is taken
over from that build as it is; any other file is parsed into an article and cut into chunks.
Either way the files come in article-id order with the same problems (file and line) that
`load_articles` reports.

A file's stat vouches for its bytes only if the file cannot still change within the same
timestamp: as git does for "racy" entries, a stat taken moments after the file last changed is
not trusted. When the build ends long enough after such a change (a full build takes minutes),
the file is read again and its stat kept if it still holds the bytes indexed; otherwise the
next build reads and hashes that file again.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.articles import (
    DEFAULT_MAX_ARTICLE_BYTES,
    ArticleError,
    ArticleIds,
    check_size,
    confined_path,
    knowledge_paths,
    parse_article,
    read_source,
)
from indexer.chunking import ChunkingOptions, chunk_article
from indexer.models import Article, ArticleProblem, Chunk
from indexer.store import FileStat, SourceRecord

# A stat is kept only for a file that last changed longer ago than this before the scan began:
# more than the coarsest timestamp step of common file systems (2 s on FAT) and a little skew
# between the clocks of a file server and of this machine.
RACY_NANOSECONDS = 3_000_000_000


@dataclass(frozen=True)
class Source:
    """One knowledge file that the build indexes.

    ``previous`` is the file's position among the previous build's records when it is reused
    (same path, same bytes); otherwise ``article`` and ``chunks`` hold it freshly parsed. ``stat``
    is the file's stat as it was read, and ``settled`` whether that stat vouches for the bytes
    read (the file had not changed moments before).
    """

    record: SourceRecord
    previous: int | None = None
    article: Article | None = None
    chunks: tuple[Chunk, ...] = ()
    stat: FileStat | None = None
    settled: bool = False


class _Previous:
    """The previous build's records, found by path (with their file stats) and by path and digest."""

    def __init__(self, records: Sequence[SourceRecord], stats: Sequence[FileStat | None]) -> None:
        self.records = records
        self.stats = stats if len(stats) == len(records) else [None] * len(records)
        self.by_path = {record.path: position for position, record in enumerate(records)}

    def unchanged(self, relative: str, stat: FileStat) -> int | None:
        """The position of the record of ``relative`` if the file's ``stat`` is the one recorded."""
        position = self.by_path.get(relative)
        if position is None or self.stats[position] != stat:
            return None
        return position

    def same_bytes(self, relative: str, digest: str) -> int | None:
        """The position of the record of ``relative`` if its bytes had ``digest``."""
        position = self.by_path.get(relative)
        if position is None or self.records[position].digest != digest:
            return None
        return position


def scan_knowledge(
    kb: Path,
    options: ChunkingOptions,
    *,
    reusable: Sequence[SourceRecord] = (),
    stats: Sequence[FileStat | None] = (),
    on_parse: Callable[[], None] | None = None,
    max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
) -> tuple[list[Source], list[ArticleProblem]]:
    """The files under ``kb`` to index, sorted by article id, and the problems of those left out.

    A file matching one of ``reusable`` (the previous build's records, which must have been made
    with ``options``) by path and digest is not parsed; nor read, when its stat equals the one
    ``stats`` holds for that record (None where unknown; ignored unless there is one a record).
    ``on_parse`` is called before each file that has to be parsed. A file over ``max_bytes`` is a
    problem (and not read), even one the previous build indexed. Raises `KnowledgeFolderError`
    for a missing or empty knowledge folder.
    """
    previous = _Previous(reusable, stats)
    trusted_before = _now_ns() - RACY_NANOSECONDS
    sources: list[Source] = []
    problems: list[ArticleProblem] = []
    ids = ArticleIds()
    for relative, path in knowledge_paths(kb):
        try:
            source = _scan_file(kb, relative, path, previous, options, trusted_before, on_parse, max_bytes)
            ids.claim(source.record.article_id, path)
        except ArticleError as error:
            problems.append(error.problem)
            continue
        sources.append(source)
    return sources, problems


def _scan_file(
    kb: Path,
    relative: str,
    path: str,
    previous: _Previous,
    options: ChunkingOptions,
    trusted_before: int,
    on_parse: Callable[[], None] | None,
    max_bytes: int,
) -> Source:
    """The file ``path`` (``relative`` to ``kb``): reused when its stat or its bytes say it can be,
    else parsed; `ArticleError` when it cannot be indexed."""
    stat = _stat(confined_path(path, kb))
    if stat is not None:
        check_size(path, stat.size, max_bytes)
    position = None if stat is None else previous.unchanged(relative, stat)
    if position is not None:
        return Source(previous.records[position], previous=position, stat=stat, settled=True)
    raw = read_source(Path(path), kb, max_bytes=max_bytes)
    settled = stat is not None and _changed_before(stat, trusted_before)
    digest = hashlib.sha256(raw).hexdigest()
    position = previous.same_bytes(relative, digest)
    if position is not None:
        return Source(previous.records[position], previous=position, stat=stat, settled=settled)
    if on_parse is not None:
        on_parse()
    article = parse_article(Path(path), kb, raw)
    chunks = tuple(chunk_article(article, options))
    record = SourceRecord(relative, digest, article.id, tuple(c.hash for c in chunks))
    return Source(record, article=article, chunks=chunks, stat=stat, settled=settled)


def file_stats(kb: Path, sources: Sequence[Source]) -> list[FileStat | None]:
    """The stats for the next build to trust, one per source of ``kb`` (None where it cannot).

    A file read moments after it changed is looked at again: if it has settled since, still has
    the stat it was read with and still holds the bytes indexed (read again to make sure), its
    stat is kept after all.
    """
    trusted_before = _now_ns() - RACY_NANOSECONDS
    return [source.stat if source.settled else _settle(kb, source, trusted_before) for source in sources]


def _settle(kb: Path, source: Source, trusted_before: int) -> FileStat | None:
    stat = source.stat
    if stat is None or not _changed_before(stat, trusted_before):
        return None
    path = kb / source.record.path
    try:
        if FileStat.of(path.stat()) != stat:
            return None
        unchanged = hashlib.sha256(path.read_bytes()).hexdigest() == source.record.digest
    except OSError:
        return None
    return stat if unchanged else None


def _changed_before(stat: FileStat, moment_ns: int) -> bool:
    """True when the file's data and metadata last changed before ``moment_ns``."""
    return max(stat.mtime_ns, stat.ctime_ns) < moment_ns


def _now_ns() -> int:
    return time.time_ns()


def _stat(path: str) -> FileStat | None:
    """The file's stat, None when it has none to give (reading it then reports why)."""
    try:
        return FileStat.of(os.stat(path))
    except OSError:
        return None
