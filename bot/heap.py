"""Keep Python's full garbage collections short in a long-running server.

A server holds hundreds of thousands of long-lived objects (the model, the index's chunks, the name
lists); every full (generation 2) collection walks all of them, which took 100 to 200 ms here and
landed on whichever request was running. ``settle`` moves everything alive now into the permanent
generation that collections skip (``gc.freeze``), so later collections walk only what requests
made since. Called once the server has loaded what it keeps, and again after each new index is
swapped in; objects later dropped from the frozen set are simply not collected (the old index's
few cyclic ones stay in memory until the process ends: small beside what freezing saves).
"""

from __future__ import annotations

import gc

_ENABLED = False


def enable() -> None:
    """Let ``settle`` act in this process: a server process (``itbot serve``, the ``--factory``
    app) calls it; a process that only builds an app to test it leaves its heap alone."""
    global _ENABLED
    _ENABLED = True


def settle(*, collect: bool = True) -> None:
    """Freeze every object alive now out of the garbage collector's view (see the module docstring),
    after a full collection unless ``collect`` is false (a request waits on this one); nothing unless
    ``enable`` was called."""
    if not _ENABLED:
        return
    if collect:
        gc.collect()
    gc.freeze()
