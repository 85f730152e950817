"""Typo tolerance: an unknown query word maps to the known index term one or two edits away."""

from __future__ import annotations

import pytest

from bot.core.spelling import SpellIndex

TERMS = ["password", "printer", "citrix", "epic", "vpn", "monitor", "badge"]


@pytest.fixture
def spell() -> SpellIndex:
    return SpellIndex(TERMS)


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("pasword", "password"),  # a letter missing
        ("printr", "printer"),  # a letter missing
        ("passsword", "password"),  # a letter too many
        ("epik", "epic"),  # a letter wrong
        ("ctirix", "citrix"),  # two letters swapped
        ("passowrd", "password"),  # two letters swapped in a long word
        ("bagde", "badge"),  # two letters swapped in a short word
    ],
)
def test_a_word_one_edit_from_a_known_term_is_corrected(spell: SpellIndex, typo: str, meant: str) -> None:
    assert spell.correct(typo) == meant


def test_a_known_word_is_its_own_correction(spell: SpellIndex) -> None:
    assert spell.correct("printer") == "printer"


def test_a_known_short_word_is_its_own_correction(spell: SpellIndex) -> None:
    assert spell.correct("vpn") == "vpn"


def test_words_shorter_than_four_letters_are_never_corrected(spell: SpellIndex) -> None:
    assert spell.correct("vpm") is None


def test_words_with_digits_are_never_corrected(spell: SpellIndex) -> None:
    assert spell.correct("print3r") is None


def test_a_word_far_from_every_known_term_has_no_correction(spell: SpellIndex) -> None:
    assert spell.correct("cafeteria") is None


def test_a_short_word_two_edits_away_is_not_corrected(spell: SpellIndex) -> None:
    assert spell.correct("pritr") is None


def test_membership_is_by_exact_term(spell: SpellIndex) -> None:
    assert "citrix" in spell
    assert "ctirix" not in spell


def test_among_equally_close_terms_the_more_frequent_wins() -> None:
    spell = SpellIndex(["print", "printer"], frequency={"printer": 40, "print": 3})
    assert spell.correct("printr") == "printer"


def test_among_equally_close_terms_of_equal_frequency_the_first_alphabetically_wins() -> None:
    assert SpellIndex(["printer", "print"]).correct("printr") == "print"


def test_an_index_made_from_another_with_other_terms_corrects_as_one_made_afresh() -> None:
    old = SpellIndex(TERMS, {"printer": 3})
    terms = [t for t in TERMS if t != "printer"] + ["printers", "pointer"]
    frequency = {"pointer": 9}
    made = old.with_terms(terms, frequency)
    fresh = SpellIndex(terms, frequency)
    for word in ("printr", "printerz", "pointr", "pasword", "monitr", "badgee", "citrixx", "zzzz"):
        assert made.correct(word) == fresh.correct(word), word
    assert "printer" not in made and "pointer" in made
    assert old.correct("printr") == "printer"  # the old index still answers as before
    same = old.with_terms(TERMS, {"printer": 5})
    assert same.correct("printr") == "printer"
