"""Combining the dense and the lexical evidence into one ranking of articles.

Pure functions over arrays; the weights live in ``FusionParams``. They were set by hand when
retrieval was first written, not searched for: ``benchmarks/quality.py`` only measures them (and
the dense-only and lexical-only rankings beside them), on the dev split unless asked for test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FusionParams:
    """How many candidates each side proposes and how their scores combine."""

    dense_k: int = 100
    lexical_k: int = 100
    dense_weight: float = 0.7
    second_chunk_weight: float = 0.0
    max_expansions: int = 3
    heading_weight: float = 0.05
    rerank_depth: int = 5


@dataclass(frozen=True)
class ArticleScore:
    """An article's fused score, its best dense and lexical evidence, and its best chunk."""

    article_id: str
    score: float
    dense: float
    lexical: float
    best_chunk: int


def fuse(
    chunk_ids: np.ndarray,
    cosines: np.ndarray,
    bm25: np.ndarray,
    chunk_article: np.ndarray,
    params: FusionParams,
) -> list[ArticleScore]:
    """Rank articles from candidate chunks, best first.

    ``cosines`` and ``bm25`` hold each candidate chunk's two scores. BM25 is divided by the best
    BM25 among the candidates, so both sides range up to 1; a chunk scores
    ``w * cosine + (1 - w) * bm25``, and an article scores its best chunk plus
    ``second_chunk_weight`` times its second best.
    """
    if chunk_ids.size == 0:
        return []
    top_bm25 = float(bm25.max()) if bm25.size else 0.0
    lexical = bm25 / top_bm25 if top_bm25 > 0 else np.zeros_like(bm25)
    w = params.dense_weight
    chunk_scores = w * cosines + (1.0 - w) * lexical
    order = np.argsort(-chunk_scores, kind="stable")
    best: dict[str, list[float | int]] = {}
    for pos in order:
        article = str(chunk_article[chunk_ids[pos]])
        entry = best.get(article)
        if entry is None:
            best[article] = [
                float(chunk_scores[pos]),
                0.0,
                float(cosines[pos]),
                float(lexical[pos]),
                int(chunk_ids[pos]),
            ]
        else:
            if entry[1] == 0.0:
                entry[1] = float(chunk_scores[pos])
            entry[2] = max(float(entry[2]), float(cosines[pos]))
            entry[3] = max(float(entry[3]), float(lexical[pos]))
    ranked = [
        ArticleScore(
            article_id=article,
            score=float(v[0]) + params.second_chunk_weight * float(v[1]),
            dense=float(v[2]),
            lexical=float(v[3]),
            best_chunk=int(v[4]),
        )
        for article, v in best.items()
    ]
    ranked.sort(key=lambda a: -a.score)
    return ranked
