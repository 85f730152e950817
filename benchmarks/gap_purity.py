"""How pure the console's gap groups are, on a labelled set of unanswered questions.

Reads ``benchmarks/gaps/labelled.jsonl`` (one ``{"text", "topic", "split"}`` a line: questions
hospital staff asked that IT's knowledge base could not answer, each labelled with its true topic;
written before the grouping was read), groups one split's questions as the gaps page does
(``bot.console.gaps.group_questions``, the real encoder, questions in file order) and prints:

- purity: the share of questions whose group's majority topic is their own (1.0 when every group
  holds one topic; singletons are trivially pure, hence the next two rows);
- completeness: the share of questions in their topic's largest group (1.0 when no topic is split);
- groups, and groups of one, beside the number of topics;

then the command that made the table. Tune only on ``dev``; report ``test``.

    .venv/bin/python benchmarks/gap_purity.py [--split dev|test] [--threshold 0.6]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings
from bot.console.gaps import DEFAULT_THRESHOLD, Asked, Gap, group_questions
from indexer.encoder import load_encoder

LABELLED = Path(__file__).resolve().parent / "gaps" / "labelled.jsonl"


def purity(groups: list[list[str]]) -> float:
    """The share of labels that match their group's majority label."""
    total = sum(len(g) for g in groups)
    return sum(Counter(g).most_common(1)[0][1] for g in groups if g) / total if total else 1.0


def completeness(groups: list[list[str]]) -> float:
    """The share of labels that sit in the group holding most of their label."""
    best: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for group in groups:
        for label, n in Counter(group).items():
            best[label] = max(best[label], n)
            sizes[label] += n
    total = sum(sizes.values())
    return sum(best.values()) / total if total else 1.0


def main() -> None:
    """Group the chosen split and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--show", action="store_true", help="print each group's topics (dev only)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = [r for r in rows if r["split"] == args.split]
    settings = Settings()
    encoder = load_encoder(settings.model, cache_dir=settings.models_dir, max_tokens=settings.max_tokens)
    topic_of = {r["text"]: r["topic"] for r in chosen}
    asked = [Asked(text=r["text"], who=f"u{i}", outcome="escalate") for i, r in enumerate(chosen)]
    gaps: list[Gap] = group_questions(asked, encoder, threshold=args.threshold)
    groups = [[topic_of[q.text] for q in g.questions] for g in gaps]
    topics = len({r["topic"] for r in chosen})
    print(f"split={args.split}  questions={len(chosen)}  topics={topics}  threshold={args.threshold}")
    print(f"{'measure':<16}{'value':>8}")
    print(f"{'purity':<16}{purity(groups):>8.3f}")
    print(f"{'completeness':<16}{completeness(groups):>8.3f}")
    print(f"{'groups':<16}{len(groups):>8d}")
    print(f"{'groups of one':<16}{sum(1 for g in groups if len(g) == 1):>8d}")
    if args.show and args.split == "dev":
        for g in gaps:
            print(dict(Counter(topic_of[q.text] for q in g.questions)))
    print(f"\n$ {shlex.join(['.venv/bin/python', 'benchmarks/gap_purity.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
