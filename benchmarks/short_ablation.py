"""Would another article-level signal lift Recall@1 on short queries? An ablation on DEV only.

The shipped hybrid ranks an article by its best section (dense cosine fused with BM25). This asks
whether evidence about the whole article adds anything once that is known. For each dev query
(kinds ``short`` and ``symptoms`` of the officedocs-support corpus) the shipped searcher's 30
best articles are re-scored as ``fused + sum(w_i * signal_i)``, with the signals:

* ``coverage``: IDF-weighted share of the query's words found anywhere in the article;
* ``article_bm25``: BM25 (bm25s) over whole articles, each article's term counts summed over its
  sections, divided by the best article's score;
* ``title_bm25``: BM25 over title and description only, divided by the best score;
* ``title_cosine``: cosine of the query to the embedded title and description;
* ``centroid_cosine``: cosine of the query to the mean of the article's section vectors;
* ``size_prior``: minus the log of the article's number of sections (long articles get more
  chances to match by one section).

Weights are fitted by coordinate ascent over a small grid on four fifths of the dev queries and
measured on the fifth left out (5-fold cross-validation), so a signal only counts when it helps
queries it was not fitted on. Never run on the test split: nothing here is tuned or reported there.

    .venv/bin/python benchmarks/short_ablation.py
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import DATASET, load_queries  # noqa: E402
from bot.config import DEFAULT_MAX_TOKENS  # noqa: E402
from bot.core.retrieval import Searcher  # noqa: E402
from indexer.bm25 import TermCounts  # noqa: E402
from indexer.bm25_weights import CountedCorpus, CountsBM25  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.encoder import Encoder, load_encoder  # noqa: E402
from indexer.lexical import EMPTY_TOKEN, LexicalIndex, lexical_tokens  # noqa: E402
from indexer.store import LoadedIndex, load_current  # noqa: E402

SIGNALS = ("coverage", "article_bm25", "title_bm25", "title_cosine", "centroid_cosine", "size_prior")
KINDS = ("short", "symptoms")
CANDIDATES = 30
FOLDS = 5
GRID = (-0.2, -0.1, -0.05, -0.02, 0.0, 0.02, 0.05, 0.1, 0.2, 0.3)


@dataclass(frozen=True)
class Query:
    """One dev query's candidates: their fused scores, signal values (one column each), and gold."""

    kind: str
    correct: np.ndarray  # bool per candidate
    fused: np.ndarray
    signals: np.ndarray  # candidates x len(SIGNALS)


def _bm25(documents: list[list[str]]) -> CountsBM25:
    model = CountsBM25(k1=LexicalIndex.K1, b=LexicalIndex.B)
    model.index(CountedCorpus(TermCounts.of([d or [EMPTY_TOKEN] for d in documents])), show_progress=False)
    return model


