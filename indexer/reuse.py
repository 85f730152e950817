"""The live build, read for what the next build can take over from it.

Reading it never fails a build: a live build that is missing, unreadable, damaged or of a format
this code does not know lends nothing, and the next build starts from scratch. A build of the
current format lends its files' articles and chunks (as written), their vectors and lexical term
counts; a build of an earlier format lends only its vectors, by chunk hash: a format-2 build
(whose chunk lines repeat each section's Markdown) finds them by its ``sources.jsonl``, a
format-1 build (before ``sources.jsonl``) by its ``chunks.jsonl``. Large files
are opened, not read: the next build copies the ranges it takes (`indexer.pieces`).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from indexer.lexical import LexicalIndex
from indexer.store import (
    FORMAT_VERSION,
    FileStat,
    JsonLines,
    Manifest,
    SourceRecord,
    current_folder,
    load_chunks,
    read_file_stats,
    read_sources,
)

log = logging.getLogger(__name__)

_READ_ERRORS = (OSError, ValueError, KeyError, TypeError)
# The format before sources.jsonl: its chunks.jsonl and vectors.npy are read the same way.
_VECTORS_ONLY_FORMAT = 1
# The format before chunk lines named their section's Markdown: its sources.jsonl and vectors.npy
# are read the same way, its chunk lines are not taken over.
_SOURCES_FORMAT = 2


@dataclass
class Lent:
    """What the live build lends the next one; `close` it when the build is written.

    With its files: ``sources`` (its records) and ``articles``, ``chunks`` and ``source_lines``
    (its open JSON-lines files), where source ``i`` has the bytes
    ``article_offsets[i]:article_offsets[i + 1]`` of the first, likewise in ``chunk_offsets`` and
    ``source_offsets``, and the chunk rows ``rows[i]:rows[i + 1]``. With its vectors:
    ``vectors`` (memory-mapped) and ``vectors_file`` (open, the rows ending the file), and
    ``vector_rows``, their rows by chunk hash. ``lexical`` is its lexical index, lent with its
    files when made with the same glossary and tokenizer.
    """

    sources: list[SourceRecord] = field(default_factory=list)
    articles: BinaryIO | None = None
    chunks: BinaryIO | None = None
    source_lines: BinaryIO | None = None
    article_offsets: list[int] = field(default_factory=list)
    chunk_offsets: list[int] = field(default_factory=list)
    source_offsets: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    vectors: np.ndarray | None = None
    vectors_file: BinaryIO | None = None
    vector_rows: dict[str, int] = field(default_factory=dict)
    lexical: LexicalIndex | None = None
    _chunk_lines: JsonLines | None = None

    def chunk_line(self, row: int) -> bytes:
        """The JSON line of chunk ``row`` (the lent ``chunks.jsonl`` is read on the first call)."""
        if self.chunks is None:
            raise ValueError("no chunks were lent")
        if self._chunk_lines is None:
            self.chunks.seek(0)
            self._chunk_lines = JsonLines.of(self.chunks.read(), count=self.rows[-1], name=self.chunks.name)
        return self._chunk_lines.line(row)

    def vector_range(self, start: int, end: int) -> tuple[BinaryIO, int, int]:
        """Where the lent vectors of rows ``start`` to ``end`` are: (file, first byte, end byte)."""
        if self.vectors is None or self.vectors_file is None:
            raise ValueError("no vectors were lent")
        row_bytes = self.vectors.shape[1] * 4
        data_start = os.fstat(self.vectors_file.fileno()).st_size - self.vectors.shape[0] * row_bytes
        return self.vectors_file, data_start + start * row_bytes, data_start + end * row_bytes

    def close(self) -> None:
        """Close the lent files."""
        for file in (self.articles, self.chunks, self.source_lines, self.vectors_file):
            if file is not None:
                file.close()


@dataclass(frozen=True)
class PreviousBuild:
    """The live build's manifest and source records, read at the start.

    ``manifest`` is None for a build of an earlier format or one whose records cannot be read:
    such a build lends only its vectors, found by the hashes of its ``sources`` (a format-2
    build) or, when it has none, by those in its ``chunks.jsonl``.
    ``source_offsets`` are where their lines start in ``sources.jsonl`` (with its end last), and
    ``file_stats`` their file stats (None where unknown), empty when it has none.
    """

    folder: Path
    format_version: int
    model: str
    dim: int
    manifest: Manifest | None
    sources: list[SourceRecord]
    source_offsets: list[int] = field(default_factory=list)
    file_stats: list[FileStat | None] = field(default_factory=list)

    @classmethod
    def open(cls, root: Path) -> PreviousBuild | None:
        """The live build under ``root``, or None when there is none or it cannot be read."""
        folder = current_folder(root)
        if folder is None:
            return None
        try:
            data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            version = data["format_version"]
        except _READ_ERRORS as exc:
            _unreadable(folder, "manifest", exc)
            return None
        if version not in (FORMAT_VERSION, _SOURCES_FORMAT, _VECTORS_ONLY_FORMAT):
            log.info("index.previous_other_format", extra={"folder": str(folder), "format_version": version})
            return None
        if version == _SOURCES_FORMAT:
            try:
                sources, _ = read_sources(folder / "sources.jsonl", count=int(data["articles"]))
                return cls(folder, version, str(data["model"]), int(data["dim"]), None, sources)
            except _READ_ERRORS as exc:
                _unreadable(folder, "sources", exc)  # its vectors may still be lent, by chunk hash
        if version == FORMAT_VERSION:
            try:
                manifest = Manifest(**data)
                sources, offsets = read_sources(folder / "sources.jsonl", count=manifest.articles)
                if sum(len(s.chunk_hashes) for s in sources) != manifest.chunks:
                    raise ValueError("sources.jsonl does not add up to the manifest's chunks")
                stats = _file_stats(folder, len(sources))
                return cls(folder, version, manifest.model, manifest.dim, manifest, sources, offsets, stats)
            except _READ_ERRORS as exc:
                _unreadable(folder, "sources", exc)  # its vectors may still be lent, by chunk hash
        try:
            return cls(folder, version, str(data["model"]), int(data["dim"]), None, [])
        except _READ_ERRORS as exc:
            _unreadable(folder, "manifest", exc)
            return None

    def reusable_sources(self, chunking_hash: str) -> list[SourceRecord]:
        """The source records a build chunking with ``chunking_hash`` may take over."""
        if self.manifest is None or self.manifest.chunking_hash != chunking_hash:
            return []
        return self.sources

    def vector_hashes(self, *, model: str, dim: int) -> set[str] | None:
        """The hashes of the chunks whose vectors this build can lend a build with ``model`` at
        ``dim`` (if its vectors read well); None when that takes reading its chunks."""
        if (self.model, self.dim) != (model, dim):
            return set()
        if self.manifest is None and not self.sources:
            return None
        return {h for s in self.sources for h in s.chunk_hashes}

    def lend(self, *, model: str, dim: int, glossary_hash: str, files: bool) -> Lent:
        """Open what this build can lend a build with ``model`` at ``dim`` and ``glossary_hash``.

        With ``files`` its article and chunk lines and its lexical index too (a build reusing some
        of its sources needs them). Each part that turns out unreadable or damaged is left out on
        its own (and logged): the caller then parses, tokenizes or embeds what it would have lent.
        """
        lent = Lent()
        try:
            if files and self.manifest is not None:
                self._lend_files(lent)
                if lent.chunks is not None and self.manifest.glossary_hash == glossary_hash:
                    self._lend_lexical(lent)
            if (self.model, self.dim) == (model, dim):
                self._lend_vectors(lent)
        except BaseException:
            lent.close()
            raise
        return lent

    def _lend_files(self, lent: Lent) -> None:
        opened: list[BinaryIO] = []
        try:
            for name in ("articles.jsonl", "chunks.jsonl", "sources.jsonl"):
                opened.append((self.folder / name).open("rb"))
            article_offsets = [0, *itertools.accumulate(s.article_bytes for s in self.sources)]
            chunk_offsets = [0, *itertools.accumulate(s.chunk_bytes for s in self.sources)]
            every_offsets = (article_offsets, chunk_offsets, self.source_offsets)
            for file, offsets in zip(opened, every_offsets, strict=True):
                if os.fstat(file.fileno()).st_size != offsets[-1]:
                    raise ValueError(f"{file.name} does not add up to its sources")
        except _READ_ERRORS as exc:
            for file in opened:
                file.close()
            _unreadable(self.folder, "files", exc)
            return
        lent.sources = self.sources
        lent.articles, lent.chunks, lent.source_lines = opened
        lent.article_offsets, lent.chunk_offsets = article_offsets, chunk_offsets
        lent.source_offsets = self.source_offsets
        lent.rows = [0, *itertools.accumulate(len(s.chunk_hashes) for s in self.sources)]

    def _lend_lexical(self, lent: Lent) -> None:
        try:
            lexical = LexicalIndex.load(self.folder / "lexical")
            if lexical.size != lent.rows[-1]:
                raise ValueError("the lexical index does not cover every chunk")
        except _READ_ERRORS as exc:
            _unreadable(self.folder, "lexical", exc)
            return
        lent.lexical = lexical

    def _lend_vectors(self, lent: Lent) -> None:
        file = None
        try:
            hashes = (
                [h for s in self.sources for h in s.chunk_hashes]
                if self.manifest is not None or self.sources
                else [c.hash for c in load_chunks(self.folder)]
            )
            path = self.folder / "vectors.npy"
            file = path.open("rb")
            vectors = np.load(path, mmap_mode="r", allow_pickle=False)
            if vectors.shape != (len(hashes), self.dim) or vectors.dtype != np.float32:
                raise ValueError(f"vectors.npy holds {vectors.shape} {vectors.dtype}, not {len(hashes)} rows")
            if vectors.flags.f_contiguous and not vectors.flags.c_contiguous:
                raise ValueError("vectors.npy is in Fortran order")
        except _READ_ERRORS as exc:
            if file is not None:
                file.close()
            _unreadable(self.folder, "vectors", exc)
            return
        lent.vectors, lent.vectors_file = vectors, file
        lent.vector_rows = {h: i for i, h in enumerate(hashes)}


def _file_stats(folder: Path, count: int) -> list[FileStat | None]:
    """The build's file stats; none (every file is then read) when they cannot be read."""
    try:
        return read_file_stats(folder, count=count)
    except FileNotFoundError:
        return []  # a build made before file stats were kept
    except _READ_ERRORS as exc:
        _unreadable(folder, "file_stats", exc)
        return []


def _unreadable(folder: Path, part: str, exc: Exception) -> None:
    log.warning(
        "index.previous_unreadable", extra={"folder": str(folder), "part": part, "error": type(exc).__name__}
    )
