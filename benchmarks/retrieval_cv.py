"""Choose the retrieval settings by cross-validation on DEV questions only, beside the plain hybrid.

Each dev question is searched once per setting of ``FusionParams`` in a small grid (dense weight,
heading nudge, second-chunk weight, query bigrams, typo correction, glossary expansion of the dense
query); the question's vector is computed once and reused. Then, for many random K-fold splits of
the dev questions, the setting with the most right-articles-first on the training folds is picked
(ties go to the simplest setting, see ``simplicity``) and scored on the held-out fold. Printed:

* the held-out rate of that selection procedure (mean and standard deviation over the splits),
  which is what to expect of the chosen setting on fresh questions;
* the same held-out folds scored with fixed settings: the plain MiniLM+BM25 hybrid of
  ``benchmarks/quality.py``, the previously shipped setting, and the chosen one;
* per setting, the right-first rate on all of dev and the wins/losses against the plain hybrid.

``--corpus hospital`` (the shipped knowledge base, ``benchmarks/hospital/dev.jsonl``; with
``--no-glossary`` indexed without ``glossary.yml``) or ``--corpus officedocs``
(``queries/dev.jsonl``). Never run on a test split: there is no option for one.

    .venv/bin/python benchmarks/retrieval_cv.py --corpus hospital [--no-glossary]
    .venv/bin/python benchmarks/retrieval_cv.py --corpus officedocs --limit 600
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.fusion import FusionParams  # noqa: E402
from bot.core.retrieval import Searcher  # noqa: E402
from bot.core.scrub import scrub_text  # noqa: E402
from indexer.encoder import Encoder, Vectors  # noqa: E402

SHIPPED_BEFORE = FusionParams(
    dense_weight=0.7, heading_weight=0.05, second_chunk_weight=0.0, max_expansions=3
)
GRID: dict[str, tuple[Any, ...]] = {
    "dense_weight": (0.6, 0.7, 0.8, 0.9),
    "lexical_norm": ("max", "query"),
    "rrf_k": (0, 10, 60),
    "heading_weight": (0.0, 0.05),
    "second_chunk_weight": (0.0, 0.1),
    "query_bigrams": (False, True),
    "spelling": (False, True),
    "max_expansions": (0, 3),
}


class CachingEncoder:
    """An encoder that embeds each distinct text once (the grid embeds the same questions often)."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> Vectors:
        """The inner encoder's vectors, each text embedded at most once."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self.inner.encode(missing), strict=True):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)


def simplicity(params: FusionParams) -> tuple[float, ...]:
    """Smaller is simpler: fewer moving parts first, then the plain hybrid's 0.7 dense weight."""
    return (
        float(params.heading_weight > 0)
        + float(params.second_chunk_weight > 0)
        + float(params.query_bigrams)
        + float(params.spelling)
        + float(params.max_expansions > 0)
        + float(params.lexical_norm != "max")
        + float(params.rrf_k > 0),
        params.heading_weight,
        params.second_chunk_weight,
        abs(params.dense_weight - 0.7),
    )


def describe(params: FusionParams) -> str:
    """The grid fields of ``params`` that differ from the all-off setting, briefly."""
    parts = [f"w={params.dense_weight}", f"head={params.heading_weight}"]
    if params.rrf_k:
        parts.append(f"rrf={params.rrf_k}")
    elif params.lexical_norm != "max":
        parts.append(f"norm={params.lexical_norm}")
    if params.second_chunk_weight:
        parts.append(f"second={params.second_chunk_weight}")
    parts += [name for name in ("query_bigrams", "spelling") if getattr(params, name)]
    if params.max_expansions:
        parts.append(f"expand={params.max_expansions}")
    return " ".join(parts)


@dataclass(frozen=True)
class Corpus:
    """The searcher over one index and the dev questions (text, accepted articles) to rank for."""

    searcher: Searcher
    questions: list[tuple[str, frozenset[str]]]
    plain: list[bool]


