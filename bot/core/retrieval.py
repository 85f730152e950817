"""Hybrid retrieval over one loaded index: dense + BM25 over chunks, fused, collapsed to articles."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from bot.core.fusion import ArticleScore, FusionParams, fuse
from bot.core.spelling import SpellIndex
from indexer.encoder import Encoder
from indexer.lexical import STOPWORDS, concept_token, lexical_tokens, stem_all, with_bigrams, words
from indexer.store import LoadedIndex, StoredChunk


@dataclass(frozen=True)
class Hit:
    """One article found for a query, with the section that matched best."""

    article_id: str
    title: str
    score: float
    dense: float
    lexical: float
    chunk: StoredChunk
    coverage: float = 0.0
    heading_match: float = 0.0


@dataclass(frozen=True)
class QueryAnalysis:
    """What the lexical side made of the query: the words it knew, corrected or never saw."""

    content_words: tuple[str, ...] = ()
    known: tuple[str, ...] = ()
    corrected: tuple[tuple[str, str], ...] = ()
    unknown: tuple[str, ...] = ()
    concepts: tuple[int, ...] = ()

    @property
    def known_share(self) -> float:
        """Share of the query's content words the knowledge base uses (after typo correction)."""
        total = len(self.content_words)
        return 1.0 if total == 0 else (len(self.known) + len(self.corrected)) / total


@dataclass(frozen=True)
class SearchResult:
    """Articles best first, and how the query was read."""

    hits: list[Hit]
    analysis: QueryAnalysis
    timings_ms: dict[str, float] = field(default_factory=dict)
    query_vector: np.ndarray | None = None


_STEP = re.compile(r"^\s{0,3}\d{1,2}[.)]\s", re.MULTILINE)


