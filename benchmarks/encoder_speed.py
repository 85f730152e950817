"""Encoder speed and fidelity: sentence-transformers vs ONNX Runtime (fp32, int8) vs torch bf16.

Prints one table (build throughput, single-query latency, cosine to sentence-transformers fp32)
plus the ONNX encoder's load time and the RSS of a process that loads only it, then the command
that made it. Chunks and queries come from a folder of Markdown articles (default: the
officedocs-support KB); without that folder the benchmark says so and exits 0.

    .venv/bin/python benchmarks/encoder_speed.py [--chunks 1000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KB = Path("/work/shared/datasets/officedocs-support/kb")
MODEL = "all-MiniLM-L6-v2"

FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
TITLE = re.compile(r"^title:\s*(.+)$", re.M)
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MARKUP = re.compile(r"[#*`|>_]+")

# Runs in a fresh interpreter so nothing the benchmark imported (torch) counts towards its RSS.
RSS_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from indexer.encoder import load_encoder
enc = load_encoder(sys.argv[1], cache_dir=Path(sys.argv[2]))
t1 = time.perf_counter()
enc.encode(["outlook keeps asking for my password"])
t2 = time.perf_counter()
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({
    "import_and_load_s": t1 - t0, "first_query_s": t2 - t1,
    "rss_mb": int(status["VmRSS"].split()[0]) / 1024, "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024,
    "torch_imported": "torch" in sys.modules, "transformers_imported": "transformers" in sys.modules,
}))
"""

Vectors = npt.NDArray[np.float32]


@dataclass
class Row:
    variant: str
    chunks_per_s: float
    cpu_pct: float
    kb_chunks_per_s: float
    p50_ms: float
    p99_ms: float
    cos_min: float
    cos_mean: float
    qcos_min: float


