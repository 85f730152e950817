"""Ticket numbers as people say them: ``IT-000123``.

A number is the prefix ``IT-`` and the ticket's sequence value, zero-padded to six digits (wider when
the value needs it: ``IT-1234567``). People type them loosely, so parsing accepts any case, missing
zeros and a bare number.
"""

from __future__ import annotations

import re

PREFIX = "IT-"
WIDTH = 6

_NUMBER = re.compile(r"\s*(?:it\s*-?\s*)?#?0*(\d{1,12})\s*", re.IGNORECASE)


def format_number(value: int) -> str:
    """``value`` as a ticket number: 123 → ``IT-000123``. ``value`` must be positive."""
    if value < 1:
        raise ValueError("ticket numbers start at 1")
    return f"{PREFIX}{value:0{WIDTH}d}"


def parse_number(text: str) -> int | None:
    """The sequence value in a typed ticket number ("IT-000123", "it-123", "123"), or None."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value >= 1 else None


def normalize_number(text: str) -> str | None:
    """A typed ticket number in its canonical form ("it-12" → "IT-000012"), or None."""
    value = parse_number(text)
    return format_number(value) if value is not None else None
