"""The lexical side of the index: tokenizer, glossary concepts, and BM25 saved as plain files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.lexical import (
    Glossary,
    LexicalIndex,
    concept_token,
    content_words,
    lexical_tokens,
    stem_all,
    with_bigrams,
    words,
)

NO_GLOSSARY = Glossary()
WOW = Glossary.from_terms([["wow", "workstation on wheels", "cow"], ["pw", "password"]])

CHUNKS = [
    "Citrix is frozen > Fix it\nWait thirty seconds, then reconnect to Citrix Workspace.",
    "Office printer offline > Fix it\nTurn the printer off and on again, then print a test page.",
    "Workstation on wheels battery > Fix it\nPlug the workstation on wheels into the wall outlet overnight.",
    "Label printer > Fix it\nCheck that the label roll faces up and recalibrate the label printer.",
    "Epic login > Fix it\nType your network password; check Caps Lock.",
]


# --- tokenization -----------------------------------------------------------------------------------


def test_words_are_lowercased_and_apostrophes_unified() -> None:
    assert words("Epic DOESN’T open") == ["epic", "doesn't", "open"]


def test_words_are_nfkc_normalised() -> None:
    assert words("Ｐｒｉｎｔｅｒ ﬁle") == ["printer", "file"]


def test_words_keep_accented_and_non_latin_letters() -> None:
    assert words("Café naïve 日本語") == ["café", "naïve", "日本語"]


def test_words_keep_digits_and_split_on_punctuation() -> None:
    assert words("printer 10.20.4.17 on 5N") == ["printer", "10", "20", "4", "17", "on", "5n"]


def test_content_words_drop_stopwords_and_single_letters() -> None:
    assert content_words("I can't log in to the Epic on my x") == ["log", "epic"]


def test_content_words_keep_single_digits() -> None:
    assert content_words("printer on floor 5") == ["printer", "floor", "5"]


def test_stem_all_reduces_inflections_to_one_stem() -> None:
    assert stem_all(["printing", "prints", "printed"]) == ["print", "print", "print"]


def test_with_bigrams_appends_neighbouring_pairs_after_the_stems() -> None:
    assert with_bigrams(["label", "printer", "blank"]) == [
        "label",
        "printer",
        "blank",
        "label_printer",
        "printer_blank",
    ]


def test_with_bigrams_of_one_stem_is_that_stem() -> None:
    assert with_bigrams(["vpn"]) == ["vpn"]


def test_lexical_tokens_are_stemmed_content_words_and_their_bigrams() -> None:
    assert lexical_tokens("The printers are printing blank labels", NO_GLOSSARY) == [
        "printer",
        "print",
        "blank",
        "label",
        "printer_print",
        "print_blank",
        "blank_label",
    ]


def test_lexical_tokens_keep_numbers() -> None:
    assert "5" in lexical_tokens("printer on floor 5 error 0x45", NO_GLOSSARY)
    assert "0x45" in lexical_tokens("printer on floor 5 error 0x45", NO_GLOSSARY)


def test_lexical_tokens_of_only_stopwords_are_empty() -> None:
    assert lexical_tokens("is it not on the", NO_GLOSSARY) == []


def test_lexical_tokens_handle_text_in_other_scripts() -> None:
    tokens = lexical_tokens("¿Cómo cambio mi contraseña? 日本語", NO_GLOSSARY)
    assert "contraseña" in tokens
    assert "日本語" in tokens


# --- glossary -----------------------------------------------------------------------------------------


def test_glossary_from_terms_keeps_each_term_as_its_words() -> None:
    glossary = Glossary.from_terms([["WOW", "Workstation on Wheels"]])
    assert glossary.groups == ((("wow",), ("workstation", "on", "wheels")),)


def test_glossary_from_terms_ignores_empty_terms_and_groups() -> None:
    glossary = Glossary.from_terms([["", "vpn", "  "], [], ["!!"]])
    assert glossary.groups == ((("vpn",),),)


def test_glossary_matches_a_multi_word_term_only_as_consecutive_words() -> None:
    assert WOW.matches(words("my workstation on wheels is dead")) == [0]
    assert WOW.matches(words("the workstation has no wheels on")) == []


def test_glossary_matches_every_group_mentioned_in_order() -> None:
    assert WOW.matches(words("pw for the cow")) == [0, 1]


def test_glossary_expansions_are_the_group_terms_not_already_in_the_text() -> None:
    assert WOW.expansions(words("wow battery dead")) == ["workstation on wheels", "cow"]


def test_glossary_expansions_are_empty_when_no_group_is_mentioned() -> None:
    assert WOW.expansions(words("printer jammed")) == []


def test_lexical_tokens_add_one_concept_token_per_mentioned_group() -> None:
    tokens = lexical_tokens("wow password", WOW)
    assert tokens.count(concept_token(0)) == 1
    assert tokens.count(concept_token(1)) == 1


def test_an_abbreviation_finds_the_document_that_spells_it_out() -> None:
    index = LexicalIndex.build(CHUNKS, WOW)
    found, scores = index.search(index.query_tokens("wow"), k=5)
    assert found.tolist() == [2]
    assert scores[0] > 0


# --- the BM25 index -------------------------------------------------------------------------------------


def test_index_size_is_the_number_of_texts() -> None:
    assert LexicalIndex.build(CHUNKS, WOW).size == len(CHUNKS)


def test_search_ranks_the_chunk_with_the_query_words_first() -> None:
    index = LexicalIndex.build(CHUNKS, NO_GLOSSARY)
    found, scores = index.search(index.query_tokens("label printer"), k=3)
    assert found[0] == 3
    assert list(scores) == sorted(scores, reverse=True)


def test_search_leaves_out_chunks_that_score_zero() -> None:
    index = LexicalIndex.build(CHUNKS, NO_GLOSSARY)
    found, scores = index.search(index.query_tokens("citrix"), k=5)
    assert found.tolist() == [0]
    assert np.all(scores > 0)


def test_search_with_no_known_tokens_finds_nothing() -> None:
    index = LexicalIndex.build(CHUNKS, NO_GLOSSARY)
    found, scores = index.search(index.query_tokens("cafeteria spotify"), k=5)
    assert found.size == 0
    assert scores.size == 0


def test_query_tokens_keep_only_tokens_the_index_knows() -> None:
    index = LexicalIndex.build(CHUNKS, NO_GLOSSARY)
    assert index.query_tokens("citrix cafeteria") == ["citrix"]


def test_postings_list_the_chunks_containing_a_token() -> None:
    index = LexicalIndex.build(CHUNKS, NO_GLOSSARY)
    assert sorted(index.postings("printer").tolist()) == [1, 3]


def test_postings_of_an_unseen_token_are_empty() -> None:
    assert LexicalIndex.build(CHUNKS, NO_GLOSSARY).postings("spotify").size == 0


def test_idf_is_log_one_plus_chunks_over_document_frequency() -> None:
    index = LexicalIndex.build(CHUNKS, NO_GLOSSARY)
    assert index.idf("printer") == pytest.approx(np.log1p(len(CHUNKS) / 2))
    assert index.idf("citrix") == pytest.approx(np.log1p(len(CHUNKS) / 1))


def test_idf_of_an_unseen_token_is_zero() -> None:
    assert LexicalIndex.build(CHUNKS, NO_GLOSSARY).idf("spotify") == 0.0


def test_a_saved_index_loads_with_the_same_scores_and_glossary(tmp_path: Path) -> None:
    built = LexicalIndex.build(CHUNKS, WOW)
    built.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    for query in ("wow battery", "label printer", "password caps lock", "citrix frozen"):
        tokens = built.query_tokens(query)
        assert loaded.query_tokens(query) == tokens
        np.testing.assert_array_equal(loaded.scores(tokens), built.scores(tokens))
    assert loaded.glossary == WOW
    assert loaded.vocabulary == built.vocabulary
    assert loaded.size == built.size


def test_a_saved_index_naming_a_chunk_it_does_not_have_is_refused(tmp_path: Path) -> None:
    LexicalIndex.build(CHUNKS, WOW).save(tmp_path)
    docs = np.load(tmp_path / "docs.npy")
    docs[-1] = len(CHUNKS)
    np.save(tmp_path / "docs.npy", docs)
    with pytest.raises(ValueError, match="damaged"):
        LexicalIndex.load(tmp_path)


def test_a_saved_index_is_plain_files_without_pickle(tmp_path: Path) -> None:
    LexicalIndex.build(CHUNKS, WOW).save(tmp_path)
    suffixes = {p.suffix for p in tmp_path.rglob("*") if p.is_file()}
    assert suffixes <= {".npy", ".json", ".txt"}
    for array in tmp_path.rglob("*.npy"):
        np.load(array, allow_pickle=False)
