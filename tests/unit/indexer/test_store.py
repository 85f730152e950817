"""The index on disk: loading the live build, refusing a mismatched one, pruning, and atomic switching."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

import indexer.store
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.store import (
    KEEP_BUILDS,
    FolderLock,
    IndexMismatchError,
    IndexNotFoundError,
    LoadedIndex,
    current_folder,
    load_build,
    load_chunks,
    load_current,
    prune,
    publish,
    read_chunks,
)
from tests.tiny_kb import ARTICLES, EXTRA_ARTICLE

ENCODER = HashingEncoder(dim=64)


def finished_builds(root: Path) -> set[Path]:
    return {p for p in (root / "builds").iterdir() if (p / "manifest.json").exists()}


def test_load_current_gives_the_live_build_in_memory(kb: Path, root: Path) -> None:
    report = build_index(kb, root, ENCODER)
    index = load_current(root, model=ENCODER.name, dim=ENCODER.dim)
    assert index.folder == report.folder
    assert index.manifest == report.manifest
    assert set(index.articles) == set(ARTICLES)
    assert len(index.chunks) == index.manifest.chunks
    assert index.vectors.shape == (index.manifest.chunks, ENCODER.dim)
    assert index.dense.kind == "exact"
    assert index.lexical.size == index.manifest.chunks


def test_a_loaded_article_keeps_its_front_matter_and_markdown(kb: Path, root: Path) -> None:
    build_index(kb, root, ENCODER)
    article = load_current(root, model=ENCODER.name, dim=ENCODER.dim).articles["ehr/epic-login-problems"]
    assert article.title == "Can't log in to Epic"
    assert article.tags == ("epic", "login", "password")
    assert article.systems == ("Epic",)
    assert article.owner == "clinical-apps-team"
    assert "Caps Lock" in article.markdown


def test_a_large_build_loads_its_hnsw_graph(kb: Path, root: Path) -> None:
    build_index(kb, root, ENCODER, hnsw_threshold=1)
    index = load_current(root, model=ENCODER.name, dim=ENCODER.dim)
    assert index.dense.kind == "hnsw"
    ids, _ = index.dense.search(index.vectors[2], 1)
    assert ids.tolist() == [2]


def test_a_missing_index_raises_index_not_found_saying_to_run_itbot_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError) as caught:
        load_current(tmp_path / "index", model=ENCODER.name, dim=ENCODER.dim)
    assert "run `itbot index`" in str(caught.value).lower()
    assert str(tmp_path / "index") in str(caught.value)


def test_a_current_pointer_to_an_unfinished_build_counts_as_no_index(root: Path) -> None:
    (root / "builds" / "half-written").mkdir(parents=True)
    (root / "current").write_text("half-written\n", encoding="utf-8")
    with pytest.raises(IndexNotFoundError):
        load_current(root, model=ENCODER.name, dim=ENCODER.dim)


def test_an_index_built_with_another_model_is_refused_naming_both_models(kb: Path, root: Path) -> None:
    build_index(kb, root, ENCODER)
    with pytest.raises(IndexMismatchError) as caught:
        load_current(root, model="all-MiniLM-L6-v2", dim=ENCODER.dim)
    message = str(caught.value)
    assert "'hashing-64'" in message
    assert "'all-MiniLM-L6-v2'" in message
    assert "Run `itbot index`" in message


def test_an_index_of_another_dimension_is_refused_naming_both_dimensions(kb: Path, root: Path) -> None:
    build_index(kb, root, ENCODER)
    with pytest.raises(IndexMismatchError) as caught:
        load_current(root, model=ENCODER.name, dim=384)
    message = str(caught.value)
    assert "64-dimensional" in message
    assert "384-dimensional" in message
    assert "Run `itbot index`" in message


def test_an_index_of_another_format_version_is_refused(kb: Path, root: Path) -> None:
    folder = build_index(kb, root, ENCODER).folder
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 999
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"format version 999.*Run `itbot index`"):
        load_current(root, model=ENCODER.name, dim=ENCODER.dim)


def test_a_build_whose_vectors_do_not_match_its_chunks_is_refused_as_damaged(kb: Path, root: Path) -> None:
    folder = build_index(kb, root, ENCODER).folder
    vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    np.save(folder / "vectors.npy", vectors[:-1], allow_pickle=False)
    with pytest.raises(IndexMismatchError, match="damaged"):
        load_build(folder, model=ENCODER.name, dim=ENCODER.dim)


def test_publishing_keeps_only_the_newest_builds(kb: Path, root: Path) -> None:
    folders = [build_index(kb, root, ENCODER, force=True).folder for _ in range(KEEP_BUILDS + 3)]
    assert finished_builds(root) == set(folders[-KEEP_BUILDS:])
    assert current_folder(root) == folders[-1]


def test_pruning_never_deletes_the_live_build_even_when_it_is_the_oldest(kb: Path, root: Path) -> None:
    oldest, middle, newest = (build_index(kb, root, ENCODER, force=True).folder for _ in range(3))
    for age, folder in enumerate((newest, middle, oldest)):
        os.utime(folder, (1_700_000_000 - age * 60, 1_700_000_000 - age * 60))
    publish(root, oldest)  # roll back to the oldest build
    prune(root, keep=1)
    assert finished_builds(root) == {newest, oldest}
    assert current_folder(root) == oldest
    assert load_current(root, model=ENCODER.name, dim=ENCODER.dim).folder == oldest


def test_a_reader_during_rebuilds_always_loads_a_complete_build(kb: Path, root: Path) -> None:
    extra = kb / f"{EXTRA_ARTICLE[0]}.md"
    build_index(kb, root, ENCODER)
    done = threading.Event()
    failures: list[str] = []
    loaded_sizes: list[int] = []

    def rebuild() -> None:
        try:
            for n in range(20):
                # Alternate between four and five articles so consecutive builds differ in size.
                if n % 2 == 0:
                    extra.parent.mkdir(parents=True, exist_ok=True)
                    extra.write_text(EXTRA_ARTICLE[1], encoding="utf-8")
                else:
                    extra.unlink()
                build_index(kb, root, ENCODER)
        finally:
            done.set()

    def load_once() -> None:
        try:
            index = load_current(root, model=ENCODER.name, dim=ENCODER.dim)
        except Exception as exc:  # any failure at all is what this test looks for
            failures.append(repr(exc))
            return
        if not len(index.chunks) == index.manifest.chunks == index.vectors.shape[0]:
            failures.append(f"{index.folder.name}: {len(index.chunks)} chunks, manifest {index.manifest}")
        if len(index.articles) != index.manifest.articles:
            failures.append(f"{index.folder.name}: {len(index.articles)} articles")
        loaded_sizes.append(len(index.chunks))

    def read() -> None:
        while not done.is_set():
            load_once()
        load_once()

    threads = [threading.Thread(target=rebuild, daemon=True), threading.Thread(target=read, daemon=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert loaded_sizes


def test_a_reader_whose_build_is_pruned_before_it_opens_it_loads_the_newer_live_one(
    kb: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build_index(kb, root, ENCODER).folder
    real_load_build = indexer.store.load_build
    newer: list[Path] = []

    def pruned_meanwhile(folder: Path, *, model: str, dim: int) -> LoadedIndex:
        if not newer:  # between reading `current` and opening the build it names
            newer.append(build_index(kb, root, ENCODER, force=True).folder)
            shutil.rmtree(first)
        return real_load_build(folder, model=model, dim=dim)

    monkeypatch.setattr(indexer.store, "load_build", pruned_meanwhile)
    assert load_current(root, model=ENCODER.name, dim=ENCODER.dim).folder == newer[0]


def test_a_build_being_removed_is_not_loaded_half_deleted(kb: Path, root: Path) -> None:
    folder = build_index(kb, root, ENCODER).folder
    lock = FolderLock.take(folder, shared=False)  # as pruning holds it while deleting
    assert lock is not None
    with lock, pytest.raises(FileNotFoundError):
        load_build(folder, model=ENCODER.name, dim=ENCODER.dim)
    assert load_build(folder, model=ENCODER.name, dim=ENCODER.dim).folder == folder


def test_chunks_read_again_after_a_line_changed_are_what_a_fresh_read_gives(tmp_path: Path) -> None:
    rows = [
        {
            "id": "a#0",
            "article_id": "a",
            "ordinal": 0,
            "title": "A",
            "section": "Fix",
            "text": "one",
            "markdown": "one",
            "hash": "h0",
            "line": 1,
        },
        {
            "id": "a#1",
            "article_id": "a",
            "ordinal": 1,
            "title": "A",
            "section": "Fix",
            "text": "two",
            "markdown_of": 0,
            "hash": "h1",
            "line": 1,
        },
    ]
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
    (first / "chunks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    rows[0] = {**rows[0], "markdown": "one, edited", "text": "one, edited"}
    (second / "chunks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert load_chunks(first) == load_chunks(first)
    again = load_chunks(second)
    assert again == read_chunks(
        json.loads(line) for line in (second / "chunks.jsonl").read_text().splitlines()
    )
    assert again[1].markdown == "one, edited"
