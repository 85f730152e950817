"""Re-index after a curator saves, and have the running assistant answer from the new build.

One build at a time, across every server process sharing ``ITBOT_HOME`` (a ``flock`` on
``console-reindex.lock`` there, beside the thread lock of this process): otherwise a build that read
the knowledge folder before another process saved could finish after that process's build and make
``current`` an older knowledge folder. Each build then reads the folder after the previous one
published, so the last to run holds every save. ``build_index`` reuses
every unchanged vector, so a save re-embeds only the chunks it changed. The encoder is the
assistant's own query encoder when it has one (already loaded, the same model the build was made
with), else one loaded the way ``itbot index`` loads it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from bot.config import Settings
from bot.console.knowledge import saving
from bot.deps import AssistantLike
from bot.heap import settle
from indexer.build import build_index
from indexer.encoder import Encoder, load_encoder
from indexer.models import ArticleProblem

log = logging.getLogger(__name__)
_BUILDING = threading.Lock()
REINDEX_LOCK = "console-reindex.lock"


@dataclass(frozen=True)
class Reindexed:
    """What one re-index did: the files left out (with file and line), and whether the assistant
    swapped in the new build."""

    problems: list[ArticleProblem]
    swapped: bool
    seconds: float


def _encoder(settings: Settings, assistant: AssistantLike) -> Encoder:
    own = getattr(assistant, "encoder", None)
    if own is not None:
        return own  # type: ignore[no-any-return]
    return load_encoder(
        settings.model,
        cache_dir=settings.models_dir,
        precision=settings.build_precision,
        max_tokens=settings.max_tokens,
    )


def reindex(settings: Settings, assistant: AssistantLike) -> Reindexed:
    """Build the index from ``settings.kb`` (incrementally) and ask ``assistant`` to load it now."""
    started = time.perf_counter()
    with _BUILDING, saving(settings.home / REINDEX_LOCK):
        report = build_index(
            settings.kb,
            settings.index_root,
            _encoder(settings, assistant),
            max_article_bytes=settings.max_article_bytes,
        )
        swapped = assistant.refresh()
    if swapped:
        settle(collect=False)
    seconds = time.perf_counter() - started
    log.info(
        "event=console_reindex embedded=%d reused=%d problems=%d swapped=%s seconds=%.2f",
        report.manifest.embedded,
        report.manifest.reused,
        len(report.problems),
        swapped,
        seconds,
    )
    return Reindexed(problems=list(report.problems), swapped=swapped, seconds=seconds)
