"""Retrieval quality on the officedocs-support corpus: Recall@1, Recall@5 and MRR@10 per query kind.

Compares BM25 alone, dense alone, a plain hybrid (MiniLM over heading chunks + bm25s with its own
default tokenizer; article score = max over its chunks of 0.7 cosine + 0.3 max-normalised BM25),
the shipped hybrid (``bot.core.retrieval.Searcher``) and the shipped hybrid without the heading
nudge (``FusionParams.heading_weight = 0``). Needs ../shared/datasets/officedocs-support
(or ``$ITBOT_OFFICEDOCS``; skips with a message when it is absent). Tune on ``--split dev``;
report ``--split test``.

    .venv/bin/python benchmarks/quality.py --split test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import DEFAULT_MAX_TOKENS  # noqa: E402
from bot.core.fusion import FusionParams  # noqa: E402
from bot.core.models import Decision  # noqa: E402
from bot.core.policy import Verdict, decide  # noqa: E402
from bot.core.retrieval import Searcher  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.encoder import load_encoder  # noqa: E402
from indexer.store import LoadedIndex, load_current  # noqa: E402

# ITBOT_OFFICEDOCS points elsewhere (a worktree whose parent has no shared/ folder).
DATASET = Path(os.environ.get("ITBOT_OFFICEDOCS", ROOT.parent / "shared" / "datasets" / "officedocs-support"))
KINDS = ("symptoms", "short", "title")

Ranker = Callable[[str], list[str]]


def load_queries(split: str) -> list[dict[str, str]]:
    """The dataset's queries of one split."""
    path = DATASET / "queries" / f"{split}.jsonl"
    with path.open(encoding="utf-8") as src:
        return [json.loads(line) for line in src if line.strip()]


def metrics(ranked: list[str], gold: str) -> tuple[float, float, float]:
    """(hit@1, hit@5, reciprocal rank within 10) of ``gold`` in ``ranked``."""
    try:
        rank = ranked.index(gold) + 1
    except ValueError:
        return 0.0, 0.0, 0.0
    return float(rank == 1), float(rank <= 5), (1.0 / rank if rank <= 10 else 0.0)


def collapse(chunk_scores: np.ndarray, chunk_article: list[str], k: int = 10) -> list[str]:
    """Articles ranked by their best chunk's score (top ``k``)."""
    order = np.argsort(-chunk_scores)
    seen: list[str] = []
    for i in order[: 50 * k]:
        a = chunk_article[i]
        if a not in seen:
            seen.append(a)
            if len(seen) == k:
                break
    return seen


def plain_hybrid(index: LoadedIndex, encode: Callable[[str], np.ndarray]) -> Ranker:
    """The reference hybrid: bm25s default tokenizer, exact cosine, 0.7/0.3 convex fusion."""
    import bm25s

    texts = [c.text for c in index.chunks]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    chunk_article = [c.article_id for c in index.chunks]

    def rank(query: str) -> list[str]:
        q = bm25s.tokenize([query], stopwords="en", show_progress=False)
        inv = {v: k for k, v in q.vocab.items()}
        tokens = [inv[t] for t in q.ids[0]]
        bm = np.asarray(retriever.get_scores(tokens), dtype=np.float32)
        bm = bm / bm.max() if bm.max() > 0 else bm
        cos = index.vectors @ encode(query)
        return collapse(0.7 * cos + 0.3 * bm, chunk_article)

    return rank


def shipped(searcher: Searcher, verdicts: list[Verdict] | None = None) -> Ranker:
    """The shipped hybrid ranking; with ``verdicts``, the answer policy's verdict on each query is
    appended to it too."""

    def rank(query: str) -> list[str]:
        result = searcher.search(query, k=10)
        if verdicts is not None:
            verdicts.append(decide(result))
        return [h.article_id for h in result.hits]

    return rank


DECISION_COLUMNS = ("answered right", "answered", "clarify", "helped", "escalate")


