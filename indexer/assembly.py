"""The new build's files, assembled from new lines and ranges of the live build's files.

A file reused from the live build contributes its article and chunk lines exactly as they were
written, and the vectors of its chunks; consecutive reused files become one range to copy. For
every chunk the assembly remembers where it came from, which decides what has to be tokenized
and embedded.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import numpy as np

from indexer.pieces import Pieces
from indexer.reuse import Lent
from indexer.sources import Source
from indexer.store import SourceRecord, StoredArticle, chunk_lines, json_line


class Rows:
    """The new build's articles, chunks and source records, and where each chunk came from.

    Sources are added in order with `add`; ``articles``, ``chunks`` and ``sources`` then hold the
    three JSON-lines files as pieces and ``records`` the source records, for `write_contents`.
    """

    def __init__(self, lent: Lent) -> None:
        self.lent = lent
        self.articles = Pieces()
        self.chunks = Pieces()
        self.sources = Pieces()
        self.records: list[SourceRecord] = []
        # Per chunk: its row in the live build when its whole file was reused, else -1.
        self.previous: list[int] = []
        self.hashes: list[str] = []
        # The texts of the chunks of files parsed again, by row.
        self.texts: dict[int, str] = {}
        # (first new row, first live row or -1, count): runs of reused rows and of new ones.
        self._runs: list[tuple[int, int, int]] = []

    def add(self, source: Source) -> None:
        """Append ``source``'s article and chunks: the live build's lines when it is reused."""
        record = self._add_parsed(source) if source.previous is None else self._add_reused(source.previous)
        self.records.append(record)
        self.hashes.extend(record.chunk_hashes)

    def _add_reused(self, at: int) -> SourceRecord:
        """Append the live build's source ``at``, its lines copied as they are."""
        lent = self.lent
        if lent.articles is None or lent.chunks is None or lent.source_lines is None:
            raise ValueError("a reused file needs the live build's files")
        self.articles.copy(lent.articles, lent.article_offsets[at], lent.article_offsets[at + 1])
        self.chunks.copy(lent.chunks, lent.chunk_offsets[at], lent.chunk_offsets[at + 1])
        self.sources.copy(lent.source_lines, lent.source_offsets[at], lent.source_offsets[at + 1])
        first, end = lent.rows[at], lent.rows[at + 1]
        self._extend_run(first, end - first)
        self.previous.extend(range(first, end))
        return lent.sources[at]

    def _add_parsed(self, source: Source) -> SourceRecord:
        """Append the freshly parsed ``source``, its lines written anew."""
        if source.article is None:
            raise ValueError(f"{source.record.path} was neither reused nor parsed")
        article = json_line(StoredArticle.from_article(source.article))
        self.articles.add(article)
        lines = chunk_lines(source.chunks)
        self._extend_run(-1, len(lines))
        for chunk, line in zip(source.chunks, lines, strict=True):
            self.texts[len(self.previous)] = chunk.text
            self.chunks.add(line)
            self.previous.append(-1)
        record = dataclasses.replace(
            source.record, article_bytes=len(article), chunk_bytes=sum(map(len, lines))
        )
        self.sources.add(json_line(record))
        return record

    def _extend_run(self, first: int, count: int) -> None:
        """Add ``count`` rows, from live row ``first`` on (-1: new rows), to the runs, joining the
        last run when they follow it."""
        start = len(self.previous)
        if self._runs:
            run_start, run_first, run_count = self._runs[-1]
            if first >= 0 and run_first >= 0 and run_first + run_count == first:
                self._runs[-1] = (run_start, run_first, run_count + count)
                return
        self._runs.append((start, first, count))

    def __len__(self) -> int:
        return len(self.previous)

    def text(self, row: int) -> str:
        """The text of chunk ``row`` (read back from the live build when its file was reused)."""
        text = self.texts.get(row)
        if text is None:
            text = str(json.loads(self.lent.chunk_line(self.previous[row]))["text"])
        return text

    def unembedded(self) -> list[int]:
        """The rows the live build lends no vector for: they need the encoder."""
        lent = self.lent
        if lent.vectors is None:
            return list(range(len(self)))
        return [row for row in self.texts if self.hashes[row] not in lent.vector_rows]

    def vectors(self, fresh: Mapping[str, np.ndarray]) -> Pieces:
        """``vectors.npy``'s rows as pieces: ranges of the live build's file for reused files,
        its rows for chunks with a lent text hash, and ``fresh`` vectors (by hash) for the rest."""
        lent = self.lent
        pieces = Pieces()
        for start, first, count in self._runs:
            if first >= 0 and lent.vectors is not None:
                pieces.copy(*lent.vector_range(first, first + count))
                continue
            for row in range(start, start + count):
                chunk_hash = self.hashes[row]
                lent_row = lent.vector_rows.get(chunk_hash)
                if lent.vectors is not None and lent_row is not None:
                    vector = lent.vectors[lent_row]
                else:
                    vector = fresh[chunk_hash]
                pieces.add(np.ascontiguousarray(vector, dtype=np.float32).tobytes())
        return pieces