def hospital(no_glossary: bool) -> Corpus:
    """The shipped knowledge base and the answerable hospital dev questions."""
    from benchmarks.hospital import build_assistant, load_questions
    from benchmarks.quality import plain_hybrid

    assistant = build_assistant(
        ROOT / "var" / "bench" / "hospital", "all-MiniLM-L6-v2", glossary=not no_glossary
    )
    base = assistant._searcher
    assert base is not None
    encoder = CachingEncoder(base.encoder)
    questions = [
        (scrub_text(q["query"]), frozenset({q["article"], *q.get("also", [])}))
        for q in load_questions("dev")
        if q["article"]
    ]
    plain = plain_hybrid(base.index, lambda t: encoder.encode([t])[0])
    return Corpus(
        Searcher(base.index, encoder, base.params),
        questions,
        [bool(r) and r[0] in gold for r, gold in ((plain(t), g) for t, g in questions)],
    )


def officedocs(limit: int, kinds: str) -> Corpus:
    """The officedocs-support corpus and its dev queries (the first ``limit``, of ``kinds``)."""
    from benchmarks.quality import DATASET, load_queries, plain_hybrid
    from bot.config import DEFAULT_MAX_TOKENS
    from indexer.build import build_index
    from indexer.encoder import load_encoder
    from indexer.store import load_current

    inner = load_encoder(
        "all-MiniLM-L6-v2", cache_dir=ROOT / "var" / "bench" / "models", max_tokens=DEFAULT_MAX_TOKENS
    )
    home = ROOT / "var" / "bench" / "officedocs"
    build_index(DATASET / "kb", home / "index", inner)
    index = load_current(home / "index", model=inner.name, dim=inner.dim)
    encoder = CachingEncoder(inner)
    wanted = set(kinds.split(",")) if kinds else None
    rows = [q for q in load_queries("dev") if wanted is None or q["kind"] in wanted]
    if limit:
        rows = rows[:limit]
    questions = [(q["query"], frozenset({q["article"]})) for q in rows]
    plain = plain_hybrid(index, lambda t: encoder.encode([t])[0])
    return Corpus(
        Searcher(index, encoder, FusionParams()),
        questions,
        [bool(r) and r[0] in gold for r, gold in ((plain(t), g) for t, g in questions)],
    )


def right_first(corpus: Corpus, params: FusionParams) -> np.ndarray:
    """For each question, whether ``params`` ranks an accepted article first."""
    searcher = Searcher(corpus.searcher.index, corpus.searcher.encoder, params)
    flags = []
    for text, gold in corpus.questions:
        hits = searcher.search(text, k=1).hits
        flags.append(bool(hits) and hits[0].article_id in gold)
    return np.array(flags, dtype=bool)


def cross_validate(
    table: dict[FusionParams, np.ndarray], folds: int, repeats: int, seed: int
) -> tuple[list[float], dict[FusionParams, int], list[tuple[np.ndarray, np.ndarray]]]:
    """Held-out rates of "pick the best setting on the training folds" over ``repeats`` random
    ``folds``-fold splits, how often each setting was picked, and the splits (train, held-out)."""
    settings = sorted(table, key=simplicity)
    matrix = np.stack([table[s] for s in settings]).astype(float)
    n = matrix.shape[1]
    rng = random.Random(seed)
    held: list[float] = []
    picked: dict[FusionParams, int] = {}
    splits = []
    for _ in range(repeats):
        order = list(range(n))
        rng.shuffle(order)
        for f in range(folds):
            test = np.array(sorted(order[f::folds]))
            train = np.setdiff1d(np.arange(n), test)
            train_rates = matrix[:, train].mean(axis=1)
            best = int(np.flatnonzero(train_rates >= train_rates.max() - 1e-12)[0])  # simplest of the best
            picked[settings[best]] = picked.get(settings[best], 0) + 1
            held.append(float(matrix[best, test].mean()))
            splits.append((train, test))
    return held, picked, splits


