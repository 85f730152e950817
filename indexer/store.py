"""The index on disk: a folder of plain files per build, and an atomic ``current`` pointer.

Layout under the index root::

    current                  a one-line file naming the live build (replaced atomically)
    builds/<build id>/
        manifest.json        format version, model, dimension, counts, hashes, build time, problems
        articles.jsonl       one article a line: id, title, description, systems, tags, Markdown body
        chunks.jsonl         one chunk a line, in vector order; each section's Markdown is written
                             once, on its first chunk: the windows of a long section after the
                             first name that chunk's ordinal (``markdown_of``) instead
        sources.jsonl        one indexed file a line, in article order: path, sha256 of its bytes,
                             article id, its chunks' hashes, the byte lengths of its lines above
                             (what the next build reuses without parsing or reading them)
        file_stats.npy       int64 (articles x 3), in article order: each file's size, mtime and
                             ctime (ns) as this build read it, or -1s where they cannot vouch for
                             its bytes (it changed moments before); the next build trusts the digest
                             of a file whose stat is unchanged without reading it
        vectors.npy          float32 (chunks x dim), L2-normalised, saved without pickle
        lexical/             each chunk's term counts (.npy), the terms one a line (terms.txt),
                             BM25 parameters and the glossary they were built with (JSON); bm25s
                             derives its weights from them when the build is loaded
        hnsw.faiss           only for large indexes: the FAISS HNSW graph

A build is written completely into a fresh folder and only then named in ``current``; readers read
``current`` once and load that folder, so no reader ever sees a half-written index.

Build folders are locked with ``flock`` (`FolderLock`): a build holds an exclusive lock on its
folder until it is finished, and a reader holds a shared lock on the build it is loading. Pruning
removes only folders it can lock exclusively, so it never deletes a build a reader is loading nor
one another process is still writing; the folder of a build that was killed (no manifest, lock
free because its process is gone) is removed by the next build.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from indexer.dense import DenseIndex, load_dense_index
from indexer.lexical import LexicalIndex
from indexer.models import Article, Chunk
from indexer.pieces import Pieces, write_pieces

# 2 added sources.jsonl, the manifest's chunking_hash and lexical term counts (1 read bm25s files;
# builds since keep only the counts, and bm25s derives its weights from them when loading).
# 3 writes a section's Markdown once in chunks.jsonl (2 repeated it on every window of the
# section: a 2.6 MB section made a 3 GB file).
FORMAT_VERSION = 3
KEEP_BUILDS = 3
# A folder without a manifest whose lock is free is a killed build once it has not changed for
# this long; younger, it may be one whose builder has created it but not yet locked it.
UNFINISHED_GRACE_SECONDS = 60.0


class IndexNotFoundError(Exception):
    """There is no built index yet at the configured place."""

    def __init__(self, root: Path) -> None:
        super().__init__(
            f"No index found in {root}. Run `itbot index` to build it from the knowledge folder."
        )
        self.root = root


class IndexMismatchError(Exception):
    """The index was built with another model, dimension or format than this itbot uses."""


@dataclass(frozen=True)
class Manifest:
    """What an index folder holds and how it was made."""

    format_version: int
    model: str
    dim: int
    dense_kind: str
    articles: int
    chunks: int
    kb_hash: str
    glossary_hash: str
    built_at: str
    build_seconds: float
    embedded: int
    reused: int
    problems: list[str] = field(default_factory=list)
    chunking_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class StoredArticle:
    """An article as kept beside the index (enough to render it and to cite it)."""

    id: str
    title: str
    description: str
    systems: tuple[str, ...]
    tags: tuple[str, ...]
    owner: str
    review_by: str
    markdown: str

    @classmethod
    def from_article(cls, article: Article) -> StoredArticle:
        """Keep what the server needs of ``article``."""
        return cls(
            id=article.id,
            title=article.title,
            description=article.description,
            systems=article.systems,
            tags=article.tags,
            owner=article.owner,
            review_by=article.review_by,
            markdown=article.body,
        )


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as kept beside the index, in vector order."""

    id: str
    article_id: str
    ordinal: int
    title: str
    section: str
    text: str
    markdown: str
    hash: str
    line: int

    @classmethod
    def from_chunk(cls, chunk: Chunk) -> StoredChunk:
        """Keep what retrieval and replies need of ``chunk``."""
        return cls(
            id=chunk.id,
            article_id=chunk.article_id,
            ordinal=chunk.ordinal,
            title=chunk.title,
            section=chunk.section,
            text=chunk.text,
            markdown=chunk.markdown,
            hash=chunk.hash,
            line=chunk.line,
        )

    def to_json(self, *, markdown_of: int | None = None) -> dict[str, Any]:
        """The chunk as a JSON-ready dict (one line of ``chunks.jsonl``); with ``markdown_of``, its
        Markdown is left out and named as that of the article's chunk of that ordinal."""
        data = asdict(self)
        if markdown_of is not None:
            del data["markdown"]
            data["markdown_of"] = markdown_of
        return data


