"""Answer latency, warm and in-process: itbot's whole ``Assistant.ask`` path beside the plain path
(sentence-transformers encode + FAISS flat search + bm25s ``retrieve()``), at three sizes:

* the shipped knowledge base (``knowledge/``);
* the officedocs-support corpus (about 2,400 articles; ``$ITBOT_OFFICEDOCS`` or ../shared;
  skipped when absent);
* a synthetic 100,000 chunks: the officedocs chunks repeated with perturbed vectors and a
  per-copy marker word, so both the dense and the lexical side really search 100k rows.

Queries are the officedocs dev queries (short and symptoms kinds). Prints p50/p99 per size, then
for each size where ``ask`` spends its time, stage by stage, and its p50 by question length
(``benchmarks/ask_stages.py``).

    .venv/bin/python benchmarks/speed.py [--queries 300] [--skip-100k]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ask_stages import print_profile  # noqa: E402
from benchmarks.quality import DATASET  # noqa: E402
from bot.config import DEFAULT_MAX_TOKENS, Settings  # noqa: E402
from bot.core.assistant import Assistant  # noqa: E402
from bot.core.models import Question  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.dense import HnswDenseIndex  # noqa: E402
from indexer.encoder import Encoder, load_encoder, resolve_model_dir  # noqa: E402
from indexer.lexical import LexicalIndex  # noqa: E402
from indexer.store import LoadedIndex, StoredChunk, load_current  # noqa: E402

MODELS = ROOT / "var" / "bench" / "models"


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of ``samples`` in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def time_each(fn: Callable[[str], object], queries: list[str], warmup: int = 20) -> tuple[float, float]:
    """Warm up, then time ``fn`` on every query; (p50, p99) in ms."""
    for q in queries[:warmup]:
        fn(q)
    samples = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        samples.append(time.perf_counter() - t)
    return percentiles(samples)


def plain_path(index: LoadedIndex) -> Callable[[str], object]:
    """The reference path: sentence-transformers encode, FAISS IndexFlatIP, bm25s retrieve()."""
    import bm25s
    import faiss
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(resolve_model_dir("all-MiniLM-L6-v2")), device="cpu")
    flat = faiss.IndexFlatIP(index.vectors.shape[1])
    flat.add(index.vectors)
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([c.text for c in index.chunks], stopwords="en", show_progress=False),
        show_progress=False,
    )

    def ask(query: str) -> object:
        qv = model.encode([query], normalize_embeddings=True)
        flat.search(qv, 100)
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        return retriever.retrieve(tokens, k=100, show_progress=False)

    return ask


def synthetic(index: LoadedIndex, size: int, seed: int = 11) -> LoadedIndex:
    """``index`` grown to ``size`` chunks: copies with noisy vectors and a marker word per copy."""
    rng = np.random.default_rng(seed)
    n = len(index.chunks)
    copies = -(-size // n)
    chunks: list[StoredChunk] = []
    vectors = np.empty((copies * n, index.vectors.shape[1]), dtype=np.float32)
    for c in range(copies):
        for chunk in index.chunks:
            chunks.append(
                replace(
                    chunk,
                    id=f"{chunk.id}~{c}",
                    article_id=f"{chunk.article_id}~{c}",
                    text=f"{chunk.text} copy{c}",
                )
            )
        noisy = index.vectors + rng.normal(0, 0.02, index.vectors.shape).astype(np.float32)
        vectors[c * n : (c + 1) * n] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    chunks, vectors = chunks[:size], vectors[:size]
    articles = {}
    for c in range(copies):
        for a in index.articles.values():
            articles[f"{a.id}~{c}"] = replace(a, id=f"{a.id}~{c}")
    return LoadedIndex(
        folder=index.folder,
        manifest=replace(index.manifest, chunks=size, dense_kind="hnsw"),
        articles=articles,
        chunks=chunks,
        vectors=vectors,
        dense=HnswDenseIndex.build(vectors),
        lexical=LexicalIndex.build([c.text for c in chunks], index.lexical.glossary),
    )


def assistant_over(index: LoadedIndex, encoder: Encoder, home: Path) -> Assistant:
    """An assistant whose live index is ``index`` (already in memory)."""
    from bot.core.retrieval import Searcher

    assistant = Assistant(Settings(home=home), encoder=encoder)
    assistant._searcher = Searcher(index, encoder)
    assistant._folder = index.folder
    return assistant


def main() -> int:
    """Measure each size and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-100k", action="store_true")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain reference path")
    args = parser.parse_args()
    encoder = load_encoder("all-MiniLM-L6-v2", cache_dir=MODELS, max_tokens=DEFAULT_MAX_TOKENS)
    queries = ["citrix frozen on the wow", "epic keeps logging me out", "label printer printing blank"]
    if (DATASET / "queries" / "dev.jsonl").exists():
        with (DATASET / "queries" / "dev.jsonl").open(encoding="utf-8") as src:
            rows = [json.loads(line) for line in src]
        queries = [r["query"] for r in rows if r["kind"] in ("short", "symptoms")]
    # The profile mixes short and long questions (the first ones of the file are all long).
    mixed = random.Random(7).sample(queries, len(queries))[: args.queries]
    queries = (queries * (1 + args.queries // max(1, len(queries))))[: args.queries]

    sizes: list[tuple[str, LoadedIndex]] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        build_index(ROOT / "knowledge", home / "shipped", encoder)
        sizes.append(("shipped KB", load_current(home / "shipped", model=encoder.name, dim=encoder.dim)))
        office = ROOT / "var" / "bench" / "officedocs" / "index"
        if (DATASET / "kb").is_dir():
            build_index(DATASET / "kb", office, encoder)
            office_index = load_current(office, model=encoder.name, dim=encoder.dim)
            sizes.append(("officedocs", office_index))
            if not args.skip_100k:
                t = time.perf_counter()
                sizes.append(("synthetic 100k", synthetic(office_index, 100_000)))
                print(f"synthetic 100k index built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        else:
            print(f"officedocs sizes skipped: no dataset at {DATASET}", file=sys.stderr)

        print("# Answer latency, warm, in-process (ms)")
        print("# command: .venv/bin/python benchmarks/speed.py" + (" --skip-100k" if args.skip_100k else ""))
        print(f"# {len(queries)} queries per row (officedocs dev short+symptoms)")
        print()
        print("| index | chunks | dense | itbot p50 | itbot p99 | plain p50 | plain p99 | ratio p50 |")
        print("|---|---|---|---|---|---|---|---|")
        assistants = []
        for name, index in sizes:
            assistant = assistant_over(index, encoder, home)
            assistants.append((name, assistant))
            ours = time_each(lambda q, a=assistant: a.ask(Question(text=q)), queries)
            plain = (float("nan"), float("nan")) if args.no_plain else time_each(plain_path(index), queries)
            print(
                f"| {name} | {len(index.chunks)} | {index.dense.kind} | {ours[0]:.1f} | {ours[1]:.1f} | "
                f"{plain[0]:.1f} | {plain[1]:.1f} | {plain[0] / ours[0]:.1f}x |",
                flush=True,
            )
        for name, assistant in assistants:
            print_profile(name, assistant, mixed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
