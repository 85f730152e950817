"""Incremental builds: reusing the live build never changes what a build holds.

Every test edits the knowledge folder, rebuilds over the live build, and compares the result with
a build from nothing of the same folder: same chunks, vectors, articles and lexical scores, file
for file. Counting wrappers show what was parsed and embedded again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import indexer.sources
from indexer.build import BuildReport, build_index
from indexer.chunking import ChunkingOptions
from indexer.encoder import EncoderError, HashingEncoder, Vectors
from indexer.lexical import LexicalIndex
from indexer.models import Article
from indexer.store import (
    FORMAT_VERSION,
    IndexMismatchError,
    LoadedIndex,
    current_folder,
    load_build,
    load_chunks,
    load_current,
)
from tests.tiny_kb import ARTICLES, EXTRA_ARTICLE

CITRIX = "citrix/citrix-frozen"
EPIC = "ehr/epic-login-problems"
QUERIES = ("citrix frozen black screen", "printer offline", "epic password caps lock", "label printer blank")
# Differ from build to build, whatever was reused.
VOLATILE = {"built_at", "build_seconds", "embedded", "reused"}
# When each file was last seen changing, not what the build holds.
VOLATILE_FILES = {Path("manifest.json"), Path("file_stats.npy")}


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


class FailingEncoder:
    """An encoder whose model cannot be loaded."""

    name = "hashing-64"
    dim = 64

    def encode(self, texts: Sequence[str]) -> Vectors:
        raise EncoderError("the model cannot be loaded")


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the articles parsed from Markdown during the test, in order."""
    seen: list[str] = []
    parse = indexer.sources.parse_article

    def counting(path: Path, root: Path, raw: bytes) -> Article:
        article = parse(path, root, raw)
        seen.append(article.id)
        return article

    monkeypatch.setattr(indexer.sources, "parse_article", counting)
    return seen


def edit(kb: Path, article_id: str, old: str, new: str) -> None:
    path = kb / f"{article_id}.md"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def fresh_build(kb: Path, tmp_path: Path, *, options: ChunkingOptions | None = None) -> BuildReport:
    """A build of ``kb`` from nothing, in a root of its own."""
    root = tmp_path / "from-nothing"
    shutil.rmtree(root, ignore_errors=True)
    return build_index(kb, root, HashingEncoder(dim=64), options=options)


def load(folder: Path) -> LoadedIndex:
    return load_build(folder, model="hashing-64", dim=64)


def assert_same_index(folder: Path, expected: Path) -> None:
    """The two builds hold the same files, byte for byte (the manifest up to its timing and counts,
    the file stats not at all),
    and answer every test query with the same chunks, vectors and lexical scores."""
    files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(expected) for p in expected.rglob("*") if p.is_file())
    for name in files:
        if name not in VOLATILE_FILES:
            assert (folder / name).read_bytes() == (expected / name).read_bytes(), name
    manifests = [json.loads((f / "manifest.json").read_text(encoding="utf-8")) for f in (folder, expected)]
    assert [{k: v for k, v in m.items() if k not in VOLATILE} for m in manifests] == [
        {k: v for k, v in manifests[1].items() if k not in VOLATILE}
    ] * 2
    got, want = load(folder), load(expected)
    assert got.chunks == want.chunks
    assert got.articles == want.articles
    np.testing.assert_array_equal(got.vectors, want.vectors)
    assert got.lexical.vocabulary == want.lexical.vocabulary
    queries = [want.lexical.query_tokens(query) for query in QUERIES]
    assert sum(1 for tokens in queries if tokens) >= 3
    for query, tokens in zip(QUERIES, queries, strict=True):
        assert got.lexical.query_tokens(query) == tokens
        np.testing.assert_array_equal(got.lexical.scores(tokens), want.lexical.scores(tokens))


def test_an_incremental_build_after_editing_one_article_equals_a_build_from_nothing(
    kb: Path, root: Path, tmp_path: Path
) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    edit(kb, CITRIX, "Wait thirty seconds", "Wait sixty seconds")
    report = build_index(kb, root, HashingEncoder(dim=64))
    assert report.manifest.embedded == 1
    assert_same_index(report.folder, fresh_build(kb, tmp_path).folder)


def test_only_the_edited_file_is_parsed_and_only_its_changed_chunk_embedded(
    kb: Path, root: Path, parsed: list[str]
) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    parsed.clear()
    edit(kb, CITRIX, "Wait thirty seconds", "Wait sixty seconds")
    encoder = CountingEncoder()
    build_index(kb, root, encoder)
    assert parsed == [CITRIX]
    assert len(encoder.seen) == 1
    assert "Wait sixty seconds" in encoder.seen[0]


