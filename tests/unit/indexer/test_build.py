"""Knowledge folder -> a live index build: what is written, what is reused, what is reported.

The hashing encoder stands in for the model; a counting wrapper around it shows what was embedded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from indexer.articles import KnowledgeFolderError
from indexer.build import build_index
from indexer.encoder import EncoderError, HashingEncoder, Vectors
from indexer.store import current_folder, load_chunks, load_current, read_manifest
from tests.tiny_kb import ARTICLES

CITRIX = "citrix/citrix-frozen"


class CountingEncoder:
    """The hashing encoder, remembering every text it was asked to embed."""

    def __init__(self, dim: int = 64) -> None:
        self._inner = HashingEncoder(dim)
        self.name = self._inner.name
        self.dim = self._inner.dim
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.seen.extend(texts)
        return self._inner.encode(texts)


def finished_builds(root: Path) -> list[Path]:
    return [p for p in (root / "builds").iterdir() if (p / "manifest.json").exists()]


def test_a_build_writes_manifest_chunks_vectors_and_lexical_files(kb: Path, root: Path) -> None:
    report = build_index(kb, root, HashingEncoder(dim=64))
    names = {p.name for p in report.folder.iterdir()}
    assert {"manifest.json", "articles.jsonl", "chunks.jsonl", "vectors.npy", "lexical"} <= names
    assert any((report.folder / "lexical").iterdir())


def test_a_build_becomes_the_current_one(kb: Path, root: Path) -> None:
    report = build_index(kb, root, HashingEncoder(dim=64))
    assert (root / "current").read_text(encoding="utf-8").strip() == report.folder.name
    assert current_folder(root) == report.folder


def test_the_manifest_records_model_dimension_and_counts(kb: Path, root: Path) -> None:
    report = build_index(kb, root, HashingEncoder(dim=64))
    manifest = read_manifest(report.folder)
    assert manifest == report.manifest
    assert (manifest.model, manifest.dim) == ("hashing-64", 64)
    assert manifest.articles == len(ARTICLES)
    assert manifest.chunks == len(load_chunks(report.folder))
    assert manifest.embedded == manifest.chunks
    assert manifest.reused == 0
    assert manifest.dense_kind == "exact"


def test_the_vectors_are_the_encoders_rows_in_chunk_order(kb: Path, root: Path) -> None:
    encoder = HashingEncoder(dim=64)
    report = build_index(kb, root, encoder)
    vectors = np.load(report.folder / "vectors.npy", allow_pickle=False)
    chunks = load_chunks(report.folder)
    np.testing.assert_allclose(vectors, encoder.encode([c.text for c in chunks]), rtol=1e-6)


def test_chunks_are_stored_as_json_lines(kb: Path, root: Path) -> None:
    report = build_index(kb, root, HashingEncoder(dim=64))
    lines = (report.folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert {row["article_id"] for row in rows} == set(ARTICLES)
    assert all(row["text"].startswith(row["title"] + " > ") for row in rows)


def test_a_second_build_without_changes_reports_unchanged_and_keeps_the_live_build(
    kb: Path, root: Path
) -> None:
    first = build_index(kb, root, HashingEncoder(dim=64))
    encoder = CountingEncoder()
    second = build_index(kb, root, encoder)
    assert second.unchanged
    assert second.folder == first.folder
    assert current_folder(root) == first.folder
    assert len(finished_builds(root)) == 1
    assert encoder.seen == []


def test_force_rebuilds_even_without_changes(kb: Path, root: Path) -> None:
    first = build_index(kb, root, HashingEncoder(dim=64))
    second = build_index(kb, root, HashingEncoder(dim=64), force=True)
    assert not second.unchanged
    assert second.folder != first.folder
    assert second.manifest.reused == second.manifest.chunks


def test_editing_one_article_re_embeds_only_its_changed_chunk(kb: Path, root: Path) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    path = kb / f"{CITRIX}.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Wait thirty seconds", "Wait sixty seconds"),
        encoding="utf-8",
    )
    encoder = CountingEncoder()
    report = build_index(kb, root, encoder)
    assert report.manifest.embedded == 1
    assert report.manifest.reused == report.manifest.chunks - 1
    assert len(encoder.seen) == 1
    assert "Wait sixty seconds" in encoder.seen[0]


def test_reused_vectors_equal_freshly_computed_ones(kb: Path, root: Path) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    (kb / "network").mkdir()
    (kb / "network" / "new.md").write_text("# New\n\n## Fix it\n\nRestart the VPN client and sign in.\n")
    report = build_index(kb, root, HashingEncoder(dim=64))
    index = load_current(root, model="hashing-64", dim=64)
    fresh = HashingEncoder(dim=64).encode([c.text for c in index.chunks])
    np.testing.assert_allclose(index.vectors, fresh, rtol=1e-6)
    assert report.manifest.embedded == 1


def test_a_build_with_another_model_embeds_everything_again(kb: Path, root: Path) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    encoder = CountingEncoder(dim=32)
    report = build_index(kb, root, encoder)
    assert not report.unchanged
    assert report.manifest.embedded == report.manifest.chunks
    assert report.manifest.model == "hashing-32"


def test_a_broken_article_is_reported_with_file_and_line_and_the_others_are_indexed(
    kb: Path, root: Path
) -> None:
    broken = kb / "broken.md"
    broken.write_text("---\ntitle: [not, a, title]\n---\n\n## Fix it\n\nSome text.\n", encoding="utf-8")
    report = build_index(kb, root, HashingEncoder(dim=64))
    assert [(p.path, p.line) for p in report.problems] == [(broken, 2)]
    assert report.manifest.problems == [str(report.problems[0])]
    assert str(report.problems[0]).startswith(f"{broken}:2: ")
    index = load_current(root, model="hashing-64", dim=64)
    assert set(index.articles) == set(ARTICLES)


def test_a_glossary_problem_is_reported_beside_article_problems(kb: Path, root: Path) -> None:
    (kb / "glossary.yml").write_text("terms:\n  - [wow]\n  - [wow, cow]\n", encoding="utf-8")
    report = build_index(kb, root, HashingEncoder(dim=64))
    assert [p.path.name for p in report.problems] == ["glossary.yml"]


def test_the_glossary_is_built_into_the_lexical_index(kb: Path, root: Path) -> None:
    (kb / "glossary.yml").write_text("terms:\n  - [cow, citrix workspace]\n", encoding="utf-8")
    build_index(kb, root, HashingEncoder(dim=64))
    index = load_current(root, model="hashing-64", dim=64)
    found, _ = index.lexical.search(index.lexical.query_tokens("cow"), k=5)
    assert {index.chunks[i].article_id for i in found} == {CITRIX}


def test_changing_only_the_glossary_makes_a_new_build_without_re_embedding(kb: Path, root: Path) -> None:
    first = build_index(kb, root, HashingEncoder(dim=64))
    (kb / "glossary.yml").write_text("terms:\n  - [cow, citrix workspace]\n", encoding="utf-8")
    encoder = CountingEncoder()
    second = build_index(kb, root, encoder)
    assert not second.unchanged
    assert second.folder != first.folder
    assert encoder.seen == []


def test_a_missing_knowledge_folder_is_a_knowledge_folder_error(tmp_path: Path, root: Path) -> None:
    with pytest.raises(KnowledgeFolderError, match="does not exist"):
        build_index(tmp_path / "nowhere", root, HashingEncoder(dim=64))
    assert not (root / "current").exists()


class LoadingEncoder(CountingEncoder):
    """A counting encoder whose model is loaded ahead by ``load`` (as the ONNX encoder's is)."""

    def __init__(self, *, fails: bool = False) -> None:
        super().__init__()
        self.events: list[str] = []
        self._fails = fails

    def load(self) -> None:
        self.events.append("load")
        if self._fails:
            raise EncoderError("the model cannot be loaded")

    def encode(self, texts: Sequence[str]) -> Vectors:
        if self._fails:
            raise EncoderError("the model cannot be loaded")
        self.events.append("encode")
        return super().encode(texts)


def edit_citrix(kb: Path) -> None:
    path = kb / f"{CITRIX}.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nRestart the Citrix Workspace app.\n", "utf-8")


def test_the_model_is_loaded_ahead_once_a_file_has_to_be_parsed(kb: Path, root: Path) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    edit_citrix(kb)
    encoder = LoadingEncoder()

    build_index(kb, root, encoder)

    assert sorted(encoder.events) == ["encode", "load"]


def test_a_build_that_parses_nothing_never_loads_the_model(kb: Path, root: Path) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    encoder = LoadingEncoder()

    assert build_index(kb, root, encoder).unchanged

    assert encoder.events == []


def test_a_model_that_cannot_be_loaded_fails_the_build_and_keeps_the_live_one(kb: Path, root: Path) -> None:
    live = build_index(kb, root, HashingEncoder(dim=64)).folder
    edit_citrix(kb)

    with pytest.raises(EncoderError):
        build_index(kb, root, LoadingEncoder(fails=True))

    assert current_folder(root) == live
    assert finished_builds(root) == [live]