def decision_rows(
    queries: list[dict[str, str]], verdicts: list[Verdict]
) -> list[tuple[str, int, dict[str, float]]]:
    """Per kind: the shares of queries answered with the right article, answered at all, offered
    choices, helped (right article answered or among the choices) and escalated."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("n", *DECISION_COLUMNS), 0))
    for q, v in zip(queries, verdicts, strict=True):
        offered = [h.article_id for h in v.hits]
        answered = v.decision is Decision.ANSWER
        right = q["article"] in (offered[:1] if answered else offered)
        for kind in (q["kind"], "all"):
            c = counts[kind]
            c["n"] += 1
            c["answered right"] += answered and right
            c["answered"] += answered
            c["clarify"] += v.decision is Decision.CLARIFY
            c["helped"] += right
            c["escalate"] += v.decision is Decision.ESCALATE
    return [
        (kind, counts[kind]["n"], {k: counts[kind][k] / counts[kind]["n"] for k in DECISION_COLUMNS})
        for kind in (*KINDS, "all")
        if kind in counts
    ]


def evaluate(
    name: str, rank: Ranker, queries: list[dict[str, str]]
) -> dict[str, tuple[float, float, float, int]]:
    """Mean R@1, R@5, MRR@10 per kind (and 'all') for one ranker."""
    per: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    times: list[float] = []
    for q in queries:
        t = time.perf_counter()
        ranked = rank(q["query"])
        times.append(time.perf_counter() - t)
        m = metrics(ranked, q["article"])
        per[q["kind"]].append(m)
        per["all"].append(m)
    out = {k: (*[float(np.mean([m[i] for m in v])) for i in range(3)], len(v)) for k, v in per.items()}
    print(
        f"  {name}: {len(queries)} queries, median {statistics.median(times) * 1000:.1f} ms/query",
        file=sys.stderr,
    )
    return out  # type: ignore[return-value]


def main() -> int:
    """Build (or refresh) the corpus index, evaluate each ranker, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench" / "officedocs")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N queries")
    parser.add_argument(
        "--only", default="", help="comma list of rankers: bm25,dense,plain,shipped,no-heading"
    )
    args = parser.parse_args()
    if not (DATASET / "kb").is_dir():
        print(f"skipped: the officedocs-support dataset is not at {DATASET}")
        return 0
    encoder = load_encoder(
        args.model, cache_dir=ROOT / "var" / "bench" / "models", max_tokens=DEFAULT_MAX_TOKENS
    )
    report = build_index(DATASET / "kb", args.home / "index", encoder)
    index = load_current(args.home / "index", model=encoder.name, dim=encoder.dim)
    queries = load_queries(args.split)
    if args.limit:
        queries = queries[: args.limit]

    def encode(q: str) -> np.ndarray:
        return encoder.encode([q])[0]

    base = FusionParams()
    verdicts: list[Verdict] = []
    rankers: dict[str, Ranker] = {
        "bm25": shipped(
            Searcher(index, encoder, FusionParams(dense_weight=0.0, dense_k=0, max_expansions=0))
        ),
        "dense": shipped(
            Searcher(index, encoder, FusionParams(dense_weight=1.0, lexical_k=0, max_expansions=0))
        ),
        "plain": plain_hybrid(index, encode),
        "shipped": shipped(Searcher(index, encoder, base), verdicts),
        # The same without the nudge that title and section words give the five best articles.
        "no-heading": shipped(Searcher(index, encoder, replace(base, heading_weight=0.0))),
    }
    if args.only:
        rankers = {k: v for k, v in rankers.items() if k in args.only.split(",")}
    results = {name: evaluate(name, rank, queries) for name, rank in rankers.items()}

    print(
        f"# Retrieval quality, officedocs-support, split={args.split} "
        f"({report.manifest.articles} articles, {report.manifest.chunks} chunks)"
    )
    print(f"# command: .venv/bin/python benchmarks/quality.py --split {args.split}")
    print()
    print("| ranker | kind | n | R@1 | R@5 | MRR@10 |")
    print("|---|---|---|---|---|---|")
    for name, per in results.items():
        for kind in (*KINDS, "all"):
            if kind in per:
                r1, r5, mrr, n = per[kind]
                print(f"| {name} | {kind} | {n} | {r1:.3f} | {r5:.3f} | {mrr:.3f} |")
    if verdicts:
        print()
        print(f"| answer policy on the shipped ranking | n | {' | '.join(DECISION_COLUMNS)} |")
        print("|---|---|---|---|---|---|---|")
        for kind, n, rates in decision_rows(queries, verdicts):
            cells = " | ".join(f"{rates[k]:.1%}" for k in DECISION_COLUMNS)
            print(f"| {kind} | {n} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
