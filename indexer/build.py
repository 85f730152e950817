"""Knowledge folder -> a new index build, re-embedding only chunks whose content changed."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.articles import load_articles
from indexer.chunking import ChunkingOptions, chunk_article
from indexer.dense import HNSW_THRESHOLD, build_dense_index
from indexer.encoder import Encoder
from indexer.glossary import GLOSSARY_FILE, load_glossary
from indexer.lexical import LEXICAL_VERSION, LexicalIndex
from indexer.models import ArticleProblem, Chunk
from indexer.store import (
    FORMAT_VERSION,
    IndexMismatchError,
    Manifest,
    StoredArticle,
    StoredChunk,
    current_folder,
    load_chunks,
    load_vectors,
    new_build_folder,
    publish,
    read_manifest,
    write_build,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildReport:
    """What one ``build_index`` run did."""

    folder: Path
    manifest: Manifest
    problems: list[ArticleProblem] = field(default_factory=list)
    unchanged: bool = False
    seconds: float = 0.0


def _digest(parts: list[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _previous_vectors(root: Path, *, model: str, dim: int) -> tuple[dict[str, np.ndarray], Manifest | None]:
    """Vectors of the live build keyed by chunk hash, when it was made with the same model."""
    folder = current_folder(root)
    if folder is None:
        return {}, None
    try:
        manifest = read_manifest(folder)
        if manifest.model != model or manifest.dim != dim:
            return {}, manifest
        chunks = load_chunks(folder)
        vectors = load_vectors(folder)
    except (OSError, ValueError, KeyError, TypeError, IndexMismatchError):
        log.warning("index.previous_unreadable", extra={"folder": str(folder)})
        return {}, None
    if vectors.shape[0] != len(chunks):
        return {}, manifest
    return {c.hash: vectors[i] for i, c in enumerate(chunks)}, manifest


def build_index(
    kb: Path,
    root: Path,
    encoder: Encoder,
    *,
    options: ChunkingOptions | None = None,
    hnsw_threshold: int = HNSW_THRESHOLD,
    force: bool = False,
) -> BuildReport:
    """Build the index for the knowledge folder ``kb`` under ``root`` and make it live.

    Bad articles are reported in ``problems`` (file and line) and left out; the rest are indexed.
    Chunks whose text hash is unchanged since the live build reuse its vectors. When nothing at
    all changed (same articles, glossary and model) the live build stays and ``unchanged`` is True.
    Raises ``KnowledgeFolderError`` for a missing or empty knowledge folder.
    """
    started = time.perf_counter()
    articles, problems = load_articles(kb)
    glossary, glossary_problems = load_glossary(kb / GLOSSARY_FILE)
    problems = problems + glossary_problems
    chunks: list[Chunk] = []
    for article in articles:
        chunks.extend(chunk_article(article, options or ChunkingOptions()))
    kb_hash = _digest([c.id + ":" + c.hash for c in chunks] + [a.id + ":" + a.body for a in articles])
    glossary_hash = _digest([LEXICAL_VERSION, json.dumps(glossary.to_json())])

    previous, previous_manifest = _previous_vectors(root, model=encoder.name, dim=encoder.dim)
    live = current_folder(root)
    if (
        not force
        and live is not None
        and previous_manifest is not None
        and previous_manifest.kb_hash == kb_hash
        and previous_manifest.glossary_hash == glossary_hash
        and previous_manifest.model == encoder.name
        and previous_manifest.dim == encoder.dim
    ):
        return BuildReport(
            live, previous_manifest, problems, unchanged=True, seconds=time.perf_counter() - started
        )

    vectors = np.zeros((len(chunks), encoder.dim), dtype=np.float32)
    todo = [i for i, c in enumerate(chunks) if c.hash not in previous]
    for i, c in enumerate(chunks):
        if c.hash in previous:
            vectors[i] = previous[c.hash]
    if todo:
        vectors[todo] = encoder.encode([chunks[i].text for i in todo])

    lexical = LexicalIndex.build([c.text for c in chunks], glossary)
    dense = build_dense_index(vectors, threshold=hnsw_threshold)
    folder = new_build_folder(root)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=encoder.name,
        dim=encoder.dim,
        dense_kind=dense.kind,
        articles=len(articles),
        chunks=len(chunks),
        kb_hash=kb_hash,
        glossary_hash=glossary_hash,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        build_seconds=round(time.perf_counter() - started, 3),
        embedded=len(todo),
        reused=len(chunks) - len(todo),
        problems=[str(p) for p in problems],
    )
    write_build(
        folder,
        manifest=manifest,
        articles=[StoredArticle.from_article(a) for a in articles],
        chunks=[StoredChunk.from_chunk(c) for c in chunks],
        vectors=vectors,
        dense=dense,
        lexical=lexical,
    )
    publish(root, folder)
    return BuildReport(folder, manifest, problems, seconds=time.perf_counter() - started)
