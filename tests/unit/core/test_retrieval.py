"""The searcher over a real (tiny) index: how a query is read, and which section an answer quotes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.retrieval import Searcher
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.store import load_current

ARTICLES = {
    "devices/wow-battery.md": """---
title: WOW battery dead or not charging
description: The workstation on wheels battery is dead, flat or will not charge.
---
# WOW battery dead or not charging

The workstation on wheels battery is dead or flat and the cart beeps.

## Fix it

1. Plug the cart's power cord into a wall outlet.
2. Wait for the charging light on the base.

## When to call the service desk

Call if the battery light stays red after an hour.
""",
    "printing/label-printer.md": """---
title: Specimen label printer prints blank labels
---
# Specimen label printer prints blank labels

## Fix it

1. Open the lid and check the ribbon.
2. Close the lid until it clicks.
""",
}
GLOSSARY = "terms:\n  - [wow, workstation on wheels, cow]\n"


@pytest.fixture
def searcher(tmp_path: Path) -> Searcher:
    kb = tmp_path / "kb"
    for name, text in ARTICLES.items():
        (kb / name).parent.mkdir(parents=True, exist_ok=True)
        (kb / name).write_text(text, encoding="utf-8")
    (kb / "glossary.yml").write_text(GLOSSARY, encoding="utf-8")
    encoder = HashingEncoder()
    build_index(kb, tmp_path / "index", encoder)
    return Searcher(load_current(tmp_path / "index", model=encoder.name, dim=encoder.dim), encoder)


def test_a_misspelt_word_is_corrected_to_a_word_the_knowledge_base_uses(searcher: Searcher) -> None:
    analysis, _ = searcher.analyse("label priner blank")
    assert ("priner", "printer") in analysis.corrected
    assert analysis.unknown == ()


def test_a_word_no_article_uses_is_reported_unknown(searcher: Searcher) -> None:
    analysis, _ = searcher.analyse("spotify playlist")
    assert set(analysis.unknown) == {"spotify", "playlist"}
    assert analysis.known_share == 0.0


def test_a_glossary_synonym_counts_as_understood_and_finds_the_article(searcher: Searcher) -> None:
    analysis, _ = searcher.analyse("cow battery flat")
    assert "cow" in analysis.known
    assert searcher.search("cow battery flat").hits[0].article_id == "devices/wow-battery"


def test_coverage_is_the_share_of_the_question_found_in_the_article(searcher: Searcher) -> None:
    hits = {h.article_id: h for h in searcher.search("wow battery dead").hits}
    assert hits["devices/wow-battery"].coverage == pytest.approx(1.0)
    assert hits["printing/label-printer"].coverage < 0.5


def test_an_answer_quotes_the_section_with_steps_rather_than_the_overview(searcher: Searcher) -> None:
    result = searcher.search("wow battery dead flat")
    top = result.hits[0]
    quoted = searcher.section_to_quote(top, result.query_vector)
    assert quoted.section == "Fix it"
    assert "Plug the cart's power cord" in quoted.markdown


def test_without_a_query_vector_the_best_matching_chunk_is_quoted(searcher: Searcher) -> None:
    top = searcher.search("wow battery dead flat").hits[0]
    assert searcher.section_to_quote(top, None) == top.chunk


def test_heading_match_is_the_share_of_the_question_named_by_the_title_or_section(searcher: Searcher) -> None:
    hits = {h.article_id: h for h in searcher.search("label printer blank", k=5).hits}
    label = hits["printing/label-printer"]
    assert label.heading_match == pytest.approx(1.0)
    assert hits.get("devices/wow-battery") is None or hits["devices/wow-battery"].heading_match < 1.0


def test_a_question_word_no_heading_uses_lowers_the_heading_match(searcher: Searcher) -> None:
    named = searcher.search("label printer blank", k=1).hits[0]
    partly = searcher.search("label printer blank ribbon", k=1).hits[0]
    assert named.article_id == partly.article_id == "printing/label-printer"
    assert 0 < partly.heading_match < named.heading_match


def test_the_heading_nudge_adds_to_the_score_of_an_article_its_headings_name(searcher: Searcher) -> None:
    plain = Searcher(searcher.index, searcher.encoder, replace(searcher.params, heading_weight=0.0))
    nudged = Searcher(searcher.index, searcher.encoder, replace(searcher.params, heading_weight=0.1))
    before = plain.search("label printer blank", k=1).hits[0]
    after = nudged.search("label printer blank", k=1).hits[0]
    assert after.score == pytest.approx(before.score + 0.1 * after.heading_match)


def test_the_heading_nudge_is_off_by_default_so_headings_only_inform_the_policy(searcher: Searcher) -> None:
    hit = searcher.search("label printer blank", k=1).hits[0]
    assert searcher.params.heading_weight == 0.0
    assert hit.heading_match > 0
    assert hit.score == pytest.approx(searcher.search("label printer blank", k=1).hits[0].score)


def test_without_spelling_a_misspelt_word_stays_unknown(searcher: Searcher) -> None:
    strict = Searcher(searcher.index, searcher.encoder, replace(searcher.params, spelling=False))
    analysis, _ = strict.analyse("label priner blank")
    assert analysis.corrected == ()
    assert "priner" in analysis.unknown


def test_query_bigrams_add_the_pairs_the_index_knows_and_can_be_left_out(searcher: Searcher) -> None:
    _, tokens = searcher.analyse("label printer blank")
    with_pairs = searcher._bm25_query(tokens)
    without = Searcher(searcher.index, searcher.encoder, replace(searcher.params, query_bigrams=False))
    assert "label_printer" in with_pairs
    assert without._bm25_query(tokens) == tokens


def test_query_scaled_bm25_keeps_a_weak_lexical_match_low(searcher: Searcher) -> None:
    scaled = Searcher(searcher.index, searcher.encoder, replace(searcher.params, lexical_norm="query"))
    # "battery" matches one article; "ribbon" the other: neither chunk holds the whole question.
    by_max = searcher.search("battery ribbon zebra", k=2).hits
    by_query = scaled.search("battery ribbon zebra", k=2).hits
    assert max(h.lexical for h in by_max) == pytest.approx(1.0)
    assert max(h.lexical for h in by_query) < 1.0
