"""Gap groups for the console's pages, without re-encoding or re-grouping what was seen before.

Each view of ``/console/gaps`` or ``/console/analytics`` groups the newest unsettled questions; from
one view to the next they are mostly the same. The ``GapGrouper`` kept on the app encodes each text
once (``CachingEncoder``) and remembers the last few groupings by their exact questions, so a view
with nothing new costs a hash, and one with new questions encodes only those.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from bot.console.analytics import CachingEncoder
from bot.console.gaps import Asked, Gap, group_questions
from indexer.encoder import Encoder


class GapGrouper:
    """``group_questions`` with an encoding cache and the last ``capacity`` results remembered.
    Thread-safe; callers must not change the groups they get."""

    def __init__(self, encoder: Encoder, *, capacity: int = 8) -> None:
        self.inner = encoder
        self.encoder = CachingEncoder(encoder)
        self._capacity = capacity
        self._results: OrderedDict[tuple[float, tuple[Asked, ...]], list[Gap]] = OrderedDict()
        self._lock = threading.Lock()

    def group(self, asked: Sequence[Asked], *, threshold: float) -> list[Gap]:
        """``asked`` grouped as ``group_questions`` groups them."""
        key = (threshold, tuple(asked))
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                return found
        gaps = group_questions(asked, self.encoder, threshold=threshold)
        with self._lock:
            self._results[key] = gaps
            while len(self._results) > self._capacity:
                self._results.popitem(last=False)
        return gaps


def grouper_for(state: Any, assistant: object) -> GapGrouper | None:
    """The app's grouper for the assistant's encoder (made on first use and kept on ``state``), or
    None for an assistant without an encoder."""
    inner = getattr(assistant, "encoder", None)
    if inner is None:
        return None
    grouper: GapGrouper | None = getattr(state, "console_gap_grouper", None)
    if grouper is None or grouper.inner is not inner:
        grouper = GapGrouper(inner)
        state.console_gap_grouper = grouper
    return grouper


def group_or_alone(state: Any, assistant: object, asked: Sequence[Asked], *, threshold: float) -> list[Gap]:
    """``asked`` grouped by the app's grouper, or each question alone when there is no encoder."""
    grouper = grouper_for(state, assistant)
    if grouper is None:
        return [Gap(questions=[a]) for a in asked]
    return grouper.group(asked, threshold=threshold)
