"""Which knowledge files a re-index reads and parses again.

A file whose size, mtime and ctime are those the live build read it with is taken over without
being read; any other file is read and hashed, and parsed only if its bytes changed. A stat taken
moments after the file changed is not trusted (the file could change again within the same
timestamp), so such a file is read again by the next build. Tests marked ``settled`` treat every
file as written long before the build.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import indexer.sources
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.models import Article
from indexer.store import FileStat, read_file_stats, read_sources
from tests.tiny_kb import ARTICLES

CITRIX = "citrix/citrix-frozen"


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file counts as changed long enough before a build for its stat to be trusted."""
    monkeypatch.setattr(indexer.sources, "RACY_NANOSECONDS", 0)


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The article ids (path without .md, relative to the knowledge folder) of the files read."""
    seen: list[str] = []
    read_source = indexer.sources.read_source

    def counting(path: Path, root: Path, *, max_bytes: int) -> bytes:
        seen.append(path.parent.name + "/" + path.stem)
        return read_source(path, root, max_bytes=max_bytes)

    monkeypatch.setattr(indexer.sources, "read_source", counting)
    return seen


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the articles parsed during the test, in order."""
    seen: list[str] = []
    parse = indexer.sources.parse_article

    def counting(path: Path, root: Path, raw: bytes) -> Article:
        article = parse(path, root, raw)
        seen.append(article.id)
        return article

    monkeypatch.setattr(indexer.sources, "parse_article", counting)
    return seen


def build(kb: Path, root: Path) -> bool:
    """Build ``kb`` over the live build; True when nothing had changed."""
    return build_index(kb, root, HashingEncoder(dim=64)).unchanged


def citrix(kb: Path) -> Path:
    return kb / f"{CITRIX}.md"


@pytest.mark.usefixtures("settled")
def test_an_unchanged_file_is_neither_read_nor_parsed(
    kb: Path, root: Path, read: list[str], parsed: list[str]
) -> None:
    build(kb, root)
    read.clear()
    parsed.clear()
    path = citrix(kb)
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")

    assert not build(kb, root)

    assert read == [CITRIX]
    assert parsed == [CITRIX]


@pytest.mark.usefixtures("settled")
def test_a_touched_but_unchanged_file_is_read_again_but_not_parsed(
    kb: Path, root: Path, read: list[str], parsed: list[str]
) -> None:
    build(kb, root)
    read.clear()
    parsed.clear()
    later = citrix(kb).stat().st_mtime_ns + 5_000_000_000
    os.utime(citrix(kb), ns=(later, later))

    assert build(kb, root)

    assert read == [CITRIX]
    assert parsed == []


@pytest.mark.usefixtures("settled")
def test_a_file_edited_without_a_size_change_is_parsed_again_even_with_its_mtime_put_back(
    kb: Path, root: Path, parsed: list[str]
) -> None:
    build(kb, root)
    parsed.clear()
    path = citrix(kb)
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    assert "thirty" in text
    path.write_text(text.replace("thirty", "sixty!", 1), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    assert not build(kb, root)

    assert parsed == [CITRIX]


def test_files_changed_moments_before_a_build_are_read_again_by_the_next(
    kb: Path, root: Path, read: list[str], parsed: list[str]
) -> None:
    first = build_index(kb, root, HashingEncoder(dim=64))
    assert read_file_stats(first.folder, count=len(ARTICLES)) == [None] * len(ARTICLES)
    read.clear()
    parsed.clear()

    assert build(kb, root)

    assert sorted(read) == sorted(ARTICLES)
    assert parsed == []


@contextlib.contextmanager
def clock_jumping_ahead_after_the_scan(then: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Within, the build's clock reads ten seconds late from its second reading on (as at the end
    of a full build that took minutes), after calling ``then`` once."""
    real = indexer.sources._now_ns
    readings: list[int] = []

    def clock() -> int:
        readings.append(real())
        if len(readings) == 2:
            then()
        return readings[-1] + (10_000_000_000 if len(readings) > 1 else 0)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(indexer.sources, "_now_ns", clock)
        yield


def test_a_build_ending_long_after_its_files_changed_remembers_their_stats(
    kb: Path, root: Path, read: list[str]
) -> None:
    with clock_jumping_ahead_after_the_scan():
        folder = build_index(kb, root, HashingEncoder(dim=64)).folder
    read.clear()

    assert None not in read_file_stats(folder, count=len(ARTICLES))
    assert build(kb, root)
    assert read == []


def test_a_file_changed_while_it_was_being_indexed_is_read_and_parsed_again_next_time(
    kb: Path, root: Path, read: list[str], parsed: list[str]
) -> None:
    path = citrix(kb)
    with clock_jumping_ahead_after_the_scan(
        lambda: path.write_text(path.read_text(encoding="utf-8") + "\nLate line.\n", "utf-8")
    ):
        build_index(kb, root, HashingEncoder(dim=64))
    read.clear()
    parsed.clear()

    assert not build(kb, root)
    assert read == [CITRIX]
    assert parsed == [CITRIX]


@pytest.mark.usefixtures("settled")
def test_a_build_remembers_each_settled_file_as_it_found_it(kb: Path, root: Path) -> None:
    build(kb, root)
    path = citrix(kb)
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    folder = build_index(kb, root, HashingEncoder(dim=64)).folder

    records, _ = read_sources(folder / "sources.jsonl", count=len(ARTICLES))
    stats = read_file_stats(folder, count=len(ARTICLES))
    assert stats == [FileStat.of((kb / record.path).stat()) for record in records]


@pytest.mark.usefixtures("settled")
def test_a_live_build_without_file_stats_has_every_file_read_but_only_changed_ones_parsed(
    kb: Path, root: Path, read: list[str], parsed: list[str]
) -> None:
    live = build_index(kb, root, HashingEncoder(dim=64)).folder
    (live / "file_stats.npy").unlink()  # as builds made before file stats were kept
    read.clear()
    parsed.clear()
    path = citrix(kb)
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")

    assert not build(kb, root)

    assert sorted(read) == sorted(ARTICLES)
    assert parsed == [CITRIX]