def chunk_lines(chunks: Sequence[Chunk]) -> list[bytes]:
    """The lines of ``chunks.jsonl`` for one article's ``chunks`` (in order), each with its line
    break: a section's Markdown is written on its first chunk only, so the lines of an article
    add up to about its own size however many windows its sections are cut into."""
    lines: list[bytes] = []
    first: Chunk | None = None
    for chunk in chunks:
        markdown_of: int | None = None
        if first is not None and _same_section(first, chunk):
            markdown_of = first.ordinal
        else:
            first = chunk
        row = StoredChunk.from_chunk(chunk).to_json(markdown_of=markdown_of)
        lines.append(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
    return lines


def _same_section(first: Chunk, chunk: Chunk) -> bool:
    """True when ``chunk`` is a later window of the section whose first chunk is ``first``."""
    return (first.article_id, first.section, first.line) == (
        chunk.article_id,
        chunk.section,
        chunk.line,
    ) and first.markdown == chunk.markdown


def read_chunks(rows: Iterable[dict[str, Any]]) -> list[StoredChunk]:
    """The chunks that decoded lines of ``chunks.jsonl`` hold, in order, each ``markdown_of``
    resolved to the one string of that chunk's Markdown (shared, not copied); ValueError when
    one names no earlier chunk of its article."""
    chunks: list[StoredChunk] = []
    article: str | None = None
    markdown: dict[int, str] = {}
    for row in rows:
        if row.get("article_id") != article:
            article, markdown = row.get("article_id"), {}
        if "markdown_of" in row:
            of = row.pop("markdown_of")
            if of not in markdown:
                raise ValueError(f"chunk {row.get('id')!r} takes its Markdown from a chunk not before it")
            row["markdown"] = markdown[of]
        chunk = StoredChunk(**row)
        markdown[chunk.ordinal] = chunk.markdown
        chunks.append(chunk)
    return chunks


@dataclass(frozen=True)
class SourceRecord:
    """One indexed knowledge file as the build remembers it, to reuse its article and chunks.

    ``path`` is relative to the knowledge folder with ``/`` separators; ``digest`` the sha256 of
    the file's bytes; ``chunk_hashes`` the hashes of its chunks, in order. ``article_bytes`` and
    ``chunk_bytes`` are the lengths of its line in ``articles.jsonl`` and of its lines in
    ``chunks.jsonl``, so that the next build can copy them without reading those files.
    """

    path: str
    digest: str
    article_id: str
    chunk_hashes: tuple[str, ...]
    article_bytes: int = 0
    chunk_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (one line of ``sources.jsonl``)."""
        return {
            "path": self.path,
            "digest": self.digest,
            "article": self.article_id,
            "chunks": self.chunk_hashes,
            "bytes": [self.article_bytes, self.chunk_bytes],
        }

    @classmethod
    def from_json(cls, row: Any) -> SourceRecord:
        """The record a decoded line of ``sources.jsonl`` holds; ValueError, KeyError or TypeError
        if it holds none."""
        hashes = row["chunks"]
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise ValueError("chunk hashes must be a list of strings")
        article_bytes, chunk_bytes = (int(n) for n in row["bytes"])
        return cls(
            str(row["path"]),
            str(row["digest"]),
            str(row["article"]),
            tuple(hashes),
            article_bytes,
            chunk_bytes,
        )


class FileStat(NamedTuple):
    """What a knowledge file's metadata says of its bytes: they are the same while it is the same."""

    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileStat:
        """The file stat kept of ``stat``."""
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


_UNKNOWN_STAT = (-1, -1, -1)


@dataclass
class LoadedIndex:
    """Everything of one build, in memory."""

    folder: Path
    manifest: Manifest
    articles: dict[str, StoredArticle]
    chunks: list[StoredChunk]
    vectors: np.ndarray
    dense: DenseIndex
    lexical: LexicalIndex


def json_line(row: StoredArticle | StoredChunk | SourceRecord) -> bytes:
    """``row`` as one line of ``articles.jsonl``, ``chunks.jsonl`` or ``sources.jsonl``, with its
    line break."""
    data = row.to_json() if isinstance(row, SourceRecord) else asdict(row)
    return json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n"


class JsonLines:
    """A JSON-lines file of a build as written: its bytes, and where each line starts and ends."""

    def __init__(self, data: bytes) -> None:
        if data and not data.endswith(b"\n"):
            raise ValueError("a JSON-lines file must end with a line break")
        self._data = memoryview(data)
        breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
        self._starts = np.concatenate([[0], breaks + 1]).tolist()

    @classmethod
    def of(cls, data: bytes, *, count: int, name: str) -> JsonLines:
        """The JSON-lines file ``name`` that holds ``data``; ValueError unless it has ``count`` lines."""
        lines = cls(data)
        if len(lines) != count:
            raise ValueError(f"{name} has {len(lines)} lines, expected {count}")
        return lines

    def __len__(self) -> int:
        return len(self._starts) - 1

    def line(self, row: int) -> bytes:
        """Line ``row`` without its line break."""
        return bytes(self._data[self._starts[row] : self._starts[row + 1] - 1])


def read_sources(path: Path, *, count: int) -> tuple[list[SourceRecord], list[int]]:
    """The ``count`` records of the ``sources.jsonl`` file ``path``, and where their lines start
    (with the file's end last); OSError, ValueError, KeyError or TypeError when it cannot be read
    or holds anything else."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    if len(lines) != count + 1 or lines[-1]:
        raise ValueError(f"{path} does not hold {count} lines")
    del lines[-1]
    # One JSON array rather than a parse per line: a quarter of the time for thousands of lines.
    rows = json.loads(b"[" + b",".join(lines) + b"]")
    if len(rows) != count:
        raise ValueError(f"{path} does not hold {count} records")
    return [SourceRecord.from_json(row) for row in rows], [
        0,
        *itertools.accumulate(len(x) + 1 for x in lines),
    ]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as src:
        return [json.loads(line) for line in src if line.strip()]


class FolderLock:
    """An advisory lock (``flock``) on a build folder, held until `release` (or the process ends).

    Shared locks (readers loading the build) go together; an exclusive one (a build writing the
    folder, pruning removing it) excludes every other, also within one process. Where the file
    system has no ``flock`` the lock is granted without locking (pruning is then as unsafe as
    without locks, and no worse).
    """

    def __init__(self, descriptor: int | None) -> None:
        self._descriptor = descriptor

    @classmethod
    def take(cls, folder: Path, *, shared: bool) -> FolderLock | None:
        """Lock ``folder`` without waiting; None when another holder excludes it or it is gone."""
        try:
            descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return None
        try:
            fcntl.flock(descriptor, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                os.close(descriptor)
                return None
        return cls(descriptor)

    def release(self) -> None:
        """Let the lock go (again: nothing)."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def new_build_folder(root: Path) -> tuple[Path, FolderLock]:
    """A fresh, empty folder under ``root/builds`` for the next build (named by time, unique),
    locked exclusively until the build releases it: pruning never removes it meanwhile."""
    builds = root / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    folder = Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=builds))
    lock = FolderLock.take(folder, shared=False)
    if lock is None:
        raise OSError(f"cannot lock the new build folder {folder}")
    return folder, lock


