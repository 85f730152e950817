"""Finding 2 of the attack run: one huge article blew up the index.

A 2.6 MB article became 1,251 chunks each storing its whole section (``chunks.jsonl`` 3.25 GB,
7.1 GB of memory to build it, 3.6 GB for the server to load it), and builds killed part-way were
never cleaned up. The index must grow linearly with the text, an article over the configured
size must be refused by name, and the folders of killed builds must go at the next build, never
one that another process is still writing, nor one a reader is loading.

Every test builds real indexes with the hashing encoder.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import indexer.articles
import indexer.encoder
import indexer.store
from bot.channels.cli.main import main
from indexer.articles import ArticleError, load_article, read_source
from indexer.build import build_index
from indexer.chunking import chunk_article
from indexer.encoder import HashingEncoder
from indexer.store import (
    KEEP_BUILDS,
    StoredChunk,
    current_folder,
    load_chunks,
    load_current,
)
from tests.tiny_kb import write_tiny_kb

ROOT = Path(__file__).resolve().parents[2]
ENCODER = HashingEncoder(dim=32)
LONG_ARTICLE = "manuals/long-manual"


def long_article(words: int, *, sections: int = 1) -> str:
    """An article of ``words`` words of prose in ``sections`` sections, each with numbered steps."""
    per_section = words // sections
    parts = ["---\ntitle: The long printer manual\n---\n\n# The long printer manual\n"]
    for number in range(sections):
        parts.append(f"\n## Part {number + 1}\n\n1. Open the tray.\n2. Press reset.\n\n")
        lines = [
            " ".join(f"printer{(number * per_section + i + j) % 997}" for j in range(10))
            for i in range(0, per_section, 10)
        ]
        parts.append("\n".join(lines) + "\n")
    return "".join(parts)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return write_tiny_kb(tmp_path / "kb")


def write_long(kb: Path, words: int, *, sections: int = 1) -> Path:
    path = kb / f"{LONG_ARTICLE}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(long_article(words, sections=sections), encoding="utf-8")
    return path


def chunk_bytes(root: Path, article_id: str) -> int:
    """Bytes of the lines of ``chunks.jsonl`` of the live build that belong to ``article_id``."""
    folder = current_folder(root)
    assert folder is not None
    lines = (folder / "chunks.jsonl").read_bytes().splitlines(keepends=True)
    return sum(len(line) for line in lines if f'"article_id": "{article_id}"'.encode() in line)


# --- size linear in the text -------------------------------------------------------------------


def test_the_windows_of_one_long_section_do_not_each_store_the_section(kb: Path, tmp_path: Path) -> None:
    path = write_long(kb, 20_000)
    report = build_index(kb, tmp_path / "index", ENCODER)

    windows = [c for c in load_chunks(report.folder) if c.article_id == LONG_ARTICLE]
    assert len(windows) > 100  # one section cut into many windows
    # Before: every window repeated the 200 KB section, 100 times the article.
    assert chunk_bytes(tmp_path / "index", LONG_ARTICLE) < 3 * path.stat().st_size


@pytest.mark.parametrize("sections", [1, 40])
def test_the_stored_chunks_grow_linearly_with_the_article(kb: Path, tmp_path: Path, sections: int) -> None:
    sizes = []
    for words in (10_000, 20_000):
        write_long(kb, words, sections=sections)
        build_index(kb, tmp_path / "index", ENCODER)
        sizes.append(chunk_bytes(tmp_path / "index", LONG_ARTICLE))
    assert sizes[1] / sizes[0] < 2.2


def test_every_window_still_quotes_its_whole_section_from_one_shared_string(kb: Path, tmp_path: Path) -> None:
    path = write_long(kb, 5_000, sections=3)
    build_index(kb, tmp_path / "index", ENCODER)
    expected = chunk_article(load_article(path, kb))

    loaded = load_current(tmp_path / "index", model=ENCODER.name, dim=ENCODER.dim)
    windows = [c for c in loaded.chunks if c.article_id == LONG_ARTICLE]

    assert windows == [StoredChunk.from_chunk(c) for c in expected]
    for section in {c.section for c in windows}:
        same = [c.markdown for c in windows if c.section == section]
        assert len(same) > 1
        assert len({id(markdown) for markdown in same}) == 1  # one string in memory, not one a window


def test_a_re_index_that_reuses_the_long_article_keeps_its_sections(kb: Path, tmp_path: Path) -> None:
    write_long(kb, 5_000, sections=2)
    first = build_index(kb, tmp_path / "index", ENCODER)
    (kb / "ehr" / "epic-login-problems.md").write_text(
        "---\ntitle: Epic login\n---\n\nEpic refuses the password: reset it.\n", encoding="utf-8"
    )
    second = build_index(kb, tmp_path / "index", ENCODER)

    assert second.manifest.reused > 0
    before = [c for c in load_chunks(first.folder) if c.article_id == LONG_ARTICLE]
    after = [c for c in load_chunks(second.folder) if c.article_id == LONG_ARTICLE]
    assert after == before


# --- the size limit ----------------------------------------------------------------------------


def test_an_article_over_the_limit_is_refused_by_name_and_the_rest_index(kb: Path, tmp_path: Path) -> None:
    path = write_long(kb, 20_000)
    size = path.stat().st_size

    report = build_index(kb, tmp_path / "index", ENCODER, max_article_bytes=100_000)

    assert [p.path for p in report.problems] == [path]
    assert report.problems[0].message == (
        f"article is {size / 1e6:.1f} MB, over the 0.1 MB limit (ITBOT_MAX_ARTICLE_BYTES); split it"
    )
    assert report.manifest.articles == 4
    loaded = load_current(tmp_path / "index", model=ENCODER.name, dim=ENCODER.dim)
    assert LONG_ARTICLE not in loaded.articles


def test_an_article_indexed_before_is_refused_once_the_limit_is_below_it(kb: Path, tmp_path: Path) -> None:
    write_long(kb, 20_000)
    build_index(kb, tmp_path / "index", ENCODER)
    report = build_index(kb, tmp_path / "index", ENCODER, max_article_bytes=100_000)
    assert [p.path.name for p in report.problems] == ["long-manual.md"]
    assert report.manifest.articles == 4


def test_reading_a_knowledge_file_stops_one_byte_past_the_limit(
    kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_long(kb, 20_000)
    asked: list[int] = []

    class CountingFile(io.FileIO):
        def read(self, size: int | None = -1) -> bytes:
            asked.append(-1 if size is None else size)
            return super().read(size)

    # A file that grows between its stat and its read: the stat says it is small.
    real_fstat = os.fstat

    def small(fd: int) -> os.stat_result:
        status = real_fstat(fd)
        return os.stat_result((*status[:6], 10, *status[7:]))

    monkeypatch.setattr(indexer.articles, "open", lambda fd, _mode: CountingFile(fd, "rb"), raising=False)
    monkeypatch.setattr(os, "fstat", small)
    with pytest.raises(ArticleError, match="over the"):
        read_source(path, kb, max_bytes=1000)
    assert asked == [1001]


def test_itbot_index_reads_the_limit_from_itbot_max_article_bytes(
    kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_long(kb, 2_000)
    for name in list(os.environ):
        if name.lower().startswith("itbot_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ITBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ITBOT_KB", str(kb))
    monkeypatch.setenv("ITBOT_MAX_ARTICLE_BYTES", "5000")
    monkeypatch.setattr(indexer.encoder, "load_encoder", lambda *_args, **_kwargs: ENCODER)
    root_logger = logging.getLogger()
    handlers, level = root_logger.handlers[:], root_logger.level
    try:
        assert main(["index"]) == 0
    finally:
        root_logger.handlers[:] = handlers
        root_logger.setLevel(level)
    err = capsys.readouterr().err
    size = path.stat().st_size
    assert f"warning: {path}:1: article is {size:,} bytes, over the 5,000-byte limit" in err
    assert "(ITBOT_MAX_ARTICLE_BYTES); split it" in err


# --- unfinished builds -------------------------------------------------------------------------

_KILLED_BUILD = """
import os, signal, sys
from pathlib import Path
from indexer.store import new_build_folder
folder, _lock = new_build_folder(Path(sys.argv[1]))
(folder / "chunks.jsonl").write_bytes(b"x" * 100_000)
print(folder, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

_RUNNING_BUILD = """
import sys
from pathlib import Path
from indexer.store import new_build_folder
folder, _lock = new_build_folder(Path(sys.argv[1]))
print(folder, flush=True)
sys.stdin.read()
"""


def finished_builds(root: Path) -> list[Path]:
    return [p for p in (root / "builds").iterdir() if (p / "manifest.json").exists()]


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def age(folder: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(folder, (then, then))


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_the_folder_of_a_killed_build_is_removed_by_the_next_build(kb: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    live = build_index(kb, root, ENCODER).folder
    killed = subprocess.run(python(_KILLED_BUILD, str(root)), capture_output=True, text=True, env=child_env())
    folder = Path(killed.stdout.strip())
    assert folder.is_dir()
    age(folder, 3600)

    load_current(root, model=ENCODER.name, dim=ENCODER.dim)
    assert folder.is_dir()  # a reader never removes anything

    report = build_index(kb, root, ENCODER)  # nothing changed: the live build stays
    assert report.unchanged
    assert not folder.exists()
    assert current_folder(root) == live


@pytest.fixture
def running_build(tmp_path: Path) -> Iterator[Path]:
    """The folder of a build another process is writing right now (until the test ends)."""
    process = subprocess.Popen(
        python(_RUNNING_BUILD, str(tmp_path / "index")),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert process.stdout is not None and process.stdin is not None
    folder = Path(process.stdout.readline().strip())
    try:
        yield folder
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def test_a_build_another_process_is_writing_is_left_alone_however_old(
    kb: Path, tmp_path: Path, running_build: Path
) -> None:
    age(running_build, 3600)
    build_index(kb, tmp_path / "index", ENCODER)
    build_index(kb, tmp_path / "index", ENCODER, force=True)
    assert running_build.is_dir()


def test_a_fresh_unfinished_folder_is_left_alone_even_unlocked(kb: Path, tmp_path: Path) -> None:
    folder = tmp_path / "index" / "builds" / "20260101T000000-just-made"
    folder.mkdir(parents=True)  # as mkdtemp leaves it, a moment before its builder locks it
    build_index(kb, tmp_path / "index", ENCODER)
    assert folder.is_dir()


# --- pruning while a reader loads --------------------------------------------------------------


def test_pruning_never_removes_a_build_a_reader_is_loading(
    kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "index"
    first = build_index(kb, root, ENCODER).folder
    paused, resume = threading.Event(), threading.Event()
    real_load_chunks = indexer.store.load_chunks

    def slow_load_chunks(folder: Path) -> list[StoredChunk]:
        chunks = real_load_chunks(folder)
        if folder == first:
            paused.set()
            resume.wait(timeout=30)
        return chunks

    monkeypatch.setattr(indexer.store, "load_chunks", slow_load_chunks)
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(load_current(root, model=ENCODER.name, dim=ENCODER.dim))
        except Exception as exc:  # what this test looks for
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert paused.wait(timeout=30)
    for _ in range(KEEP_BUILDS + 1):  # enough newer builds for pruning to want the first gone
        build_index(kb, root, ENCODER, force=True)
    assert first.is_dir()
    resume.set()
    reader.join(timeout=30)

    [loaded] = outcome
    assert not isinstance(loaded, Exception), loaded
    assert isinstance(loaded, indexer.store.LoadedIndex)
    assert loaded.folder == first
    assert len(loaded.chunks) == loaded.vectors.shape[0] == loaded.manifest.chunks
    build_index(kb, root, ENCODER, force=True)  # once loaded, the next prune removes it
    assert not first.exists()
    assert len(finished_builds(root)) == KEEP_BUILDS
