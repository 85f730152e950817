"""Knowledge folder -> a new index build, redoing only the work whose inputs changed.

The live build lends the next one what is keyed on content: a file with the same path and bytes
(and the same chunking) keeps its article and chunks as written, and their lexical term counts
when the glossary and tokenizer are the same; a chunk with the same text hash keeps its vector
when the model is the same. A file whose stat is the one the live build read it with is not even
read (`indexer.sources`). Only new or edited files are parsed, tokenized and embedded, and the
encoder is not asked for anything when no chunk needs a vector. What a build holds does not
depend on what it reused: an incremental build equals a full one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.articles import DEFAULT_MAX_ARTICLE_BYTES
from indexer.assembly import Rows
from indexer.chunking import ChunkingOptions, chunking_hash
from indexer.dense import HNSW_THRESHOLD, build_dense_index
from indexer.encoder import Encoder, Vectors
from indexer.glossary import GLOSSARY_FILE, load_glossary
from indexer.lexical import LEXICAL_VERSION, LexicalIndex
from indexer.models import ArticleProblem
from indexer.reuse import Lent, PreviousBuild
from indexer.sources import file_stats, scan_knowledge
from indexer.store import (
    FORMAT_VERSION,
    FolderLock,
    Manifest,
    finish_build,
    new_build_folder,
    publish,
    remove_unfinished,
    write_contents,
    write_file_stats,
    write_vectors,
)


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


class _ModelLoad:
    """The encoder's model loading in a daemon thread, started as soon as a file has to be parsed.

    A parsed file almost always brings a chunk to embed, so the model (0.2 s for ONNX Runtime to
    import and load) is loaded while the rest of the folder is scanned and the live build is read,
    not after. Encoders without a ``load`` method load on their first ``encode`` as before.
    """

    def __init__(self, encoder: Encoder) -> None:
        self._load: Callable[[], None] | None = getattr(encoder, "load", None)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start loading the model, unless it is loading or loaded already."""
        if self._load is not None and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, args=(self._load,), name="itbot-load", daemon=True
            )
            self._thread.start()

    @staticmethod
    def _run(load: Callable[[], None]) -> None:
        # A model that fails to load fails again on the first encode, which raises where awaited.
        with contextlib.suppress(Exception):
            load()

    def wait(self) -> None:
        """Wait for a model load that was started, so that the process never exits in the middle of it."""
        if self._thread is not None:
            self._thread.join()


class _Embedding:
    """Texts (by chunk hash) being embedded in a daemon thread while the build goes on."""

    def __init__(self, encoder: Encoder, texts: dict[str, str]) -> None:
        self.texts = texts
        self._future: Future[Vectors] = Future()
        if texts:
            threading.Thread(target=self._run, args=(encoder,), name="itbot-embed", daemon=True).start()
        else:
            self._future.set_result(np.zeros((0, encoder.dim), dtype=np.float32))

    def _run(self, encoder: Encoder) -> None:
        try:
            self._future.set_result(encoder.encode(list(self.texts.values())))
        except BaseException as exc:  # handed over as it is to the thread that waits
            self._future.set_exception(exc)

    def vectors(self) -> dict[str, np.ndarray]:
        """Wait for the vectors, by chunk hash; raises what the encoder raised."""
        return dict(zip(self.texts, self._future.result(), strict=True))


def build_index(
    kb: Path,
    root: Path,
    encoder: Encoder,
    *,
    options: ChunkingOptions | None = None,
    hnsw_threshold: int = HNSW_THRESHOLD,
    force: bool = False,
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
) -> BuildReport:
    """Build the index for the knowledge folder ``kb`` under ``root`` and make it live.

    Bad articles are reported in ``problems`` (file and line) and left out; the rest are indexed.
    Files whose bytes are unchanged since the live build are not parsed again, and chunks whose
    text hash is unchanged reuse its vectors; the result is the same as building from nothing.
    When nothing at all changed (same files, glossary, chunking and model) the live build stays
    and ``unchanged`` is True. ``force`` builds anew even then, parsing every file again (vectors
    are still reused). A file over ``max_article_bytes`` is a problem, not read. The folders of
    earlier builds that were killed before they finished are removed first. Raises
    ``KnowledgeFolderError`` for a missing or empty knowledge folder.
    """
    model = _ModelLoad(encoder)
    remove_unfinished(root)
    try:
        return _build(
            kb,
            root,
            encoder,
            _Options(options or ChunkingOptions(), hnsw_threshold, force, max_article_bytes),
            model.start,
        )
    finally:
        model.wait()