def write_contents(
    folder: Path,
    *,
    articles: Pieces,
    chunks: Pieces,
    sources: Pieces,
    lexical: LexicalIndex,
) -> None:
    """Write a build's articles, chunks, sources and lexical index into ``folder`` (not live yet).

    ``articles``, ``chunks`` and ``sources`` are the JSON-lines files as pieces of whole lines:
    lines from `json_line`, or ranges of the live build's files. The build is finished by
    `finish_build`.
    """
    write_pieces(folder / "articles.jsonl", articles)
    write_pieces(folder / "chunks.jsonl", chunks)
    write_pieces(folder / "sources.jsonl", sources)
    lexical.save(folder / "lexical")


def write_file_stats(folder: Path, stats: Sequence[FileStat | None]) -> None:
    """Write the file stats of a build's sources, in article order (None where unknown)."""
    table = np.array([_UNKNOWN_STAT if s is None else s for s in stats], dtype=np.int64).reshape(-1, 3)
    np.save(folder / "file_stats.npy", table, allow_pickle=False)


def read_file_stats(folder: Path, *, count: int) -> list[FileStat | None]:
    """The file stats of the ``count`` sources of the build in ``folder`` (None where unknown);
    OSError or ValueError when they cannot be read, or the build has none (format 2 before them)."""
    table = np.load(folder / "file_stats.npy", allow_pickle=False)
    if table.shape != (count, 3) or table.dtype != np.int64:
        raise ValueError(f"file_stats.npy holds {table.shape} {table.dtype}, not {count} rows")
    return [None if row[0] < 0 else FileStat(*row) for row in table.tolist()]


