"""What the console's pages decide on their own: where sign-in returns to, CSV cells."""

from __future__ import annotations

import pytest

from bot.console.routes import csv_cell, safe_next


@pytest.mark.parametrize("asked", ["/console/audit", "/console/articles/ehr/x"])
def test_sign_in_returns_to_a_console_page(asked: str) -> None:
    assert safe_next(asked) == asked


@pytest.mark.parametrize(
    "asked",
    [
        "",
        None,
        "https://evil.example/",
        "//evil.example",
        "/\\evil",
        "/console\\x",
        "/console/login",
        "/kb/x",
    ],
)
def test_sign_in_never_returns_elsewhere(asked: str | None) -> None:
    assert safe_next(asked) == "/console/articles"


def test_a_cell_a_spreadsheet_would_run_is_quoted() -> None:
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("@sum") == "'@sum" and csv_cell("plain") == "plain"
