"""Dense side of the index: nearest chunks to a query vector.

Two implementations behind one protocol: an exact NumPy search (the default below
``HNSW_THRESHOLD`` chunks, where a mat-vec costs well under a millisecond) and a FAISS HNSW graph
for large knowledge bases. Vectors are L2-normalised, so inner product is cosine similarity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np

HNSW_THRESHOLD = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96


class DenseIndex(Protocol):
    """Finds the chunks whose vectors are closest to a query vector."""

    kind: str

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest chunks as (indexes, cosine scores), best first."""
        ...

    def save(self, folder: Path) -> None:
        """Write whatever beyond ``vectors.npy`` this index needs into ``folder``."""
        ...


class ExactDenseIndex:
    """Exact search: one matrix-vector product over every chunk vector."""

    kind = "exact"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest chunks by exact cosine, best first."""
        n = self.vectors.shape[0]
        if n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self.vectors @ query.astype(np.float32)
        k = min(k, n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top.astype(np.int64), scores[top]

    def save(self, folder: Path) -> None:
        """Nothing to add: the exact index is ``vectors.npy`` itself."""


class HnswDenseIndex:
    """Approximate search over a FAISS HNSW graph (inner product)."""

    kind = "hnsw"

    def __init__(self, index: Any, *, m: int = HNSW_M) -> None:
        self._index = index
        self.m = m

    @classmethod
    def build(
        cls, vectors: np.ndarray, *, m: int = HNSW_M, ef_construction: int = HNSW_EF_CONSTRUCTION
    ) -> HnswDenseIndex:
        """Build the graph over ``vectors`` (rows in chunk order)."""
        import faiss

        index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, m=m)

    @classmethod
    def load(cls, folder: Path) -> HnswDenseIndex:
        """Read the graph written by :meth:`save`."""
        import faiss

        meta = json.loads((folder / "hnsw.json").read_text(encoding="utf-8"))
        return cls(faiss.read_index(str(folder / "hnsw.faiss")), m=int(meta.get("m", HNSW_M)))

    def save(self, folder: Path) -> None:
        """Write the graph as FAISS's own binary file (no pickle)."""
        import faiss

        faiss.write_index(self._index, str(folder / "hnsw.faiss"))
        (folder / "hnsw.json").write_text(
            json.dumps({"m": self.m, "ef_search": HNSW_EF_SEARCH}), encoding="utf-8"
        )

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` (approximately) nearest chunks, best first."""
        import faiss

        params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))  # type: ignore[attr-defined]
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)


def build_dense_index(vectors: np.ndarray, *, threshold: int = HNSW_THRESHOLD) -> DenseIndex:
    """The right dense index for this many vectors: exact below ``threshold``, HNSW above."""
    if vectors.shape[0] >= threshold:
        return HnswDenseIndex.build(vectors)
    return ExactDenseIndex(vectors)


def load_dense_index(folder: Path, vectors: np.ndarray, kind: str) -> DenseIndex:
    """Open the dense index of kind ``kind`` saved in ``folder`` (``vectors`` already loaded)."""
    if kind == "hnsw":
        return HnswDenseIndex.load(folder)
    return ExactDenseIndex(vectors)
