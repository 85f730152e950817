"""BM25 weights for term counts, computed by bm25s: what the lexical index searches with.

Kept apart from ``indexer.lexical`` because importing bm25s brings in SciPy (about 0.3 s): a
rebuild that only updates the term counts never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import bm25s
import bm25s.scoring as bm25s_scoring
import numpy as np

from indexer.bm25 import TermCounts


@dataclass(frozen=True)
class CountedCorpus:
    """A corpus as bm25s's ``index()`` takes it (``ids`` and ``vocab``), with term counts as ids."""

    ids: TermCounts

    @property
    def vocab(self) -> dict[str, int]:
        """Each term's column; a new dict each time, since bm25s adds its empty token to it."""
        return dict(zip(self.ids.terms, range(len(self.ids.terms)), strict=True))


class CountsBM25(bm25s.BM25):  # type: ignore[misc]
    """bm25s that indexes term counts directly instead of one token-id list a document.

    bm25s documents ``build_index_from_ids`` as the hook for building its index another way. Its
    own loops over every token of every document cost about a second per build of the officedocs
    corpus; here the same weights come from whole-array steps over ``TermCounts``, computed by
    bm25s's own IDF and term-frequency functions for the configured method. The sparse matrix is
    the same one bm25s builds (documents by terms, compressed by term), so ``get_scores``,
    ``save`` and ``load`` are bm25s's unchanged.
    """

    def build_index_from_ids(
        self,
        unique_token_ids: list[int],
        corpus_token_ids: TermCounts,
        show_progress: bool = True,
        leave_progress: bool = False,
    ) -> dict[str, object]:
        """bm25s's score matrix for the documents that ``corpus_token_ids`` counts."""
        counts = corpus_token_ids
        if not isinstance(counts, TermCounts):
            raise TypeError("CountsBM25 indexes TermCounts; use bm25s.BM25 for token lists")
        if self.method in self.methods_requiring_nonoccurrence:
            raise ValueError(f"CountsBM25 does not support the {self.method} method")
        if len(unique_token_ids) != len(counts.terms):
            raise ValueError("the vocabulary does not match the term counts")
        self.nonoccurrence_array = None
        n_docs = counts.n_docs
        lengths = counts.document_lengths()
        average = float(lengths.mean())
        # Few distinct document frequencies occur, so bm25s's scalar IDF runs once for each.
        frequencies, column_frequency = np.unique(counts.document_frequencies(), return_inverse=True)
        idf_of = bm25s_scoring._select_idf_scorer(self.idf_method)
        idf = np.array([idf_of(int(df), N=n_docs) for df in frequencies], dtype=self.dtype)
        term_weight = bm25s_scoring._select_tfc_scorer(self.method)
        tfc = term_weight(
            tf_array=counts.counts.astype(self.dtype),
            l_d=lengths[counts.docs],
            l_avg=average,
            k1=self.k1,
            b=self.b,
            delta=self.delta,
        )
        data = (idf[column_frequency][counts.columns()] * tfc).astype(self.dtype)
        return {
            "data": data,
            "indices": counts.docs.astype(self.int_dtype),
            "indptr": counts.indptr.copy(),
            "num_docs": n_docs,
        }
