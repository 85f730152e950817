"""The process's generation of notice data: bumped by every change made here, so cached snapshots
of the active notices know to reload."""

from __future__ import annotations

_generation = 0


def changed() -> None:
    """Note that a notice or the registry changed in this process (cached snapshots reload)."""
    global _generation
    _generation += 1


def generation() -> int:
    """How many changes this process has made so far."""
    return _generation
