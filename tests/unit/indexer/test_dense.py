"""The dense side of the index: exact search, the HNSW graph against it, and which one a build gets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.dense import ExactDenseIndex, HnswDenseIndex, build_dense_index, load_dense_index

DIM = 64


def unit_vectors(n: int, *, seed: int, dim: int = DIM) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def corpus() -> np.ndarray:
    return unit_vectors(3000, seed=20240501)


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return unit_vectors(100, seed=7)


@pytest.fixture(scope="module")
def hnsw(corpus: np.ndarray) -> HnswDenseIndex:
    return HnswDenseIndex.build(corpus)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    scores = [float(np.dot(row, query)) for row in vectors]
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]


def recall_at(k: int, index: HnswDenseIndex, exact: ExactDenseIndex, queries: np.ndarray) -> float:
    found = [len(set(index.search(q, k)[0]) & set(exact.search(q, k)[0])) for q in queries]
    return sum(found) / (k * len(queries))


# --- exact -------------------------------------------------------------------------------------------


def test_exact_search_returns_the_brute_force_nearest_best_first() -> None:
    vectors = unit_vectors(500, seed=1)
    index = ExactDenseIndex(vectors)
    for query in unit_vectors(20, seed=2):
        ids, scores = index.search(query, 10)
        assert ids.tolist() == brute_force(vectors, query, 10)
        np.testing.assert_allclose(scores, vectors[ids] @ query, rtol=1e-5)
        assert list(scores) == sorted(scores, reverse=True)


def test_exact_search_finds_a_stored_vector_first_with_cosine_one() -> None:
    vectors = unit_vectors(50, seed=3)
    ids, scores = ExactDenseIndex(vectors).search(vectors[17], 1)
    assert ids.tolist() == [17]
    assert scores[0] == pytest.approx(1.0, abs=1e-5)


def test_exact_search_returns_at_most_as_many_hits_as_vectors() -> None:
    ids, scores = ExactDenseIndex(unit_vectors(4, seed=4)).search(unit_vectors(1, seed=5)[0], 10)
    assert sorted(ids.tolist()) == [0, 1, 2, 3]
    assert scores.shape == (4,)


def test_exact_search_over_no_vectors_finds_nothing() -> None:
    ids, scores = ExactDenseIndex(np.zeros((0, DIM), dtype=np.float32)).search(unit_vectors(1, seed=6)[0], 5)
    assert ids.size == 0
    assert scores.size == 0


def test_exact_search_for_zero_hits_finds_nothing() -> None:
    ids, _ = ExactDenseIndex(unit_vectors(10, seed=8)).search(unit_vectors(1, seed=9)[0], 0)
    assert ids.size == 0


# --- HNSW ------------------------------------------------------------------------------------------------


def test_hnsw_recall_at_10_against_exact_search_is_at_least_95_percent(
    corpus: np.ndarray, queries: np.ndarray, hnsw: HnswDenseIndex
) -> None:
    assert recall_at(10, hnsw, ExactDenseIndex(corpus), queries) >= 0.95


def test_hnsw_scores_are_the_cosines_of_the_hits(
    corpus: np.ndarray, queries: np.ndarray, hnsw: HnswDenseIndex
) -> None:
    ids, scores = hnsw.search(queries[0], 10)
    assert ids.shape == (10,)
    np.testing.assert_allclose(scores, corpus[ids] @ queries[0], rtol=1e-4, atol=1e-5)
    assert list(scores) == sorted(scores, reverse=True)


def test_hnsw_saved_and_loaded_answers_exactly_as_built(
    tmp_path: Path, corpus: np.ndarray, queries: np.ndarray, hnsw: HnswDenseIndex
) -> None:
    hnsw.save(tmp_path)
    loaded = load_dense_index(tmp_path, corpus, "hnsw")
    assert isinstance(loaded, HnswDenseIndex)
    for query in queries[:20]:
        built_ids, built_scores = hnsw.search(query, 10)
        loaded_ids, loaded_scores = loaded.search(query, 10)
        np.testing.assert_array_equal(loaded_ids, built_ids)
        np.testing.assert_allclose(loaded_scores, built_scores, rtol=1e-6)


def test_hnsw_saves_plain_files_not_pickle(tmp_path: Path, hnsw: HnswDenseIndex) -> None:
    hnsw.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hnsw.faiss", "hnsw.json"]


# --- which index a build gets ------------------------------------------------------------------------------


def test_build_dense_index_is_exact_below_the_threshold() -> None:
    index = build_dense_index(unit_vectors(99, seed=10), threshold=100)
    assert isinstance(index, ExactDenseIndex)
    assert index.kind == "exact"


def test_build_dense_index_is_hnsw_at_the_threshold() -> None:
    index = build_dense_index(unit_vectors(100, seed=11), threshold=100)
    assert isinstance(index, HnswDenseIndex)
    assert index.kind == "hnsw"


def test_an_exact_index_loads_from_the_vectors_alone(tmp_path: Path) -> None:
    vectors = unit_vectors(30, seed=12)
    ExactDenseIndex(vectors).save(tmp_path)
    loaded = load_dense_index(tmp_path, vectors, "exact")
    assert isinstance(loaded, ExactDenseIndex)
    assert loaded.search(vectors[3], 1)[0].tolist() == [3]