class Searcher:
    """Answers ``search(text)`` over one loaded index with one encoder."""

    _spell: SpellIndex

    def __init__(
        self,
        index: LoadedIndex,
        encoder: Encoder,
        params: FusionParams | None = None,
        *,
        previous: Searcher | None = None,
    ) -> None:
        """A searcher over ``index``; ``previous`` (the searcher it replaces) lends what does not
        depend on the build, so that swapping in a re-index after a small edit is quick."""
        self.index = index
        self.encoder = encoder
        self.params = params or FusionParams()
        self._chunk_article = np.array([c.article_id for c in index.chunks], dtype=object)
        self._ranges: dict[str, tuple[int, int]] = {}
        for i, c in enumerate(index.chunks):
            start, _ = self._ranges.get(c.article_id, (i, i))
            self._ranges[c.article_id] = (start, i + 1)
        # Whether each chunk's section has numbered steps, looked up once per section: the windows
        # of a long section share one Markdown string, which is searched once, not once a window.
        steps: dict[str, bool] = {}
        self._has_steps: list[bool] = []
        for c in index.chunks:
            found = steps.get(c.markdown)
            if found is None:
                found = steps[c.markdown] = _STEP.search(c.markdown) is not None
            self._has_steps.append(found)
        lexical = index.lexical
        # Headings are read lazily (once each): a 100k-chunk index has far more of them than any
        # query looks at.
        self._heading_tokens: dict[str, frozenset[str]] = {}
        terms = (t for t in lexical.vocabulary if "_" not in t and not t.startswith("~"))
        frequency = lexical.document_frequencies()
        self._spell = (
            previous._spell.with_terms(terms, frequency)
            if previous is not None
            else SpellIndex(terms, frequency)
        )

    @property
    def spell(self) -> SpellIndex:
        """The index of known terms that typos are corrected to."""
        return self._spell

    def analyse(self, text: str) -> tuple[QueryAnalysis, list[str]]:
        """Read the query lexically: its stems, typo corrections and glossary concepts.

        Returns the analysis and the BM25 query tokens (known stems, corrections, concept tokens).
        """
        lexical = self.index.lexical
        plain = words(text)
        content = [w for w in plain if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
        stems = stem_all(content)
        known: list[str] = []
        corrected: list[tuple[str, str]] = []
        unknown: list[str] = []
        tokens: list[str] = []
        concepts = [g for g in lexical.glossary.matches(plain) if concept_token(g) in lexical.vocabulary]
        # A word the KB never uses is still understood when it belongs to a glossary term the KB uses.
        glossed = {w for g in concepts for term in lexical.glossary.groups[g] for w in term}
        for word, stem in zip(content, stems, strict=True):
            if stem in self._spell:
                known.append(word)
                tokens.append(stem)
                continue
            fix = self._spell.correct(stem) if self.params.spelling else None
            if fix is not None:
                corrected.append((word, fix))
                tokens.append(fix)
            elif word in glossed:
                known.append(word)
            else:
                unknown.append(word)
        tokens.extend(concept_token(g) for g in concepts)
        analysis = QueryAnalysis(
            tuple(content), tuple(known), tuple(corrected), tuple(unknown), tuple(concepts)
        )
        return analysis, tokens

    def _bm25_query(self, tokens: list[str]) -> list[str]:
        """Unigrams and concepts as analysed, plus the bigrams of the word stems the index knows."""
        if not self.params.query_bigrams:
            return tokens
        stems = [t for t in tokens if not t.startswith("~")]
        pairs = [p for p in with_bigrams(stems)[len(stems) :] if p in self.index.lexical.vocabulary]
        return [*tokens, *pairs]

    def dense_text(self, text: str, analysis: QueryAnalysis) -> str:
        """The text to embed: the query plus glossary expansions and typo corrections."""
        extra = self.index.lexical.glossary.expansions(list(words(text)))
        fixes = [fix for _, fix in analysis.corrected]
        if not extra and not fixes:
            return text
        return text + " (" + "; ".join(extra[: self.params.max_expansions] + fixes) + ")"

    def search(self, text: str, k: int = 10) -> SearchResult:
        """The ``k`` best articles for ``text``, best first, with how the query was read."""
        t0 = time.perf_counter()
        analysis, tokens = self.analyse(text)
        t1 = time.perf_counter()
        qvec = self.encoder.encode([self.dense_text(text, analysis)])[0]
        t2 = time.perf_counter()
        d_idx, _ = self.index.dense.search(qvec, self.params.dense_k)
        bm25_query = self._bm25_query(tokens)
        bm25_all = self.index.lexical.scores(bm25_query)
        l_idx = _top(bm25_all, self.params.lexical_k)
        chunk_ids = np.union1d(d_idx, l_idx)
        cosines = self.index.vectors[chunk_ids] @ qvec
        t3 = time.perf_counter()
        scale = self.index.lexical.ideal_score(bm25_query) if self.params.lexical_norm == "query" else 0.0
        fused = fuse(chunk_ids, cosines, bm25_all[chunk_ids], self._chunk_article, self.params, scale)
        weights = {t: self.index.lexical.idf(t) for t in set(tokens)}
        postings = {t: self.index.lexical.postings(t) for t in weights}
        # A word the knowledge base never uses counts against coverage as much as the rarest word.
        total = sum(weights.values()) + len(analysis.unknown) * float(
            np.log1p(max(1, self.index.lexical.size))
        )
        depth = max(self.params.rerank_depth, 0)
        hits = [
            self._hit(f, weights, postings, total, measured=rank < max(5, depth))
            for rank, f in enumerate(fused[: max(k, depth)])
        ]
        if self.params.heading_weight > 0 and depth > 1:
            # The fused score ranks chunks by meaning and words; the headings say what the article
            # is *for*. Among the few best, an article whose title or matched section names the
            # question's words moves ahead ("reset my password" onto "Reset your password").
            head = sorted(hits[:depth], key=lambda h: -h.score)
            hits = head + hits[depth:]
        hits = hits[:k]
        t4 = time.perf_counter()
        timings = {
            "analyse": (t1 - t0) * 1000,
            "encode": (t2 - t1) * 1000,
            "search": (t3 - t2) * 1000,
            "fuse": (t4 - t3) * 1000,
        }
        return SearchResult(hits, analysis, timings, qvec)

    def section_to_quote(self, hit: Hit, query_vector: np.ndarray | None) -> StoredChunk:
        """The section of ``hit``'s article to quote: the closest section with numbered steps, or
        the closest section when none has steps.

        People need the steps, not the overview (which restates the problem and so often matches
        the question best) or the prevention tips.
        """
        if query_vector is None:
            return hit.chunk
        start, end = self._ranges[hit.article_id]
        cosines = self.index.vectors[start:end] @ query_vector
        best = int(np.argmax(cosines))
        with_steps = [i for i in range(end - start) if self._has_steps[start + i]]
        if with_steps:
            best = max(with_steps, key=lambda i: float(cosines[i]))
        return self.index.chunks[start + best]

    def _hit(
        self,
        f: ArticleScore,
        weights: dict[str, float],
        postings: dict[str, np.ndarray],
        total: float,
        *,
        measured: bool,
    ) -> Hit:
        """The hit for fused article ``f``; coverage and heading agreement only when ``measured``."""
        chunk = self.index.chunks[f.best_chunk]
        coverage = heading = 0.0
        if measured and total > 0:
            coverage = self._coverage(f.article_id, weights, postings, total)
            names = self._headings(chunk.title) | self._headings(chunk.section)
            heading = sum(w for t, w in weights.items() if t in names) / total
        score = f.score + self.params.heading_weight * heading
        return Hit(f.article_id, chunk.title, score, f.dense, f.lexical, chunk, coverage, heading)

    def _headings(self, heading: str) -> frozenset[str]:
        """The lexical tokens (stems and glossary concepts) of a title or section heading."""
        found = self._heading_tokens.get(heading)
        if found is None:
            found = frozenset(lexical_tokens(heading, self.index.lexical.glossary))
            if len(self._heading_tokens) < 200_000:
                self._heading_tokens[heading] = found
        return found

    def _coverage(
        self, article_id: str, weights: dict[str, float], postings: dict[str, np.ndarray], total: float
    ) -> float:
        """IDF-weighted share of the query's words that occur somewhere in the article."""
        if total <= 0:
            return 0.0
        start, end = self._ranges[article_id]
        found = sum(w for t, w in weights.items() if np.any((postings[t] >= start) & (postings[t] < end)))
        return found / total


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the ``k`` highest positive scores (unordered)."""
    if scores.size == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    k = min(k, scores.size)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[scores[top] > 0].astype(np.int64)
