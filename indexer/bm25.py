"""Term counts as sparse arrays, built in whole-array NumPy steps: what the lexical index keeps of
each chunk so that a rebuild tokenizes only the chunks that changed.

`TermCounts` holds how often each term occurs in each document, one column a term (CSC). Terms are
kept in sorted order, so the same documents always give the same arrays however they were arrived
at. A new build derives its counts from the previous build's: documents it keeps are taken over as
they are, and only new or edited documents are counted from their tokens; beyond copying the kept
entries, an update looks only at the columns the new documents touch. bm25s is indexed from
the counts when an index is loaded (``indexer.bm25_weights``); the BM25 weights are its own.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]

_DOC_BITS = 32


@dataclass(frozen=True)
class TermCounts:
    """How often each term occurs in each of ``n_docs`` documents, one column a term.

    ``terms`` are sorted and each occurs in some document. Column ``t`` is the term ``terms[t]``:
    the documents ``docs[indptr[t]:indptr[t + 1]]`` (ascending) contain it ``counts[...]`` times.
    """

    terms: tuple[str, ...]
    indptr: IntArray
    docs: Int32Array
    counts: Int32Array
    n_docs: int

    @classmethod
    def empty(cls) -> TermCounts:
        """Counts over no documents."""
        return cls(
            (), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), 0
        )

    @classmethod
    def of(cls, documents: Sequence[Sequence[str]]) -> TermCounts:
        """Count the tokens of each document (one token list a document, in document order)."""
        return cls.empty().update(np.full(len(documents), -1, dtype=np.int64), dict(enumerate(documents)))

    def update(self, rows: IntArray, documents: Mapping[int, Sequence[str]]) -> TermCounts:
        """Counts over ``len(rows)`` documents: document ``i`` is this one's document ``rows[i]``
        when ``rows[i] >= 0``, else the tokens ``documents[i]``.

        Equal to counting every new document's tokens from scratch. Raises ValueError when
        ``rows`` names one of these documents twice or one that does not exist, or when a new
        document has no tokens. The work beyond copying the kept entries grows with the new
        documents and the columns they touch, not with the whole index.
        """
        rows = np.asarray(rows, dtype=np.int64)
        kept = np.flatnonzero(rows >= 0)
        taken = rows[kept]
        ascending = bool(np.all(taken[1:] > taken[:-1]))
        if taken.size and (
            int(taken.max()) >= self.n_docs or (not ascending and np.unique(taken).size != taken.size)
        ):
            raise ValueError("rows must name distinct existing documents")
        fresh_docs = np.flatnonzero(rows < 0).tolist()
        missing = [i for i in fresh_docs if i not in documents]
        if missing:
            raise ValueError(f"no tokens given for new documents {missing[:5]}")
        tokens = [documents[i] for i in fresh_docs]
        if any(len(document) == 0 for document in tokens):
            raise ValueError("every new document needs at least one token")

        terms = _MergedTerms(self.terms, tokens)
        old = self._kept(taken, kept, ascending)
        fresh = _Entries.counted(tokens, fresh_docs, terms.column)
        at = old.insert_positions(fresh, *terms.old_columns(fresh.columns))
        docs = np.insert(old.docs, at, fresh.docs)
        counts = np.insert(old.counts, at, fresh.counts)
        frequency = np.insert(old.frequency, terms.inserted, 0)
        frequency += np.bincount(fresh.columns, minlength=frequency.size)
        unused = np.flatnonzero(frequency == 0)  # terms only the dropped or edited documents had
        indptr = np.zeros(frequency.size - unused.size + 1, dtype=np.int64)
        np.cumsum(np.delete(frequency, unused), out=indptr[1:])
        return TermCounts(
            terms=_without(terms.merged, unused.tolist()),
            indptr=indptr,
            docs=docs.astype(np.int32, copy=False),
            counts=counts.astype(np.int32, copy=False),
            n_docs=len(rows),
        )

    def _kept(self, taken: IntArray, kept: IntArray, ascending: bool) -> _Kept:
        """The entries of the documents ``taken``, renumbered ``kept``, in (column, document) order."""
        new_doc = np.full(self.n_docs, -1, dtype=np.int32)
        new_doc[taken] = kept
        renumbered = not np.array_equal(taken, kept)
        docs = new_doc[self.docs] if renumbered else self.docs
        gone = np.flatnonzero(docs < 0) if renumbered else np.flatnonzero((new_doc < 0)[self.docs])
        frequency = self.document_frequencies()
        counts = self.counts
        if gone.size:
            docs, counts = np.delete(docs, gone), np.delete(counts, gone)
            dropped = np.searchsorted(self.indptr, gone, side="right") - 1
            frequency = frequency - np.bincount(dropped, minlength=frequency.size)
        if not ascending:  # the kept documents change order: sort each column's documents again
            order = np.lexsort((docs, np.repeat(np.arange(frequency.size), frequency)))
            docs, counts = docs[order], counts[order]
        return _Kept(docs, counts, frequency)

    def document_frequencies(self) -> IntArray:
        """For each term (column order), how many documents contain it."""
        return np.diff(self.indptr)

    def document_lengths(self) -> IntArray:
        """For each document, how many tokens it has (repeats counted)."""
        lengths = np.bincount(self.docs, weights=self.counts, minlength=self.n_docs)
        return lengths.astype(np.int64)

    def columns(self) -> IntArray:
        """The column (term) of every entry, parallel to ``docs`` and ``counts``."""
        return np.repeat(np.arange(len(self.terms), dtype=np.int64), self.document_frequencies())


class _MergedTerms:
    """This index's sorted terms with the new documents' unseen terms inserted in order.

    ``merged`` is the new term list; ``inserted`` holds, for each unseen term (sorted), the old
    column it goes before; ``column`` maps each token of the new documents to its new column.
    """

    def __init__(self, old: tuple[str, ...], tokens: Sequence[Sequence[str]]) -> None:
        known: dict[str, int] = {}
        unseen: list[str] = []
        for term in dict.fromkeys(itertools.chain.from_iterable(tokens)):
            at = bisect.bisect_left(old, term)
            if at < len(old) and old[at] == term:
                known[term] = at
            else:
                unseen.append(term)
        unseen.sort()
        inserted = [bisect.bisect_left(old, term) for term in unseen]
        self.inserted = np.asarray(inserted, dtype=np.int64)
        self.column = {term: at + bisect.bisect_right(inserted, at) for term, at in known.items()}
        self.column.update((term, at + n) for n, (term, at) in enumerate(zip(unseen, inserted, strict=True)))
        merged: list[str] = []
        start = 0
        for term, at in zip(unseen, inserted, strict=True):
            merged.extend(old[start:at])
            merged.append(term)
            start = at
        merged.extend(old[start:])
        self.merged = merged
        self._unseen_columns = self.inserted + np.arange(len(inserted), dtype=np.int64)

    def old_columns(self, columns: IntArray) -> tuple[IntArray, BoolArray]:
        """For each of the new ``columns``: the first old column not before it (its own old
        column for a term the index had), and whether the index had its term."""
        before = np.searchsorted(self._unseen_columns, columns, side="left")
        unseen = before < self._unseen_columns.size
        unseen[unseen] = self._unseen_columns[before[unseen]] == columns[unseen]
        return columns - before, ~unseen


@dataclass(frozen=True)
class _Entries:
    """Entries (column, document, count) sorted by column, then document."""

    columns: IntArray
    docs: IntArray
    counts: IntArray

    @classmethod
    def counted(
        cls, tokens: Sequence[Sequence[str]], docs: Sequence[int], column: Mapping[str, int]
    ) -> _Entries:
        """The entries of documents ``docs`` whose tokens are ``tokens``, columns by ``column``."""
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        columns = np.fromiter(
            map(column.__getitem__, itertools.chain.from_iterable(tokens)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        owners = np.repeat(np.asarray(docs, dtype=np.int64), lengths)
        keys, counts = np.unique((columns << _DOC_BITS) | owners, return_counts=True)
        return cls(keys >> _DOC_BITS, keys & ((1 << _DOC_BITS) - 1), counts)


@dataclass(frozen=True)
class _Kept:
    """The kept entries' documents and counts in (old column, new document) order, and how many
    entries each old column keeps."""

    docs: Int32Array
    counts: Int32Array
    frequency: IntArray

    def insert_positions(self, fresh: _Entries, old_columns: IntArray, known: BoolArray) -> IntArray:
        """Where each of the ``fresh`` entries goes among the kept ones (for ``np.insert``), given
        the first old column not before each and whether that is its own column (``known``)."""
        starts = np.zeros(self.frequency.size + 1, dtype=np.int64)
        np.cumsum(self.frequency, out=starts[1:])
        at = starts[old_columns]
        shared = np.flatnonzero(known)
        if shared.size:
            at[shared] += self._ranks(old_columns[shared], fresh.docs[shared], starts)
        return at

    def _ranks(self, columns: IntArray, docs: IntArray, starts: IntArray) -> IntArray:
        """For each (old column, document), how many kept entries of that column have a smaller
        document. Only the columns asked about are looked at."""
        touched, which = np.unique(columns, return_inverse=True)
        lengths = self.frequency[touched]
        offsets = np.zeros(touched.size, dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        positions = np.arange(int(lengths.sum()), dtype=np.int64)
        positions += np.repeat(starts[touched] - offsets, lengths)
        segments = np.repeat(np.arange(touched.size, dtype=np.int64), lengths)
        keys = (segments << _DOC_BITS) | self.docs[positions]
        found = np.searchsorted(keys, (which.astype(np.int64) << _DOC_BITS) | docs)
        ranks: IntArray = found - offsets[which]
        return ranks


def _without(items: list[str], drop: list[int]) -> tuple[str, ...]:
    """``items`` without those at the ascending positions ``drop``."""
    if not drop:
        return tuple(items)
    kept: list[str] = []
    start = 0
    for at in drop:
        kept.extend(items[start:at])
        start = at + 1
    kept.extend(items[start:])
    return tuple(kept)
