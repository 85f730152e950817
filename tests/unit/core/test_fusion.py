"""Fusion: candidate chunks with a cosine and a BM25 score -> articles ranked by their best chunk."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.fusion import ArticleScore, FusionParams, fuse

# Chunk index -> article: article "a" has two chunks, "b" and "c" one each, "d" one never proposed.
CHUNK_ARTICLE = np.array(["a", "a", "b", "c", "d"], dtype=object)


def params(dense_weight: float) -> FusionParams:
    return FusionParams(dense_weight=dense_weight, second_chunk_weight=0.0)


def ranked(result: list[ArticleScore]) -> list[str]:
    return [a.article_id for a in result]


def candidates(cosines: list[float], bm25: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = np.arange(len(cosines), dtype=np.int64)
    return ids, np.array(cosines, dtype=np.float32), np.array(bm25, dtype=np.float32)


def test_no_candidates_give_no_articles() -> None:
    empty = np.zeros(0)
    assert fuse(np.zeros(0, dtype=np.int64), empty, empty, CHUNK_ARTICLE, FusionParams()) == []


def test_an_article_scores_its_best_chunk() -> None:
    ids, cos, bm25 = candidates([0.2, 0.9, 0.5, 0.1], [0.0, 0.0, 0.0, 0.0])
    result = fuse(ids, cos, bm25, CHUNK_ARTICLE, params(1.0))
    a = result[0]
    assert a.article_id == "a"
    assert a.best_chunk == 1
    assert a.score == pytest.approx(0.9)
    assert a.dense == pytest.approx(0.9)


def test_each_article_appears_once_best_first() -> None:
    ids, cos, bm25 = candidates([0.2, 0.4, 0.5, 0.1], [1.0, 2.0, 3.0, 0.5])
    result = fuse(ids, cos, bm25, CHUNK_ARTICLE, params(0.5))
    assert sorted(ranked(result)) == ["a", "b", "c"]
    assert [r.score for r in result] == sorted((r.score for r in result), reverse=True)


def test_bm25_is_divided_by_the_best_bm25_among_the_candidates() -> None:
    ids, cos, bm25 = candidates([0.0, 0.0, 0.0, 0.0], [2.0, 8.0, 4.0, 0.0])
    by_id = {r.article_id: r for r in fuse(ids, cos, bm25, CHUNK_ARTICLE, params(0.0))}
    assert by_id["a"].lexical == pytest.approx(1.0)
    assert by_id["b"].lexical == pytest.approx(0.5)
    assert by_id["c"].lexical == pytest.approx(0.0)


def test_a_chunk_scores_the_weighted_sum_of_cosine_and_normalised_bm25() -> None:
    ids, cos, bm25 = candidates([0.1, 0.1, 0.6, 0.1], [0.0, 0.0, 5.0, 10.0])
    by_id = {r.article_id: r for r in fuse(ids, cos, bm25, CHUNK_ARTICLE, params(0.7))}
    assert by_id["b"].score == pytest.approx(0.7 * 0.6 + 0.3 * 0.5)
    assert by_id["c"].score == pytest.approx(0.7 * 0.1 + 0.3 * 1.0)


def test_all_zero_bm25_leaves_only_the_dense_evidence() -> None:
    ids, cos, bm25 = candidates([0.3, 0.2, 0.8, 0.5], [0.0, 0.0, 0.0, 0.0])
    result = fuse(ids, cos, bm25, CHUNK_ARTICLE, params(0.5))
    assert ranked(result) == ["b", "c", "a"]
    assert all(r.lexical == 0.0 for r in result)


def test_dense_weight_one_ranks_by_cosine_alone() -> None:
    ids, cos, bm25 = candidates([0.3, 0.2, 0.8, 0.5], [9.0, 1.0, 0.5, 3.0])
    assert ranked(fuse(ids, cos, bm25, CHUNK_ARTICLE, params(1.0))) == ["b", "c", "a"]


def test_dense_weight_zero_ranks_by_bm25_alone() -> None:
    ids, cos, bm25 = candidates([0.3, 0.2, 0.8, 0.5], [9.0, 1.0, 0.5, 3.0])
    assert ranked(fuse(ids, cos, bm25, CHUNK_ARTICLE, params(0.0))) == ["a", "c", "b"]


def test_candidates_may_be_any_subset_of_the_chunks() -> None:
    ids = np.array([4, 2], dtype=np.int64)
    cos = np.array([0.9, 0.4], dtype=np.float32)
    bm25 = np.array([0.0, 1.0], dtype=np.float32)
    result = fuse(ids, cos, bm25, CHUNK_ARTICLE, params(1.0))
    assert [(r.article_id, r.best_chunk) for r in result] == [("d", 4), ("b", 2)]


def test_a_second_chunk_weight_lifts_articles_with_two_good_chunks() -> None:
    ids, cos, bm25 = candidates([0.6, 0.6, 0.65, 0.0], [0.0, 0.0, 0.0, 0.0])
    flat = fuse(ids, cos, bm25, CHUNK_ARTICLE, FusionParams(dense_weight=1.0, second_chunk_weight=0.0))
    lifted = fuse(ids, cos, bm25, CHUNK_ARTICLE, FusionParams(dense_weight=1.0, second_chunk_weight=0.5))
    assert ranked(flat)[0] == "b"
    assert ranked(lifted)[0] == "a"
    assert lifted[0].score == pytest.approx(0.6 + 0.5 * 0.6)


def test_reciprocal_rank_fusion_ranks_by_places_not_by_score_sizes() -> None:
    # "b" is first by cosine and by BM25; "c" is second by both though its BM25 is almost as high.
    ids, cos, bm25 = candidates([0.1, 0.2, 0.9, 0.8], [0.0, 1.0, 10.0, 9.9])
    result = fuse(ids, cos, bm25, CHUNK_ARTICLE, FusionParams(dense_weight=0.5, rrf_k=10))
    assert ranked(result)[:2] == ["b", "c"]
    assert result[0].score == pytest.approx(1.0)  # first on both sides: (k + 1) / (k + 1)


def test_a_chunk_bm25_never_scored_gets_no_lexical_rank_in_reciprocal_rank_fusion() -> None:
    ids, cos, bm25 = candidates([0.9, 0.1, 0.2, 0.3], [0.0, 0.0, 0.0, 5.0])
    by_id = {
        r.article_id: r for r in fuse(ids, cos, bm25, CHUNK_ARTICLE, FusionParams(dense_weight=0.5, rrf_k=10))
    }
    assert by_id["a"].score == pytest.approx(0.5)  # first by cosine, nowhere by BM25
    assert by_id["c"].score == pytest.approx(0.5 * 11 / 12 + 0.5)


def test_query_normalised_bm25_divides_by_the_larger_of_the_best_score_and_the_query_scale() -> None:
    ids, cos, bm25 = candidates([0.0, 0.0, 0.0, 0.0], [2.0, 4.0, 1.0, 0.0])
    query = FusionParams(dense_weight=0.0, lexical_norm="query")
    by_id = {r.article_id: r for r in fuse(ids, cos, bm25, CHUNK_ARTICLE, query, lexical_scale=8.0)}
    assert by_id["a"].lexical == pytest.approx(0.5)
    small = {r.article_id: r for r in fuse(ids, cos, bm25, CHUNK_ARTICLE, query, lexical_scale=1.0)}
    assert small["a"].lexical == pytest.approx(1.0)
