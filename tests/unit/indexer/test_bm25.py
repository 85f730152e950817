"""Term counts and BM25 weights: the same as bm25s, and the same however they were arrived at."""

from __future__ import annotations

import random

import bm25s
import numpy as np
import pytest

from indexer.bm25 import TermCounts
from indexer.bm25_weights import CountedCorpus, CountsBM25
from indexer.lexical import Glossary, LexicalIndex, lexical_tokens

NO_GLOSSARY = Glossary()
WOW = Glossary.from_terms([["wow", "workstation on wheels", "cow"]])
CHUNKS = [
    "Citrix is frozen > Fix it\nWait thirty seconds, then reconnect to Citrix Workspace.",
    "Office printer offline > Fix it\nTurn the printer off and on again, then print a test page.",
    "Workstation on wheels battery > Fix it\nPlug the workstation on wheels into the wall outlet overnight.",
    "Label printer > Fix it\nCheck that the label roll faces up and recalibrate the label printer.",
    "Epic login > Fix it\nType your network password; check Caps Lock.",
]
WORDS = [f"w{n}" for n in range(40)]


def random_documents(rng: random.Random, count: int) -> list[list[str]]:
    return [rng.choices(WORDS, k=rng.randint(1, 12)) for _ in range(count)]


def assert_same_counts(got: TermCounts, want: TermCounts) -> None:
    assert got.terms == want.terms
    assert got.n_docs == want.n_docs
    for name in ("indptr", "docs", "counts"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def test_counts_hold_each_term_once_in_sorted_order_with_its_documents() -> None:
    counts = TermCounts.of([["b", "a", "b"], ["c", "a"]])
    assert counts.terms == ("a", "b", "c")
    assert counts.indptr.tolist() == [0, 2, 3, 4]
    assert counts.docs.tolist() == [0, 1, 0, 1]
    assert counts.counts.tolist() == [1, 1, 2, 1]
    assert counts.document_lengths().tolist() == [3, 2]
    assert counts.document_frequencies().tolist() == [2, 1, 1]


@pytest.mark.parametrize("seed", range(8))
def test_an_update_equals_counting_the_new_documents_from_scratch(seed: int) -> None:
    rng = random.Random(seed)
    old = random_documents(rng, 30)
    # Keep most documents in order, edit some, drop some, insert new ones anywhere.
    new: list[list[str]] = []
    rows: list[int] = []
    for row, document in enumerate(old):
        roll = rng.random()
        if roll < 0.1:
            continue
        if roll < 0.25:
            new.append(rng.choices([*WORDS, "fresh", "zz"], k=rng.randint(1, 9)))
            rows.append(-1)
        else:
            new.append(document)
            rows.append(row)
        if rng.random() < 0.1:
            new.append(["inserted", rng.choice(WORDS)])
            rows.append(-1)
    updated = TermCounts.of(old).update(np.asarray(rows), {i: d for i, d in enumerate(new) if rows[i] < 0})
    assert_same_counts(updated, TermCounts.of(new))


@pytest.mark.parametrize("seed", range(40))
def test_an_update_of_a_large_vocabulary_equals_counting_from_scratch(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = [f"t{n:03d}" for n in range(rng.randint(1, 300))]
    old = [rng.choices(vocabulary, k=rng.randint(1, 15)) for _ in range(rng.randint(0, 40))]
    order = list(range(len(old)))
    if rng.random() < 0.3:
        rng.shuffle(order)
    new: list[list[str]] = []
    rows: list[int] = []
    for row in order:
        roll = rng.random()
        if roll < 0.15:
            continue
        if roll < 0.3:
            # Unseen terms sort before, between and after the known ones.
            new.append(rng.choices([*vocabulary, "a", "t0995", "zz", f"t{seed:03d}x"], k=rng.randint(1, 9)))
            rows.append(-1)
        else:
            new.append(old[row])
            rows.append(row)
    updated = TermCounts.of(old).update(np.asarray(rows), {i: d for i, d in enumerate(new) if rows[i] < 0})
    assert_same_counts(updated, TermCounts.of(new))


def test_an_update_keeping_every_document_number_drops_only_the_edited_ones_terms() -> None:
    old = [["a", "b"], ["b", "only-here"], ["c"]]
    updated = TermCounts.of(old).update(np.asarray([0, -1, 2]), {1: ["b", "new"]})
    assert updated.terms == ("a", "b", "c", "new")
    assert_same_counts(updated, TermCounts.of([old[0], ["b", "new"], old[2]]))


def test_an_update_may_reorder_the_kept_documents() -> None:
    old = [["a", "b"], ["b", "c"], ["c", "d"]]
    updated = TermCounts.of(old).update(np.asarray([2, -1, 0]), {1: ["e", "a"]})
    assert_same_counts(updated, TermCounts.of([old[2], ["e", "a"], old[0]]))


@pytest.mark.parametrize(
    ("rows", "documents"),
    [([0, 0], {}), ([5], {}), ([-1], {}), ([-1], {0: []})],
    ids=["twice", "missing document", "no tokens given", "empty document"],
)
def test_an_impossible_update_is_refused(rows: list[int], documents: dict[int, list[str]]) -> None:
    with pytest.raises(ValueError):
        TermCounts.of([["a"], ["b"]]).update(np.asarray(rows), documents)


def test_lexical_scores_equal_those_of_bm25s_for_whole_queries() -> None:
    index = LexicalIndex.build(CHUNKS, NO_GLOSSARY)
    reference = bm25s.BM25(k1=LexicalIndex.K1, b=LexicalIndex.B)
    reference.index([lexical_tokens(text, NO_GLOSSARY) for text in CHUNKS], show_progress=False)
    for query in (
        "label printer",
        "printer printer offline",
        "citrix frozen reconnect",
        "caps lock password",
    ):
        tokens = index.query_tokens(query)
        np.testing.assert_allclose(index.scores(tokens), reference.get_scores(tokens), rtol=1e-6)


def test_an_updated_lexical_index_scores_like_one_built_from_its_texts() -> None:
    texts = list(CHUNKS)
    built = LexicalIndex.build(texts, WOW)
    texts[1] = "Office printer offline > Fix it\nRestart the print spooler on the workstation on wheels."
    del texts[3]
    texts.append("Scanner > Fix it\nClear the scanner glass.")
    rows = np.asarray([0, -1, 2, 4, -1])
    updated = built.update(rows, {1: texts[1], 4: texts[4]})
    expected = LexicalIndex.build(texts, WOW)
    assert_same_counts(updated.counts, expected.counts)
    for query in ("wow print spooler", "label printer", "scanner glass", "citrix"):
        tokens = expected.query_tokens(query)
        np.testing.assert_array_equal(updated.scores(tokens), expected.scores(tokens))


@pytest.mark.parametrize("method", ["lucene", "robertson", "atire"])
@pytest.mark.parametrize("seed", range(3))
def test_counts_bm25_weighs_every_document_as_bm25s_does_from_token_lists(method: str, seed: int) -> None:
    documents = random_documents(random.Random(seed), 60)
    counts = TermCounts.of(documents)
    ours = CountsBM25(k1=1.2, b=0.6, method=method)
    ours.index(CountedCorpus(counts), show_progress=False)
    reference = bm25s.BM25(k1=1.2, b=0.6, method=method)
    reference.index(documents, show_progress=False)
    for query in (["w1"], ["w2", "w3", "w3"], WORDS[::7], ["w39", "unseen"]):
        np.testing.assert_allclose(ours.get_scores(query), reference.get_scores(query), rtol=1e-6)


def test_counts_bm25_refuses_methods_that_score_absent_terms() -> None:
    counts = TermCounts.of([["a", "b"], ["b"]])
    model = CountsBM25(method="bm25+")
    with pytest.raises(ValueError, match="bm25\\+"):
        model.index(CountedCorpus(counts), show_progress=False)