@dataclass(frozen=True)
class _Options:
    chunking: ChunkingOptions
    hnsw_threshold: int
    force: bool
    max_article_bytes: int


def _build(
    kb: Path,
    root: Path,
    encoder: Encoder,
    settings: _Options,
    on_parse: Callable[[], None],
) -> BuildReport:
    """`build_index`, calling ``on_parse`` before each file it parses."""
    started = time.perf_counter()
    options, force, limit = settings.chunking, settings.force, settings.max_article_bytes
    glossary, glossary_problems = load_glossary(kb / GLOSSARY_FILE)
    glossary_hash = _digest([LEXICAL_VERSION, json.dumps(glossary.to_json())])
    chunking = chunking_hash(options)

    previous = PreviousBuild.open(root)
    reusable = previous.reusable_sources(chunking) if previous is not None and not force else []
    stats = previous.file_stats if previous is not None and reusable else []
    sources, problems = scan_knowledge(
        kb, options, reusable=reusable, stats=stats, on_parse=on_parse, max_bytes=limit
    )
    kb_hash = _digest([chunking] + [f"{s.record.path}:{s.record.digest}" for s in sources])
    live = previous.manifest if previous is not None else None
    if (
        not force
        and previous is not None
        and live is not None
        and (live.kb_hash, live.glossary_hash, live.chunking_hash) == (kb_hash, glossary_hash, chunking)
        and (live.model, live.dim) == (encoder.name, encoder.dim)
    ):
        return BuildReport(
            previous.folder,
            live,
            problems + glossary_problems,
            unchanged=True,
            seconds=time.perf_counter() - started,
        )

    # Chunks of parsed files that no live vector fits start embedding now (loading the model if
    # needed), while the rest of the build is read, assembled and written.
    known = previous.vector_hashes(model=encoder.name, dim=encoder.dim) if previous is not None else set()
    early = _Embedding(
        encoder,
        {} if known is None else {c.hash: c.text for s in sources for c in s.chunks if c.hash not in known},
    )
    reused_files = any(s.previous is not None for s in sources)
    lent = Lent()
    if previous is not None:
        lent = previous.lend(
            model=encoder.name, dim=encoder.dim, glossary_hash=glossary_hash, files=reused_files
        )
    folder: Path | None = None
    lock: FolderLock | None = None
    try:
        folder, lock = new_build_folder(root)
        if reused_files and lent.chunks is None:
            # The live build's files could not be read after all: parse every file.
            sources, problems = scan_knowledge(kb, options, on_parse=on_parse, max_bytes=limit)
        problems = problems + glossary_problems
        rows = Rows(lent)
        for source in sources:
            rows.add(source)
        if lent.lexical is not None:
            lexical = lent.lexical.update(np.asarray(rows.previous, dtype=np.int64), rows.texts)
        else:
            lexical = LexicalIndex.build([rows.text(i) for i in range(len(rows))], glossary)
        write_contents(
            folder,
            articles=rows.articles,
            chunks=rows.chunks,
            sources=rows.sources,
            lexical=lexical,
        )
        missing = rows.unembedded()
        fresh = early.vectors()
        late = {rows.hashes[i]: rows.text(i) for i in missing if rows.hashes[i] not in fresh}
        if late:
            fresh.update(zip(late, encoder.encode(list(late.values())), strict=True))
        vectors = write_vectors(folder, rows=len(rows), dim=encoder.dim, pieces=rows.vectors(fresh))
        dense = build_dense_index(vectors, threshold=settings.hnsw_threshold)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model=encoder.name,
            dim=encoder.dim,
            dense_kind=dense.kind,
            articles=len(rows.records),
            chunks=len(rows),
            kb_hash=kb_hash,
            glossary_hash=glossary_hash,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            build_seconds=round(time.perf_counter() - started, 3),
            embedded=len(missing),
            reused=len(rows) - len(missing),
            problems=[str(p) for p in problems],
            chunking_hash=chunking,
        )
        write_file_stats(folder, file_stats(kb, sources))
        finish_build(folder, manifest=manifest, dense=dense)
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        lent.close()
        if lock is not None:
            lock.release()
    publish(root, folder)
    return BuildReport(folder, manifest, problems, seconds=time.perf_counter() - started)