def test_unchanged_chunks_keep_their_vectors_exactly(kb: Path, root: Path) -> None:
    before = load(build_index(kb, root, HashingEncoder(dim=64)).folder)
    edit(kb, CITRIX, "Wait thirty seconds", "Wait sixty seconds")
    after = load(build_index(kb, root, HashingEncoder(dim=64)).folder)
    old = {c.id: before.vectors[i] for i, c in enumerate(before.chunks)}
    unchanged = [i for i, c in enumerate(after.chunks) if c.article_id != CITRIX]
    assert unchanged
    for i in unchanged:
        np.testing.assert_array_equal(after.vectors[i], old[after.chunks[i].id])


def test_a_front_matter_edit_reaches_the_stored_article(kb: Path, root: Path) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    edit(kb, EPIC, "owner: clinical-apps-team", "owner: identity-team")
    report = build_index(kb, root, HashingEncoder(dim=64))
    assert not report.unchanged
    assert load(report.folder).articles[EPIC].owner == "identity-team"


def test_a_deleted_article_disappears_from_chunks_vectors_and_lexical_index(
    kb: Path, root: Path, tmp_path: Path
) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    (kb / f"{EPIC}.md").unlink()
    encoder = CountingEncoder()
    report = build_index(kb, root, encoder)
    index = load(report.folder)
    assert EPIC not in index.articles
    assert all(c.article_id != EPIC for c in index.chunks)
    assert index.vectors.shape == (len(index.chunks), 64)
    assert "caps" not in index.lexical.vocabulary  # only the Epic article said "Caps Lock"
    assert index.lexical.query_tokens("epic caps lock") == []
    assert encoder.seen == []
    assert_same_index(report.folder, fresh_build(kb, tmp_path).folder)


def test_an_added_article_is_parsed_embedded_and_searchable(
    kb: Path, root: Path, tmp_path: Path, parsed: list[str]
) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    parsed.clear()
    article_id, text = EXTRA_ARTICLE
    (kb / f"{article_id}.md").parent.mkdir(parents=True)
    (kb / f"{article_id}.md").write_text(text, encoding="utf-8")
    report = build_index(kb, root, HashingEncoder(dim=64))
    assert parsed == [article_id]
    index = load(report.folder)
    found, _ = index.lexical.search(index.lexical.query_tokens("globalprotect vpn"), k=3)
    assert {index.chunks[i].article_id for i in found} == {article_id}
    assert_same_index(report.folder, fresh_build(kb, tmp_path).folder)


def test_a_renamed_article_keeps_its_vectors_and_gets_its_new_id(kb: Path, root: Path) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    (kb / "citrix" / "citrix-frozen.md").rename(kb / "citrix" / "citrix-black-screen.md")
    encoder = CountingEncoder()
    index = load(build_index(kb, root, encoder).folder)
    assert "citrix/citrix-black-screen" in index.articles
    assert CITRIX not in index.articles
    assert encoder.seen == []


def test_a_glossary_change_rebuilds_the_lexical_index_without_re_embedding(
    kb: Path, root: Path, tmp_path: Path
) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    (kb / "glossary.yml").write_text("terms:\n  - [cow, citrix workspace]\n", encoding="utf-8")
    encoder = CountingEncoder()
    report = build_index(kb, root, encoder)
    assert encoder.seen == []
    index = load(report.folder)
    found, _ = index.lexical.search(index.lexical.query_tokens("cow"), k=5)
    assert {index.chunks[i].article_id for i in found} == {CITRIX}
    assert_same_index(report.folder, fresh_build(kb, tmp_path).folder)


