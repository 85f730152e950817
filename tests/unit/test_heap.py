"""Settling the heap: what is alive is frozen out of the collector's view, and stays usable."""

from __future__ import annotations

import gc

from bot.heap import settle


def test_settling_freezes_what_is_alive_and_keeps_it_usable() -> None:
    kept = [{"chunk": i} for i in range(1000)]
    try:
        settle(collect=False)
        assert gc.get_freeze_count() >= len(kept)
        assert kept[999]["chunk"] == 999
    finally:
        gc.unfreeze()
