"""Term counts as sparse arrays, built in whole-array NumPy steps: what the lexical index keeps of
each chunk so that a rebuild tokenizes only the chunks that changed.

`TermCounts` holds how often each term occurs in each document, one column a term (CSC). Terms are
kept in sorted order, so the same documents always give the same arrays however they were arrived
at. A new build derives its counts from the previous build's: documents it keeps are taken over as
they are, and only new or edited documents are counted from their tokens. bm25s is indexed from
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
        document has no tokens.
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
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        if lengths.size and not lengths.all():
            raise ValueError("every new document needs at least one token")

        # The terms after the update: this index's terms plus the new ones, in sorted order.
        known: dict[str, int] = {}
        new: list[str] = []
        for term in dict.fromkeys(itertools.chain.from_iterable(tokens)):
            at = bisect.bisect_left(self.terms, term)
            if at < len(self.terms) and self.terms[at] == term:
                known[term] = at
            else:
                new.append(term)
        new.sort()
        inserted = np.fromiter(
            (bisect.bisect_left(self.terms, t) for t in new), dtype=np.int64, count=len(new)
        )
        moved = np.arange(len(self.terms), dtype=np.int64)
        moved += np.searchsorted(inserted, moved, side="right")  # old column -> column after insertion
        column = {term: int(moved[at]) for term, at in known.items()}
        column.update(
            (term, int(at) + n) for n, (term, at) in enumerate(zip(new, inserted.tolist(), strict=True))
        )
        terms: list[str] = []
        start = 0
        for term, at in zip(new, inserted.tolist(), strict=True):
            terms.extend(self.terms[start:at])
            terms.append(term)
            start = at
        terms.extend(self.terms[start:])

        # Entries (column << 32 | document) kept from this index, renumbered: still sorted when
        # the kept documents keep their order, since both renumberings only ever move forward.
        new_doc = np.full(self.n_docs, -1, dtype=np.int64)
        new_doc[taken] = kept
        docs = new_doc[self.docs]
        keep = docs >= 0
        old_keys = (moved[self.columns()[keep]] << _DOC_BITS) | docs[keep]
        old_counts = self.counts[keep].astype(np.int64)

        # Entries counted from the new documents' tokens.
        token_columns = np.fromiter(
            map(column.__getitem__, itertools.chain.from_iterable(tokens)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        token_docs = np.repeat(np.asarray(fresh_docs, dtype=np.int64), lengths)
        new_keys, new_counts = np.unique((token_columns << _DOC_BITS) | token_docs, return_counts=True)

        if ascending:
            at_positions = np.searchsorted(old_keys, new_keys)
            keys = np.insert(old_keys, at_positions, new_keys)
            counts = np.insert(old_counts, at_positions, new_counts)
        else:
            keys = np.concatenate([old_keys, new_keys])
            order = np.argsort(keys)
            keys, counts = keys[order], np.concatenate([old_counts, new_counts])[order]

        columns = keys >> _DOC_BITS
        frequency = np.bincount(columns, minlength=len(terms))
        used = frequency > 0
        if not used.all():  # terms only the dropped or edited documents had
            terms = list(itertools.compress(terms, used.tolist()))
            frequency = frequency[used]
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(frequency, out=indptr[1:])
        return TermCounts(
            terms=tuple(terms),
            indptr=indptr,
            docs=(keys & ((1 << _DOC_BITS) - 1)).astype(np.int32),
            counts=counts.astype(np.int32),
            n_docs=len(rows),
        )

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