def main() -> int:
    """Search the grid on dev, cross-validate the choice, print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", choices=("hospital", "officedocs"), default="hospital")
    parser.add_argument("--no-glossary", action="store_true", help="hospital: index without glossary.yml")
    parser.add_argument("--limit", type=int, default=0, help="officedocs: only the first N dev queries")
    parser.add_argument("--kinds", default="", help="officedocs: comma list of query kinds to keep")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--grid", default="", help="only these grid fields vary, e.g. dense_weight,heading_weight"
    )
    args = parser.parse_args()
    corpus = hospital(args.no_glossary) if args.corpus == "hospital" else officedocs(args.limit, args.kinds)
    grid = {k: v for k, v in GRID.items() if not args.grid or k in args.grid.split(",")}
    base = replace(
        FusionParams(),
        heading_weight=0.0,
        second_chunk_weight=0.0,
        query_bigrams=False,
        spelling=False,
        max_expansions=0,
    )
    settings = {
        replace(base, **dict(zip(grid, values, strict=True))) for values in itertools.product(*grid.values())
    }
    settings |= {SHIPPED_BEFORE, FusionParams()}
    table = {s: right_first(corpus, s) for s in sorted(settings, key=simplicity)}
    plain = np.array(corpus.plain, dtype=bool)
    held, picked, splits = cross_validate(table, args.folds, args.repeats, seed=13)

    def held_rates(flags: np.ndarray) -> list[float]:
        return [float(flags[test].mean()) for _, test in splits]

    chosen = max(picked, key=lambda s: (picked[s], -sum(simplicity(s))))
    name = args.corpus + (" without the glossary" if args.no_glossary else "")
    flags = " --no-glossary" if args.no_glossary else ""
    flags += f" --limit {args.limit}" if args.limit else ""
    flags += f" --kinds {args.kinds}" if args.kinds else ""
    flags += f" --grid {args.grid}" if args.grid else ""
    print(f"# Retrieval settings by {args.folds}-fold cross-validation x{args.repeats}, {name}, DEV only")
    print(f"# command: .venv/bin/python benchmarks/retrieval_cv.py --corpus {args.corpus}{flags}")
    print(f"# {len(corpus.questions)} questions, {len(table)} settings")
    print()
    print("| held-out right article first | mean | std |")
    print("|---|---|---|")
    spread = f"{statistics.mean(held):.1%} | {statistics.stdev(held):.1%}"
    print(f"| best-on-training-folds (the selection procedure) | {spread} |")
    for label, rates in (
        ("plain MiniLM+BM25 hybrid", plain),
        ("shipped before (" + describe(SHIPPED_BEFORE) + ")", table[SHIPPED_BEFORE]),
        ("most often picked (" + describe(chosen) + ")", table[chosen]),
        ("current defaults (" + describe(FusionParams()) + ")", table[FusionParams()]),
    ):
        r = held_rates(rates)
        print(f"| {label} | {statistics.mean(r):.1%} | {statistics.stdev(r):.1%} |")
    print()
    print("| setting | right first (all dev) | wins vs plain | losses vs plain | picked in folds |")
    print("|---|---|---|---|---|")
    ranked = sorted(table.items(), key=lambda kv: (-kv[1].mean(), simplicity(kv[0])))
    for s, rates in ranked[: args.top]:
        wins = int((rates & ~plain).sum())
        losses = int((~rates & plain).sum())
        print(f"| {describe(s)} | {rates.mean():.1%} | {wins} | {losses} | {picked.get(s, 0)} |")
    print(f"| plain MiniLM+BM25 hybrid | {plain.mean():.1%} | | | |")
    for field in grid:
        print()
        print(f"| {field} | mean right first over the other settings |")
        print("|---|---|")
        for value in grid[field]:
            means = [float(r.mean()) for s, r in table.items() if getattr(s, field) == value]
            print(f"| {value} | {statistics.mean(means):.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
