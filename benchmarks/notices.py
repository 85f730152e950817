"""Outage matching: how well questions are matched to the active notices, and what it costs a question.

* quality: the questions of ``benchmarks/notices/questions.jsonl`` (written for this benchmark: half
  ask about one of the active notices of ``benchmarks/notices/notices.json``, half do not: near-misses
  on the same system, other problems on the same unit, unrelated questions, and questions about a
  resolved or a future notice) through ``bot.notices.matching.NoticeMatcher``, as the bot builds it
  (the systems registry seeded from ``knowledge/``, the glossary). Precision: of the questions
  matched, those matched to the right notice; recall: of the questions that should match, those
  matched to the right notice. The matcher's constants were tuned on ``dev``; report ``test``.
* latency: the matcher's extra time per question with 50 active notices (the 5 above plus 45 more on
  every system of the registry), p50 and p95 over every question, repeated; and what building the
  matcher costs (once per change of the active notices). Then the whole extra step a question pays
  in the conversation flow and ``itbot ask``: ``bot.notices.answers.outage_reply`` (cache check,
  scrubbing, matching, building the reply) with the cache warm, on a SQLite database holding the 50
  notices; and what the one question in every ``REFRESH_SECONDS`` that rereads the notices pays when
  nothing changed (the matcher is kept).

    .venv/bin/python benchmarks/notices.py [--split dev|test] [--show-errors]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.notices.lifecycle import is_active  # noqa: E402
from bot.notices.matching import NoticeMatcher  # noqa: E402
from bot.notices.models import Impact, NoticeKind, NoticeStatus  # noqa: E402
from bot.notices.registry import seed_from_knowledge  # noqa: E402
from bot.notices.snapshot import ActiveNotice  # noqa: E402
from indexer.glossary import GLOSSARY_FILE, load_glossary  # noqa: E402

DATA = ROOT / "benchmarks" / "notices"
KB = ROOT / "knowledge"
NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def load_notices() -> tuple[list[ActiveNotice], dict[int, str]]:
    """Every notice of the set (active or not) as snapshots, and each id's key."""
    raw = json.loads((DATA / "notices.json").read_text(encoding="utf-8"))["notices"]
    notices, keys = [], {}
    for n, row in enumerate(raw, 1):
        notices.append(_snapshot(n, row))
        keys[n] = row["key"]
    return notices, keys


def _snapshot(n: int, row: dict[str, Any]) -> ActiveNotice:
    hours = {k: NOW + timedelta(hours=row[k]) for k in ("starts", "ends") if k in row}
    return ActiveNotice(
        id=n,
        kind=NoticeKind(row["kind"]),
        title=row["title"],
        status=NoticeStatus(row["status"]),
        systems=tuple(row["systems"]),
        body=row["body"],
        sites=tuple(row.get("sites", ())),
        impact=Impact(row.get("impact", "degraded")),
        staff_changes=row.get("staff_changes", ""),
        starts_at=hours.get("starts"),
        ends_at=hours.get("ends"),
    )


def load_questions(split: str | None) -> list[dict[str, Any]]:
    """The labelled questions (of one split)."""
    with (DATA / "questions.jsonl").open(encoding="utf-8") as src:
        rows = [json.loads(line) for line in src if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def build_matcher(notices: list[ActiveNotice]) -> NoticeMatcher:
    """The matcher as the bot builds it: the seeded registry, the glossary, the active notices only."""
    systems = {s.name: list(s.aliases) for s in seed_from_knowledge(KB)}
    glossary, _ = load_glossary(KB / GLOSSARY_FILE)
    return NoticeMatcher([n for n in notices if is_active(n, NOW)], systems, glossary)


def quality(split: str, show_errors: bool) -> dict[str, Any]:
    notices, keys = load_notices()
    matcher = build_matcher(notices)
    questions = load_questions(split)
    tp = fp = fn = 0
    errors = []
    for q in questions:
        found = matcher.match(q["text"])
        got = keys[found.id] if found is not None else None
        if got == q["expect"]:
            tp += got is not None
        else:
            if got is not None:
                fp += 1
            if q["expect"] is not None:
                fn += 1
            errors.append((q["id"], q["kind"], q["text"], q["expect"], got))
    if show_errors:
        for e in errors:
            print("  miss:", e)
    return {
        "split": split,
        "questions": len(questions),
        "should match": sum(1 for q in questions if q["expect"] is not None),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
    }


def latency(repeats: int = 30) -> dict[str, float]:
    notices, _ = load_notices()
    active = [n for n in notices if is_active(n, NOW)]
    names = [s.name for s in seed_from_knowledge(KB)]
    extra = 50 - len(active)
    for i in range(extra):
        name = names[i % len(names)]
        active.append(
            ActiveNotice(
                id=1000 + i,
                kind=NoticeKind.OUTAGE,
                title=f"{name} problems on some units",
                status=NoticeStatus.INVESTIGATING,
                systems=(name,),
                body=f"Some staff report {name} errors and slowness. We are investigating; next update soon.",
                sites=(f"{i % 9 + 1} West",) if i % 3 == 0 else (),
            )
        )
    started = time.perf_counter()
    matcher = build_matcher(active)
    build_ms = (time.perf_counter() - started) * 1000
    questions = [q["text"] for q in load_questions(None)]
    times = []
    for _ in range(repeats):
        for text in questions:
            t0 = time.perf_counter()
            matcher.match(text)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "active notices": len(active),
        "p50 ms": statistics.median(times),
        "p95 ms": times[int(len(times) * 0.95)],
        "build ms": build_ms,
    }