def write_vectors(folder: Path, *, rows: int, dim: int, pieces: Pieces) -> np.ndarray:
    """Write ``vectors.npy`` (float32, ``rows`` x ``dim``, as ``np.save`` writes it) from ``pieces``
    (row bytes in order, or ranges of the live build's rows); return the rows, memory-mapped."""
    header = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(np.dtype(np.float32))
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": (rows, dim)}
    )
    path = folder / "vectors.npy"
    write_pieces(path, [header.getvalue(), *pieces.items()])
    if path.stat().st_size != len(header.getvalue()) + rows * dim * 4:
        raise ValueError(f"{path} does not hold {rows} x {dim} float32 values")
    vectors: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
    return vectors


def finish_build(folder: Path, *, manifest: Manifest, dense: DenseIndex) -> None:
    """Write the dense index and, last, the manifest: ``folder`` is then a finished build."""
    dense.save(folder)
    # The manifest goes last: a folder without one is an unfinished build.
    (folder / "manifest.json").write_text(json.dumps(manifest.to_json(), indent=2), encoding="utf-8")


def publish(root: Path, folder: Path) -> None:
    """Make ``folder`` the live build: atomically replace ``root/current``, then prune old builds."""
    pointer = root / "current"
    tmp = root / f".current.{os.getpid()}"
    tmp.write_text(folder.name + "\n", encoding="utf-8")
    os.replace(tmp, pointer)
    prune(root, keep=KEEP_BUILDS)


def prune(root: Path, *, keep: int) -> None:
    """Delete all but the newest ``keep`` finished builds (never the live one, nor one a reader is
    loading: it goes at a later prune), and the folders of killed builds (`remove_unfinished`)."""
    live = current_folder(root)
    for old in finished_builds(root)[keep:]:
        if live is None or old.resolve() != live.resolve():
            _remove_build(old)
    remove_unfinished(root)


