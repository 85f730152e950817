"""Ticket numbers: ``IT-`` and six digits, read back however people type them."""

from __future__ import annotations

import pytest

from bot.tickets.numbers import format_number, normalize_number, parse_number


def test_a_number_is_the_prefix_and_six_zero_padded_digits() -> None:
    assert format_number(1) == "IT-000001"
    assert format_number(123) == "IT-000123"
    assert format_number(999999) == "IT-999999"


def test_a_number_past_six_digits_grows_instead_of_wrapping() -> None:
    assert format_number(1234567) == "IT-1234567"


def test_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        format_number(0)


@pytest.mark.parametrize(
    "typed", ["IT-000123", "it-000123", "IT-123", "it 123", "123", " IT-000123 ", "#123"]
)
def test_typed_numbers_are_read_loosely(typed: str) -> None:
    assert parse_number(typed) == 123
    assert normalize_number(typed) == "IT-000123"


@pytest.mark.parametrize("typed", ["", "IT-", "IT-0", "ticket", "IT-12a", "12.5", "IT--12x"])
def test_anything_else_is_not_a_number(typed: str) -> None:
    assert parse_number(typed) is None
    assert normalize_number(typed) is None