def _normalised(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if scores.size else 0.0
    return scores / top if top > 0 else scores


def collect(index: LoadedIndex, encoder: Encoder, queries: list[dict[str, str]]) -> list[Query]:
    """Search each query once and compute every signal for its candidate articles."""
    searcher = Searcher(index, encoder)
    articles = sorted(index.articles)
    position = {a: i for i, a in enumerate(articles)}
    glossary = index.lexical.glossary
    sections: dict[str, list[int]] = {a: [] for a in articles}
    for i, chunk in enumerate(index.chunks):
        sections[chunk.article_id].append(i)
    whole = _bm25(
        [lexical_tokens(" ".join(index.chunks[i].text for i in sections[a]), glossary) for a in articles]
    )
    heads = [f"{index.articles[a].title}. {index.articles[a].description}" for a in articles]
    titles = _bm25([lexical_tokens(h, glossary) for h in heads])
    head_vectors = encoder.encode(heads)
    centroids = np.stack([index.vectors[sections[a]].mean(axis=0) for a in articles])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    size_prior = -np.log([len(sections[a]) for a in articles])

    collected = []
    for q in queries:
        result = searcher.search(q["query"], k=CANDIDATES)
        if not result.hits or result.query_vector is None:
            continue
        analysis, tokens = searcher.analyse(q["query"])
        lexical = searcher._bm25_query(tokens)
        weights = {t: index.lexical.idf(t) for t in set(tokens)}
        postings = {t: index.lexical.postings(t) for t in weights}
        total = sum(weights.values()) + len(analysis.unknown) * float(np.log1p(max(1, index.lexical.size)))
        whole_scores = _normalised(np.asarray(whole.get_scores(lexical), dtype=np.float64))
        title_scores = _normalised(np.asarray(titles.get_scores(lexical), dtype=np.float64))
        rows = [position[h.article_id] for h in result.hits]
        signals = np.column_stack(
            [
                [searcher._coverage(h.article_id, weights, postings, total) for h in result.hits],
                whole_scores[rows],
                title_scores[rows],
                head_vectors[rows] @ result.query_vector,
                centroids[rows] @ result.query_vector,
                size_prior[rows],
            ]
        )
        collected.append(
            Query(
                kind=q["kind"],
                correct=np.array([h.article_id == q["article"] for h in result.hits]),
                fused=np.array([h.score for h in result.hits]),
                signals=signals,
            )
        )
    return collected


def recall_at_1(queries: list[Query], weights: np.ndarray) -> dict[str, float]:
    """Share of queries of each kind whose best re-scored candidate is the right article."""
    hits: dict[str, list[bool]] = {k: [] for k in KINDS}
    for q in queries:
        hits[q.kind].append(bool(q.correct[int(np.argmax(q.fused + q.signals @ weights))]))
    return {k: float(np.mean(v)) if v else 0.0 for k, v in hits.items()}


def fit(queries: list[Query], usable: list[int]) -> np.ndarray:
    """Weights for the ``usable`` signals maximising R@1 summed over both kinds (coordinate ascent)."""
    weights = np.zeros(len(SIGNALS))

    def objective(w: np.ndarray) -> float:
        return sum(recall_at_1(queries, w).values())

    best = objective(weights)
    for _ in range(2):
        for j in usable:
            for value in GRID:
                trial = weights.copy()
                trial[j] = value
                got = objective(trial)
                if got > best + 1e-12:
                    best, weights = got, trial
    return weights


def cross_validated(queries: list[Query], usable: list[int], seed: int = 0) -> dict[str, float]:
    """R@1 per kind with weights fitted on the other folds for each held-out fold."""
    order = np.random.default_rng(seed).permutation(len(queries))
    folds = np.array_split(order, FOLDS)
    right = {k: 0.0 for k in KINDS}
    for held in folds:
        held_set = set(held.tolist())
        train = [queries[i] for i in order if i not in held_set]
        test = [queries[i] for i in held]
        got = recall_at_1(test, fit(train, usable))
        for kind in KINDS:
            right[kind] += got[kind] * sum(1 for q in test if q.kind == kind)
    counts = {k: sum(1 for q in queries if q.kind == k) for k in KINDS}
    return {k: right[k] / counts[k] for k in KINDS}


def main() -> int:
    """Collect the dev candidates once, then print shipped vs. each signal vs. all of them."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench" / "officedocs")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    args = parser.parse_args()
    if not (DATASET / "kb").is_dir():
        print(f"skipped: the officedocs-support dataset is not at {DATASET}")
        return 0
    encoder = load_encoder(
        args.model, cache_dir=ROOT / "var" / "bench" / "models", max_tokens=DEFAULT_MAX_TOKENS
    )
    build_index(DATASET / "kb", args.home / "index", encoder)
    index = load_current(args.home / "index", model=encoder.name, dim=encoder.dim)
    queries = collect(index, encoder, [q for q in load_queries("dev") if q["kind"] in KINDS])
    counts = {k: sum(1 for q in queries if q.kind == k) for k in KINDS}

    print("# Article-level signals on top of the shipped hybrid, officedocs-support DEV only, R@1")
    print("# command: .venv/bin/python benchmarks/short_ablation.py")
    print(
        f"# {counts['short']} short and {counts['symptoms']} symptoms queries; {FOLDS}-fold cross-validation"
    )
    print()
    print("| signals added | short R@1 (CV) | symptoms R@1 (CV) | short R@1 (fitted on all dev) | weights |")
    print("|---|---|---|---|---|")
    shipped = recall_at_1(queries, np.zeros(len(SIGNALS)))
    print(
        f"| none (shipped) | {shipped['short']:.3f} | {shipped['symptoms']:.3f} | {shipped['short']:.3f} | |"
    )
    for usable in [[j] for j in range(len(SIGNALS))] + [list(range(len(SIGNALS)))]:
        cv = cross_validated(queries, usable)
        weights = fit(queries, usable)
        in_sample = recall_at_1(queries, weights)
        name = "all six" if len(usable) > 1 else SIGNALS[usable[0]]
        shown = ", ".join(f"{SIGNALS[j]} {weights[j]:+.2f}" for j in usable if weights[j])
        print(f"| {name} | {cv['short']:.3f} | {cv['symptoms']:.3f} | {in_sample['short']:.3f} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