def remove_unfinished(root: Path, *, grace_seconds: float = UNFINISHED_GRACE_SECONDS) -> list[Path]:
    """Delete the folders of builds that were killed before they finished; return them.

    A folder without a manifest is removed only when no process holds its lock (its builder is
    gone) and it has not changed for ``grace_seconds``; a build still running keeps its folder.
    """
    removed: list[Path] = []
    now = time.time()
    for folder in _build_folders(root):
        try:
            if (folder / "manifest.json").exists() or now - folder.stat().st_mtime < grace_seconds:
                continue
        except OSError:
            continue
        if _remove_build(folder, unfinished=True):
            removed.append(folder)
    return removed


def _build_folders(root: Path) -> list[Path]:
    try:
        return [p for p in (root / "builds").iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


def _remove_build(folder: Path, *, unfinished: bool = False) -> bool:
    """Delete ``folder`` if it can be locked exclusively (no reader, no builder holds it)."""
    lock = FolderLock.take(folder, shared=False)
    if lock is None:
        return False
    with lock:
        if unfinished and (folder / "manifest.json").exists():
            return False  # finished after all, between the look and the lock
        shutil.rmtree(folder, ignore_errors=True)
    return True


def current_folder(root: Path) -> Path | None:
    """The live build's folder, or None when nothing has been published."""
    try:
        name = (root / "current").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    folder = root / "builds" / name
    return folder if (folder / "manifest.json").exists() else None


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the build in ``folder``; refuses an unknown format version."""
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if data.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index in {folder} has format version {data.get('format_version')}; this itbot reads "
            f"version {FORMAT_VERSION}. Run `itbot index` to rebuild it."
        )
    return Manifest(**data)


def check_compatible(manifest: Manifest, *, model: str, dim: int, folder: Path) -> None:
    """Raise IndexMismatchError, saying which value differs, unless the index fits this encoder."""
    if manifest.model != model:
        raise IndexMismatchError(
            f"The index in {folder} was built with the embedding model {manifest.model!r}, but itbot is "
            f"configured for {model!r}. Run `itbot index` to rebuild it with the configured model."
        )
    if manifest.dim != dim:
        raise IndexMismatchError(
            f"The index in {folder} has {manifest.dim}-dimensional vectors, but the model {model!r} makes "
            f"{dim}-dimensional ones. Run `itbot index` to rebuild it."
        )


class _DecodedLines:
    """The decoded lines of the last ``chunks.jsonl`` this process read, by their text: a build made
    after one article changed shares nearly every line with the one before, so a server swapping it
    in decodes only the lines that changed. Callers get copies; the cache is replaced whole."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def read(self, path: Path) -> list[dict[str, Any]]:
        """Every non-blank line of ``path`` decoded (a fresh dict each), as ``_read_jsonl`` does."""
        known = self.rows
        seen: dict[str, dict[str, Any]] = {}
        rows: list[dict[str, Any]] = []
        with path.open(encoding="utf-8") as src:
            for line in src:
                if not line.strip():
                    continue
                row = known.get(line)
                if row is None:
                    row = json.loads(line)
                seen[line] = row
                rows.append(dict(row))
        self.rows = seen
        return rows


_CHUNK_LINES = _DecodedLines()


def load_chunks(folder: Path) -> list[StoredChunk]:
    """The chunks of the build in ``folder``, in vector order (`read_chunks`)."""
    return read_chunks(_CHUNK_LINES.read(folder / "chunks.jsonl"))


def load_vectors(folder: Path) -> np.ndarray:
    """The chunk vectors of the build in ``folder``."""
    vectors: np.ndarray = np.load(folder / "vectors.npy", allow_pickle=False)
    return vectors


# How far from 1 a stored vector's length may be: the encoders normalise in float32.
_UNIT_TOLERANCE = 1e-3


def check_vectors(vectors: np.ndarray, *, chunks: int, dim: int, folder: Path) -> None:
    """Raise IndexMismatchError, saying what is wrong, unless ``vectors`` are what a build writes:
    ``chunks`` x ``dim`` float32 rows, every value finite, each row of length 1 (or all zero)."""
    damaged = f"The index in {folder} is damaged"
    rebuild = "Run `itbot index` to rebuild it."
    if vectors.ndim != 2 or vectors.shape[0] != chunks:
        rows = vectors.shape[0] if vectors.ndim else 0
        raise IndexMismatchError(f"{damaged}: {rows} vectors for {chunks} chunks. {rebuild}")
    if vectors.shape[1] != dim or vectors.dtype != np.float32:
        raise IndexMismatchError(
            f"{damaged}: its vectors are {vectors.shape[1]}-dimensional {vectors.dtype}, "
            f"not {dim}-dimensional float32. {rebuild}"
        )
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        bad = int(np.count_nonzero(~finite))
        raise IndexMismatchError(
            f"{damaged}: {bad} of its {chunks} vectors hold NaN or infinite values. {rebuild}"
        )
    norms = np.linalg.norm(vectors, axis=1)
    off = ~((np.abs(norms - 1.0) <= _UNIT_TOLERANCE) | (norms == 0.0))
    if off.any():
        raise IndexMismatchError(
            f"{damaged}: {int(np.count_nonzero(off))} of its {chunks} vectors are not of length 1. {rebuild}"
        )


def load_build(folder: Path, *, model: str, dim: int) -> LoadedIndex:
    """Load the build in ``folder`` after checking it was made with ``model`` at ``dim``.

    Raises IndexMismatchError for a build of another model, dimension or format, or whose vectors
    are damaged (`check_vectors`); FileNotFoundError when the folder is gone or being removed
    (the build is locked while it loads, so pruning cannot remove it half-read); OSError,
    ValueError, KeyError or TypeError when its files cannot be read.
    """
    lock = FolderLock.take(folder, shared=True)
    if lock is None:
        raise FileNotFoundError(errno.ENOENT, "the build is gone or being removed", str(folder))
    with lock:
        return _load_locked(folder, model=model, dim=dim)


def _load_locked(folder: Path, *, model: str, dim: int) -> LoadedIndex:
    manifest = read_manifest(folder)
    check_compatible(manifest, model=model, dim=dim, folder=folder)
    articles: dict[str, StoredArticle] = {}
    for row in _read_jsonl(folder / "articles.jsonl"):
        row["systems"] = tuple(row["systems"])
        row["tags"] = tuple(row["tags"])
        article = StoredArticle(**row)
        articles[article.id] = article
    chunks = load_chunks(folder)
    vectors = load_vectors(folder)
    check_vectors(vectors, chunks=len(chunks), dim=dim, folder=folder)
    return LoadedIndex(
        folder=folder,
        manifest=manifest,
        articles=articles,
        chunks=chunks,
        vectors=vectors,
        dense=load_dense_index(folder, vectors, manifest.dense_kind),
        lexical=LexicalIndex.load(folder / "lexical").prepare(),
    )


def load_current(root: Path, *, model: str, dim: int) -> LoadedIndex:
    """Load the live build under ``root``; IndexNotFoundError when there is none.

    A build that is pruned while this reads ``current`` (a newer one was published meanwhile) is
    not an error: the newer live build is loaded instead.
    """
    folder = current_folder(root)
    while True:
        if folder is None:
            raise IndexNotFoundError(root)
        try:
            return load_build(folder, model=model, dim=dim)
        except FileNotFoundError:
            newer = current_folder(root)
            if newer == folder:
                raise
            folder = newer


def finished_builds(root: Path) -> list[Path]:
    """The finished builds kept under ``root``, newest first (the order pruning keeps them in)."""
    dated: list[tuple[float, Path]] = []
    for folder in _build_folders(root):
        with contextlib.suppress(OSError):
            if (folder / "manifest.json").exists():
                dated.append((folder.stat().st_mtime, folder))
    return [folder for _, folder in sorted(dated, key=lambda pair: pair[0], reverse=True)]
