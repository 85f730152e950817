"""Folding one more report into a ticket keeps what is known about a waiting patient
(``bot.tickets.opening.either_waiting``)."""

from __future__ import annotations

import pytest

from bot.tickets.opening import either_waiting


@pytest.mark.parametrize(
    ("first", "second", "both"),
    [
        (None, None, None),
        (None, False, False),
        (False, None, False),
        (False, False, False),
        (None, True, True),
        (True, None, True),
        (False, True, True),
    ],
)
def test_a_patient_waits_when_either_report_says_so_and_unknown_stays_unknown(
    first: bool | None, second: bool | None, both: bool | None
) -> None:
    assert either_waiting(first, second) is both