def reply_latency(repeats: int = 30) -> dict[str, float]:
    """``outage_reply`` per question, the cache warm, 50 active notices in a SQLite database."""
    import tempfile

    from bot.config import Settings
    from bot.core.models import Question
    from bot.db import create_db_engine, init_db, session_factory
    from bot.interactions.models import utcnow
    from bot.notices.actions import NewNotice, open_notice
    from bot.notices.answers import ActiveNoticesCache, outage_reply
    from bot.notices.registry import ensure_seeded

    with tempfile.TemporaryDirectory() as home:
        settings = Settings.model_validate({"home": home, "kb": KB, "database_url": f"sqlite:///{home}/b.db"})
        engine = create_db_engine(settings)
        init_db(settings, engine=engine)
        names = [s.name for s in seed_from_knowledge(KB)]
        with session_factory(engine)() as session:
            ensure_seeded(session=session, kb=KB)
            for i in range(50):
                name = names[i % len(names)]
                new = NewNotice(
                    kind=NoticeKind.OUTAGE,
                    title=f"{name} problems",
                    systems=[name],
                    body=f"Some staff report {name} errors and slowness.",
                )
                open_notice(session=session, new=new, now=utcnow())
            session.commit()
            cache = ActiveNoticesCache(refresh_seconds=3600)
            questions = [Question(text=q["text"], channel="web") for q in load_questions(None)]
            outage_reply(session, questions[0], kb=KB, cache=cache)  # warm
            times = []
            for _ in range(repeats):
                for question in questions:
                    t0 = time.perf_counter()
                    outage_reply(session, question, kb=KB, cache=cache)
                    times.append((time.perf_counter() - t0) * 1000)
            # Every REFRESH_SECONDS one question rereads the notices (the matcher kept when unchanged).
            ticks = iter(range(0, 10**6, 10**4))
            stale = ActiveNoticesCache(refresh_seconds=1, clock=lambda: float(next(ticks)))
            refreshes = []
            for _ in range(21):
                t0 = time.perf_counter()
                stale.matcher(session, kb=KB, now=utcnow())
                refreshes.append((time.perf_counter() - t0) * 1000)
        engine.dispose()
    times.sort()
    return {
        "p50 ms": statistics.median(times),
        "p95 ms": times[int(len(times) * 0.95)],
        "refresh ms": statistics.median(refreshes[1:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--show-errors", action="store_true", help="print the questions it got wrong")
    args = parser.parse_args()
    command = "benchmarks/notices.py " + " ".join(sys.argv[1:])
    q = quality(args.split, args.show_errors)
    lat = latency()
    full = reply_latency()
    print(f"$ .venv/bin/python {command.strip()}")
    print()
    print("| split | questions | should match | precision | recall |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| {q['split']} | {q['questions']} | {q['should match']} "
        f"| {q['precision']:.1%} | {q['recall']:.1%} |"
    )
    print()
    print("| active notices | matcher p50 | p95 | building the matcher |")
    print("|---:|---:|---:|---:|")
    print(
        f"| {lat['active notices']} | {lat['p50 ms']:.3f} ms | {lat['p95 ms']:.3f} ms "
        f"| {lat['build ms']:.1f} ms |"
    )
    print()
    print("| outage_reply, cache warm, 50 active notices | p50 | p95 | a refresh, nothing changed (p50) |")
    print("|---|---:|---:|---:|")
    print(
        f"| per question | {full['p50 ms']:.3f} ms | {full['p95 ms']:.3f} ms | {full['refresh ms']:.2f} ms |"
    )


if __name__ == "__main__":
    main()
