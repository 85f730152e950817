"""Where ``Assistant.ask`` spends its time: a per-stage profile, and p50 by question length.

Used by ``benchmarks/speed.py`` (which prints it beside the totals). Each stage is timed by wrapping
the one function that does it, for the duration of a `StageTimer` block; the wrappers cost about a
microsecond a call, small beside the stages they time.

Stages: scrub (patient identifiers), reading (follow-up reading in the thread), analysis (words,
typos, glossary), encode (the question's embedding), dense (nearest chunks), lexical (BM25
scores), fusion, coverage (words of the question in the best articles), headings (the words of
their titles and sections, read once each), policy (answer, clarify or escalate), section (which
section to quote).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import bot.core.assistant as assistant_module
import bot.core.retrieval as retrieval_module
from bot.core.assistant import Assistant
from bot.core.models import Question

LENGTH_BUCKETS = ((1, 3), (4, 6), (7, 10), (11, 10_000))


class StageTimer:
    """Adds the time spent in each stage's function to ``totals`` (seconds, per ``ask``)."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` with its time added to ``stage``."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[stage] += time.perf_counter() - started

        return timed

    def take(self) -> dict[str, float]:
        """The stage times since the last take, and start again."""
        taken, self.current = dict(self.current), defaultdict(float)
        return taken


@contextmanager
def stages_timed(assistant: Assistant) -> Iterator[StageTimer]:
    """Wrap each stage's function of ``assistant`` (and of its modules) for the block's duration."""
    timer = StageTimer()
    searcher = assistant._searcher
    assert searcher is not None
    patches: list[tuple[Any, str, Any]] = [
        (assistant_module, "scrub", "scrub"),
        (assistant_module, "read_message", "reading"),
        (assistant_module, "question_language", "language"),
        (assistant.phrasebook, "elsewhere", "not IT"),
        (assistant_module, "decide", "policy"),
        (retrieval_module, "fuse", "fusion"),
        (searcher, "analyse", "analysis"),
        (searcher, "_coverage", "coverage"),
        (searcher, "_headings", "headings"),
        (searcher, "section_to_quote", "section"),
        (searcher.encoder, "encode", "encode"),
        (searcher.index.dense, "search", "dense"),
        (searcher.index.lexical, "scores", "lexical"),
    ]
    saved = []
    for owner, name, stage in patches:
        original = getattr(owner, name)
        saved.append((owner, name, original, name in vars(owner)))
        setattr(owner, name, timer.wrap(stage, original))
    try:
        yield timer
    finally:
        for owner, name, original, own in reversed(saved):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)


StageRow = tuple[str, float, float]
LengthRow = tuple[str, int, float]


def profile(
    assistant: Assistant, queries: list[str], warmup: int = 20
) -> tuple[list[StageRow], list[LengthRow]]:
    """Ask every query; (stage, p50 ms, mean share of ``ask``) rows, and (length bucket, queries,
    p50 ms of the whole ``ask``) rows."""
    for q in queries[:warmup]:
        assistant.ask(Question(text=q))
    per_stage: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    by_length: dict[tuple[int, int], list[float]] = defaultdict(list)
    with stages_timed(assistant) as timer:
        for q in queries:
            timer.take()
            started = time.perf_counter()
            assistant.ask(Question(text=q))
            total = time.perf_counter() - started
            totals.append(total)
            for stage, seconds in timer.take().items():
                per_stage[stage].append(seconds)
            n = len(q.split())
            bucket = next(b for b in LENGTH_BUCKETS if b[0] <= n <= b[1])
            by_length[bucket].append(total)
    whole = sum(totals)
    stage_rows = [
        (stage, statistics.median(times + [0.0] * (len(totals) - len(times))) * 1000, sum(times) / whole)
        for stage, times in per_stage.items()
    ]
    stage_rows.sort(key=lambda row: -row[2])
    stage_rows.append(("(rest of ask)", float("nan"), 1 - sum(row[2] for row in stage_rows)))
    length_rows = [
        (f"{lo}-{hi}" if hi < 10_000 else f"{lo}+", len(times), statistics.median(times) * 1000)
        for (lo, hi), times in ((b, by_length[b]) for b in LENGTH_BUCKETS)
        if times
    ]
    return stage_rows, length_rows


def print_profile(name: str, assistant: Assistant, queries: list[str]) -> None:
    """Print the stage and length tables for one index."""
    stage_rows, length_rows = profile(assistant, queries)
    print(f"\n## {name}: where ask spends its time ({len(queries)} queries)")
    print("| stage | p50 ms | share of ask |")
    print("|---|---|---|")
    for stage, p50, share in stage_rows:
        shown = "-" if p50 != p50 else f"{p50:.2f}"
        print(f"| {stage} | {shown} | {share * 100:.1f}% |")
    print("\n| words in the question | queries | ask p50 ms |")
    print("|---|---|---|")
    for bucket, count, p50 in length_rows:
        print(f"| {bucket} | {count} | {p50:.1f} |")