def load_texts(kb: Path, n_chunks: int, n_queries: int) -> tuple[list[str], list[str]]:
    """Throwaway split: article bodies in 150-250-word windows; article titles as queries."""
    rng = random.Random(7)
    chunks: list[str] = []
    titles: list[str] = []
    for path in sorted(kb.rglob("*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        match = FRONT_MATTER.match(text)
        if match:
            title = TITLE.search(match.group(1))
            if title:
                titles.append(title.group(1).strip().strip("\"'"))
            text = text[match.end() :]
        words = MARKUP.sub(" ", LINK.sub(r"\1", text)).split()
        start = 0
        while len(chunks) < n_chunks and len(words) - start >= 150:
            size = rng.randint(150, 250)
            chunks.append(" ".join(words[start : start + size]))
            start += size
    rng.shuffle(titles)
    queries = [t for t in dict.fromkeys(titles) if 2 <= len(t.split()) <= 12][:n_queries]
    return chunks, queries


def throughput(encode: Callable[[list[str]], Vectors], chunks: list[str]) -> tuple[float, float, Vectors]:
    """Chunks a second, and CPU time over wall time (200% is both cores; less means contention)."""
    encode(chunks[:8])
    started, cpu_started = time.perf_counter(), time.process_time()
    vectors = encode(chunks)
    wall = time.perf_counter() - started
    return len(chunks) / wall, 100 * (time.process_time() - cpu_started) / wall, vectors


def latency(encode: Callable[[list[str]], Vectors], queries: list[str]) -> tuple[float, float, Vectors]:
    for q in queries[:10]:
        encode([q])
    times: list[float] = []
    rows: list[Vectors] = []
    for q in queries:
        started = time.perf_counter()
        rows.append(encode([q]))
        times.append(time.perf_counter() - started)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), np.vstack(rows)


def cosines(a: Vectors, b: Vectors) -> npt.NDArray[np.float32]:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    result: npt.NDArray[np.float32] = np.einsum("ij,ij->i", a, b)
    return result


def measure(
    variant: str,
    encode: Callable[[list[str]], Vectors],
    chunks: list[str],
    queries: list[str],
    kb_chunks: list[str],
    ref: tuple[Vectors, Vectors] | None,
) -> tuple[Row, Vectors, Vectors]:
    rate, cpu_pct, chunk_vecs = throughput(encode, chunks)
    kb_rate = throughput(encode, kb_chunks)[0] if kb_chunks else float("nan")
    p50, p99, query_vecs = latency(encode, queries)
    ref_chunks, ref_queries = ref if ref else (chunk_vecs, query_vecs)
    cos = cosines(chunk_vecs, ref_chunks)
    qcos = cosines(query_vecs, ref_queries)
    row = Row(
        variant, rate, cpu_pct, kb_rate, p50, p99, float(cos.min()), float(cos.mean()), float(qcos.min())
    )
    print(f"  {variant}: {rate:.1f} chunks/s, p50 {p50:.2f} ms", file=sys.stderr, flush=True)
    return row, chunk_vecs, query_vecs


def knowledge_chunks(folder: Path) -> list[str]:
    """The texts ``itbot index`` embeds for ``folder`` (the shipped KB: shorter, ~110 tokens)."""
    from indexer.articles import load_articles
    from indexer.chunking import ChunkingOptions, chunk_article

    if not folder.is_dir():
        return []
    articles, _ = load_articles(folder)
    return [c.text for a in articles for c in chunk_article(a, ChunkingOptions())]


def rss_probe(cache_dir: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, MODEL, str(cache_dir)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB, help="folder of Markdown articles")
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch-sizes", default="16,32,64", help="ONNX fp32 batch sizes")
    parser.add_argument("--cache-dir", type=Path, default=None, help="ONNX cache (default: a fresh temp dir)")
    parser.add_argument("--skip-torch", action="store_true", help="skip sentence-transformers and bf16")
    args = parser.parse_args(argv)

    if not args.kb.is_dir():
        print(f"skipped: no knowledge folder at {args.kb} (pass --kb PATH)")
        return 0
    os.environ["HF_HUB_OFFLINE"] = "1"
    sys.path.insert(0, str(ROOT))
    from tokenizers import Tokenizer

    from indexer.encoder import TorchEncoder, cpu_has_native_bf16, load_encoder, resolve_model_dir

    chunks, queries = load_texts(args.kb, args.chunks, args.queries)
    if not chunks or not queries:
        print(f"skipped: {args.kb} gave {len(chunks)} chunks and {len(queries)} queries")
        return 0
    kb_chunks = knowledge_chunks(ROOT / "knowledge")
    load_before = os.getloadavg()
    tmp = tempfile.TemporaryDirectory(prefix="itbot-encoder-bench-")
    cache_dir: Path = args.cache_dir or Path(tmp.name)

    started = time.perf_counter()
    load_encoder(MODEL, cache_dir=cache_dir)
    first_load_s = time.perf_counter() - started
    started = time.perf_counter()
    load_encoder(MODEL, cache_dir=cache_dir, precision="int8")
    quantize_s = time.perf_counter() - started
    probe = rss_probe(cache_dir)
    started = time.perf_counter()
    fp32 = load_encoder(MODEL, cache_dir=cache_dir)
    load_s = time.perf_counter() - started
    del fp32
    model_dir = resolve_model_dir(MODEL)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=256)
    lengths = np.array([len(e.ids) for e in tokenizer.encode_batch(chunks)])

    rows: list[Row] = []
    ref: tuple[Vectors, Vectors] | None = None
    if not args.skip_torch:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(model_dir), device="cpu")

        def st_encode(texts: list[str]) -> Vectors:
            return np.asarray(st.encode(texts, batch_size=32, normalize_embeddings=True), dtype=np.float32)

        row, ref_chunks, ref_queries = measure(
            "sentence-transformers fp32, batch 32", st_encode, chunks, queries, kb_chunks, None
        )
        rows.append(row)
        ref = (ref_chunks, ref_queries)

    for bs in (int(b) for b in args.batch_sizes.split(",")):
        encoder = load_encoder(MODEL, cache_dir=cache_dir, batch_size=bs)
        rows.append(
            measure(f"ONNX fp32, sorted, batch {bs}", encoder.encode, chunks, queries, kb_chunks, ref)[0]
        )
    int8 = load_encoder(MODEL, cache_dir=cache_dir, precision="int8")
    rows.append(
        measure("ONNX int8 per-channel, sorted, batch 16", int8.encode, chunks, queries, kb_chunks, ref)[0]
    )

    if not args.skip_torch:
        bf16 = TorchEncoder(model_dir, name=MODEL, batch_size=16)
        label = "bf16 autocast" if bf16.bf16 else "fp32 (no native bf16)"
        rows.append(
            measure(f"TorchEncoder {label}, batch 16", bf16.encode, chunks, queries, kb_chunks, ref)[0]
        )
    load_after = os.getloadavg()

    print(
        f"{len(chunks)} chunks ({np.mean(lengths):.0f} tokens mean, "
        f"{np.mean(lengths >= 256):.0%} truncated at 256), {len(queries)} queries, "
        f"{os.cpu_count()} cores (native bf16: {cpu_has_native_bf16()}); cosine is to sentence-transformers "
        f"fp32; 1-min load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    kb_lengths = np.array([len(e.ids) for e in tokenizer.encode_batch(kb_chunks)] or [0])
    print(
        f"KB chunks/s: the {len(kb_chunks)} chunks itbot builds from ./knowledge "
        f"({np.mean(kb_lengths):.0f} tokens mean); CPU % is CPU time over wall time (200 = both cores)"
    )
    print()
    header = (
        f"| {'variant':<40} | chunks/s | CPU % | KB chunks/s | query p50 ms | query p99 ms "
        "| cos min | cos mean | query cos min |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r.variant:<40} | {r.chunks_per_s:8.1f} | {r.cpu_pct:5.0f} | {r.kb_chunks_per_s:11.1f} "
            f"| {r.p50_ms:12.2f} | {r.p99_ms:12.2f} "
            f"| {r.cos_min:.5f} | {r.cos_mean:8.5f} | {r.qcos_min:13.5f} |"
        )
    print()
    print(
        f"ONNX export (first load_encoder, imports torch): {first_load_s:.1f} s; "
        f"int8 quantisation: {quantize_s:.1f} s"
    )
    print(f"ONNX encoder load from cache: {load_s * 1000:.0f} ms in this process")
    print(
        f"fresh process, only the ONNX encoder: import+load {probe['import_and_load_s']:.2f} s, "
        f"first query {probe['first_query_s'] * 1000:.0f} ms, RSS {probe['rss_mb']:.0f} MB "
        f"(peak {probe['peak_rss_mb']:.0f} MB), torch imported: {probe['torch_imported']}, "
        f"transformers imported: {probe['transformers_imported']}"
    )
    print()
    print("command:", shlex.join(["python", "benchmarks/encoder_speed.py", *(argv or sys.argv[1:])]))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