def test_another_tokenizer_version_tokenizes_every_chunk_again(
    kb: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    monkeypatch.setattr("indexer.build.LEXICAL_VERSION", "another")

    def reuse(*args: object, **kwargs: object) -> LexicalIndex:
        raise AssertionError("token counts of the other tokenizer were reused")

    monkeypatch.setattr(LexicalIndex, "update", reuse)
    encoder = CountingEncoder()
    report = build_index(kb, root, encoder)
    assert not report.unchanged
    assert encoder.seen == []


def test_other_chunking_options_parse_every_file_again(
    kb: Path, root: Path, tmp_path: Path, parsed: list[str]
) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    parsed.clear()
    options = ChunkingOptions(max_words=12, overlap_words=3, min_words=2)
    report = build_index(kb, root, HashingEncoder(dim=64), options=options)
    assert sorted(parsed) == sorted(ARTICLES)
    assert_same_index(report.folder, fresh_build(kb, tmp_path, options=options).folder)


def test_force_parses_every_file_again_but_keeps_the_vectors(kb: Path, root: Path, parsed: list[str]) -> None:
    build_index(kb, root, HashingEncoder(dim=64))
    parsed.clear()
    encoder = CountingEncoder()
    report = build_index(kb, root, encoder, force=True)
    assert sorted(parsed) == sorted(ARTICLES)
    assert encoder.seen == []
    assert report.manifest.reused == report.manifest.chunks


def test_a_build_of_the_previous_format_is_replaced_and_lends_its_vectors(
    kb: Path, root: Path, tmp_path: Path
) -> None:
    old = build_index(kb, root, HashingEncoder(dim=64)).folder
    # What format 1 wrote: no sources.jsonl, no chunking hash, bm25s's lexical files.
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    del manifest["chunking_hash"]
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (old / "sources.jsonl").unlink()
    shutil.rmtree(old / "lexical")
    (old / "lexical").mkdir()
    (old / "lexical" / "vocab.index.json").write_text("{}", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="format version 1"):
        load_current(root, model="hashing-64", dim=64)

    encoder = CountingEncoder()
    report = build_index(kb, root, encoder)
    assert not report.unchanged
    assert encoder.seen == []
    assert report.manifest.format_version == FORMAT_VERSION
    assert_same_index(report.folder, fresh_build(kb, tmp_path).folder)


def test_a_format_2_build_which_repeated_section_markdown_is_replaced_and_lends_its_vectors(
    kb: Path, root: Path, tmp_path: Path
) -> None:
    old = build_index(kb, root, HashingEncoder(dim=64)).folder
    # What format 2 wrote: every chunk line with its section's whole Markdown.
    chunks = load_chunks(old)
    (old / "chunks.jsonl").write_text(
        "".join(json.dumps(dataclasses.asdict(c)) + "\n" for c in chunks), encoding="utf-8"
    )
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    (old / "manifest.json").write_text(json.dumps({**manifest, "format_version": 2}), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="format version 2"):
        load_current(root, model="hashing-64", dim=64)

    encoder = CountingEncoder()
    report = build_index(kb, root, encoder)
    assert encoder.seen == []
    assert report.manifest.format_version == FORMAT_VERSION
    assert_same_index(report.folder, fresh_build(kb, tmp_path).folder)


def test_a_build_of_an_unknown_format_lends_nothing(kb: Path, root: Path, tmp_path: Path) -> None:
    old = build_index(kb, root, HashingEncoder(dim=64)).folder
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    (old / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}), encoding="utf-8")
    encoder = CountingEncoder()
    report = build_index(kb, root, encoder)
    assert report.manifest.embedded == report.manifest.chunks == len(encoder.seen)
    assert_same_index(report.folder, fresh_build(kb, tmp_path).folder)


@pytest.mark.parametrize(
    ("damage", "re_embeds_all"),
    [
        ("chunks.jsonl", False),
        ("articles.jsonl", False),
        ("sources.jsonl", False),
        ("file_stats.npy", False),
        ("vectors.npy", True),
        ("lexical/counts.npy", False),
        ("lexical/params.json", False),
        ("lexical/indptr.npy", False),
        ("lexical/terms.txt", False),
    ],
)
def test_a_damaged_live_build_is_logged_and_rebuilt_correctly(
    kb: Path, root: Path, tmp_path: Path, damage: str, re_embeds_all: bool, caplog: pytest.LogCaptureFixture
) -> None:
    old = build_index(kb, root, HashingEncoder(dim=64)).folder
    target = old / damage
    target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
    edit(kb, CITRIX, "Wait thirty seconds", "Wait sixty seconds")
    with caplog.at_level(logging.WARNING, logger="indexer.reuse"):
        report = build_index(kb, root, HashingEncoder(dim=64))
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("indexer")]
    assert ours == ["index.previous_unreadable"]
    assert report.manifest.embedded == (report.manifest.chunks if re_embeds_all else 1)
    assert_same_index(report.folder, fresh_build(kb, tmp_path).folder)


def test_a_failing_encoder_leaves_the_live_build_and_no_half_written_folder(kb: Path, root: Path) -> None:
    live = build_index(kb, root, HashingEncoder(dim=64)).folder
    edit(kb, CITRIX, "Wait thirty seconds", "Wait sixty seconds")
    with pytest.raises(EncoderError):
        build_index(kb, root, FailingEncoder())
    assert current_folder(root) == live
    assert [p for p in (root / "builds").iterdir()] == [live]


def test_a_build_from_nothing_embeds_each_distinct_text_once(kb: Path, root: Path) -> None:
    twin = kb / "printing" / "office-printer-offline-copy.md"
    twin.write_text((kb / "printing" / "office-printer-offline.md").read_text(encoding="utf-8"), "utf-8")
    encoder = CountingEncoder()
    report = build_index(kb, root, encoder)
    index = load(report.folder)
    assert len(encoder.seen) == len({c.text for c in index.chunks}) < len(index.chunks)
    assert report.manifest.embedded == len(index.chunks)
