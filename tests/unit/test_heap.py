"""Settling the heap: what is alive is frozen out of the collector's view, and stays usable."""

from __future__ import annotations

import gc

import pytest

from bot import heap
from bot.heap import settle


def test_settling_does_nothing_in_a_process_that_is_not_a_server() -> None:
    frozen = gc.get_freeze_count()
    settle(collect=False)
    assert gc.get_freeze_count() == frozen


def test_settling_freezes_what_is_alive_and_keeps_it_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_ENABLED", True)
    kept = [{"chunk": i} for i in range(1000)]
    try:
        settle(collect=False)
        assert gc.get_freeze_count() >= len(kept)
        assert kept[999]["chunk"] == 999
    finally:
        gc.unfreeze()
